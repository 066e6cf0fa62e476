"""The shared funnel vocabulary: seeding, lookup, history, proposals and two-head approval.

No Slack here: functions take a Session and plain values and return dataclasses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import roles
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.lead_defs.diff import FieldChange, diff_definitions
from bot.lead_defs.matching import TermIndex
from bot.lead_defs.schema import (
    CONTENT_FIELDS,
    Entry,
    Problem,
    format_time,
    normalize_content,
    parse_time,
    parse_yaml,
    validate_entries,
)
from bot.models import Role
from bot.models.lead_defs import (
    LeadDefinition,
    LeadDefinitionProposal,
    LeadDefinitionReview,
    LeadDefinitionVersion,
)

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

DEFAULTS_FILE = Path(__file__).resolve().parents[1] / "data" / "lead_definitions.yaml"
SYSTEM_AUTHOR = "revalign"
PROPOSER_ROLES = [Role.marketer, Role.sales_head, Role.marketing_head, Role.admin]
APPROVER_ROLES = [Role.marketing_head, Role.sales_head]
REJECTER_ROLES = [Role.marketing_head, Role.sales_head]
# Fields a proposal may change; key, kind and position change only by file import.
EDITABLE_FIELDS = tuple(f for f in CONTENT_FIELDS if f not in ("key", "kind", "position"))
MAX_SUMMARY = 500


# --- views ---------------------------------------------------------------------------
@dataclass
class DefinitionView:
    key: str
    full_name: str
    aliases: list[str]
    kind: str
    position: int | None
    definition: str
    criteria: list[str]
    disqualifiers: list[str]
    owner: str
    next_action: str
    sla: str
    handoff: str
    example: str
    crm: dict[str, Any]
    version: int
    updated_by: str
    updated_at: datetime
    reviewed_at: datetime

    @property
    def content(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CONTENT_FIELDS}


def view_of(row: LeadDefinition) -> DefinitionView:
    """The row's content and bookkeeping: every view field is the row's column of the same name."""
    return DefinitionView(**{f.name: _copy(getattr(row, f.name)) for f in fields(DefinitionView)})


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def snapshot(row: LeadDefinition) -> dict[str, Any]:
    return {name: _copy(getattr(row, name)) for name in CONTENT_FIELDS}


@dataclass
class ProposalView:
    id: int
    key: str
    base_version: int
    proposed: dict[str, Any]
    summary: str
    proposer: str
    created_at: datetime
    status: str
    marketing_approver: str | None
    sales_approver: str | None
    rejected_by: str | None
    rejection_reason: str | None
    resulting_version: int | None
    channel: str | None
    message_ts: str | None
    changes: list[FieldChange] = field(default_factory=list)
    current_version: int | None = None


def proposal_view(session: Session, row: LeadDefinitionProposal) -> ProposalView:
    base = session.scalar(
        select(LeadDefinitionVersion).where(
            LeadDefinitionVersion.key == row.key, LeadDefinitionVersion.version == row.base_version
        )
    )
    before = base.snapshot if base else {}
    current = session.scalar(select(LeadDefinition.version).where(LeadDefinition.key == row.key))
    return ProposalView(
        id=row.id,
        key=row.key,
        base_version=row.base_version,
        proposed=dict(row.proposed),
        summary=row.summary,
        proposer=row.proposer,
        created_at=row.created_at,
        status=row.status,
        marketing_approver=row.marketing_approver,
        sales_approver=row.sales_approver,
        rejected_by=row.rejected_by,
        rejection_reason=row.rejection_reason,
        resulting_version=row.resulting_version,
        channel=row.channel,
        message_ts=row.message_ts,
        changes=diff_definitions(before, row.proposed),
        current_version=current,
    )


# --- seeding -----------------------------------------------------------------------------
def load_defaults() -> list[Entry]:
    entries, problems = parse_yaml(DEFAULTS_FILE.read_text(encoding="utf-8"))
    problems += validate_entries(entries)
    if problems:  # a packaging bug, caught by the unit tests
        raise RuntimeError(f"{DEFAULTS_FILE.name}: " + "; ".join(map(str, problems)))
    return entries


def seed_defaults(session: Session, now: datetime, *, author: str = SYSTEM_AUTHOR) -> int:
    """Add the shipped definitions if there are none; returns how many were added."""
    if session.scalar(select(func.count()).select_from(LeadDefinition)):
        return 0
    entries = load_defaults()
    for entry in entries:
        _create(
            session, normalize_content(entry.content), author=author, now=now, reviewed=now, summary="Shipped default"
        )
    session.flush()
    return len(entries)


def ensure_seeded(services: Services) -> int:
    """Start-up task: seed the shipped YAML into an empty table; safe if two processes race."""
    try:
        with services.db.session() as session:
            added = seed_defaults(session, services.now())
    except IntegrityError:
        log.info("lead definitions were seeded by another process")
        return 0
    if added:
        log.info("seeded %d lead definitions", added)
    return added


def _create(
    session: Session,
    content: dict[str, Any],
    *,
    author: str,
    now: datetime,
    reviewed: datetime,
    summary: str,
    version: int = 1,
    updated_at: datetime | None = None,
    approved_by: str | None = None,
    override_by: str | None = None,
) -> LeadDefinition:
    row = LeadDefinition(
        **content, version=version, updated_by=author, updated_at=updated_at or now, reviewed_at=reviewed
    )
    session.add(row)
    session.add(
        LeadDefinitionVersion(
            key=content["key"],
            version=version,
            snapshot=content,
            author=author,
            created_at=updated_at or now,
            summary=summary,
            approved_by=approved_by,
            override_by=override_by,
        )
    )
    return row


# --- reading -----------------------------------------------------------------------------
def all_definitions(session: Session) -> list[DefinitionView]:
    rows = session.scalars(select(LeadDefinition)).all()
    rows = sorted(rows, key=lambda r: (r.kind != "stage", r.position or 0, r.key.casefold()))
    return [view_of(r) for r in rows]


def term_index(session: Session) -> TermIndex:
    rows = session.execute(select(LeadDefinition.key, LeadDefinition.full_name, LeadDefinition.aliases)).all()
    return TermIndex({key: [key, full_name, *(aliases or [])] for key, full_name, aliases in rows})


@dataclass
class Lookup:
    query: str
    definition: DefinitionView | None
    suggestions: list[DefinitionView]


def lookup(session: Session, text: str) -> Lookup:
    match = term_index(session).find(text)
    if match.key:
        return Lookup(text, get(session, match.key), [])
    return Lookup(text, None, [get(session, key) for key in match.suggestions])


def stage_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LeadDefinition).where(LeadDefinition.kind == "stage")) or 0


def _row(session: Session, key: str) -> LeadDefinition:
    row = session.scalar(select(LeadDefinition).where(LeadDefinition.key == key))
    if row is None:
        match = term_index(session).find(key)
        if match.key:
            row = session.scalar(select(LeadDefinition).where(LeadDefinition.key == match.key))
    if row is None:
        suggestions = [get(session, k) for k in term_index(session).find(key).suggestions]
        raise NotFound(not_found_message(key, suggestions))
    return row


def get(session: Session, key: str) -> DefinitionView:
    return view_of(_row(session, key))


@dataclass
class HistoryEntry:
    version: int
    author: str
    created_at: datetime
    summary: str
    approved_by: str | None
    changes: list[FieldChange]
    override_by: str | None = None


def history(session: Session, key: str) -> tuple[DefinitionView, list[HistoryEntry]]:
    """Every version of a term, newest first, with what changed from the one before."""
    definition = get(session, key)
    rows = session.scalars(
        select(LeadDefinitionVersion)
        .where(LeadDefinitionVersion.key == definition.key)
        .order_by(LeadDefinitionVersion.version)
    ).all()
    entries: list[HistoryEntry] = []
    previous: dict[str, Any] = {}
    for row in rows:
        entries.append(
            HistoryEntry(
                row.version,
                row.author,
                row.created_at,
                row.summary,
                row.approved_by,
                diff_definitions(previous, row.snapshot) if previous else [],
                override_by=row.override_by,
            )
        )
        previous = row.snapshot
    return definition, list(reversed(entries))


# --- proposals ---------------------------------------------------------------------------
def start_proposal(session: Session, user_id: str, text: str) -> DefinitionView:
    """Check the user may propose and return the definition to prefill the form with."""
    roles.require_role(session, user_id, PROPOSER_ROLES, "propose a change to a definition")
    if not text.strip():
        raise InvalidInput("Which term? For example `/lead-def propose MQL`.")
    found = lookup(session, text)
    if found.definition is None:
        raise NotFound(not_found_message(text, found.suggestions))
    return found.definition


def not_found_message(text: str, suggestions: list[DefinitionView]) -> str:
    from bot.render.blocks import quote_user_text

    shown = quote_user_text(text, 60) or "(nothing)"
    if suggestions:
        return f"No term '{shown}'. Did you mean {' or '.join(s.key for s in suggestions)}?"
    return f"No term '{shown}'. Type `/lead-def` for the list of terms."


@dataclass(frozen=True)
class Draft:
    """A change someone proposes (the form, the demo): to which term, against which version, the
    fields it changes, and why. It is checked as is and stored once it passes."""

    key: str
    base_version: int
    fields: dict[str, Any]
    summary: str


def check_proposal(session: Session, draft: Draft) -> tuple[dict[str, Any], list[Problem]]:
    """The full proposed content and every problem with it (field names in Problem.field)."""
    row = _row(session, draft.key)
    content = snapshot(row)
    for name in EDITABLE_FIELDS:
        if name in draft.fields:
            content[name] = draft.fields[name]
    problems = validate_entries([Entry(content)])
    if not draft.summary.strip():
        problems.append(Problem(None, "summary", "Say in a sentence what changes and why."))
    elif len(draft.summary.strip()) > MAX_SUMMARY:
        problems.append(Problem(None, "summary", f"Keep the summary under {MAX_SUMMARY} characters."))
    if row.version != draft.base_version:
        problems.append(Problem(None, "summary", outdated_message(row.key, row.version, draft.base_version)))
        return content, problems
    if not problems:
        content = normalize_content(content)
        others = [e for e in all_definitions(session) if e.key != row.key]
        clashes = validate_entries([Entry(o.content) for o in others] + [Entry(content)])
        problems += [p for p in clashes if p.field in ("aliases", "key") and p.message.startswith(f"'{row.key}':")]
        if content == snapshot(row):
            problems.append(Problem(None, "summary", "Nothing is different from the current definition."))
    return content, problems


def outdated_message(key: str, current: int, base: int) -> str:
    return (
        f"{key} changed to v{current} since this proposal was made (against v{base}); "
        f"look at the new version and propose again with `/lead-def propose {key}`."
    )


def propose(session: Session, draft: Draft, *, user_id: str, now: datetime) -> ProposalView:
    roles.require_role(session, user_id, PROPOSER_ROLES, "propose a change to a definition")
    content, problems = check_proposal(session, draft)
    if problems:
        raise InvalidInput(" ".join(str(p) for p in problems))
    row = LeadDefinitionProposal(
        key=content["key"],
        base_version=draft.base_version,
        proposed=content,
        summary=" ".join(draft.summary.split()),
        proposer=user_id,
        created_at=now,
        status="open",
    )
    session.add(row)
    session.flush()
    return proposal_view(session, row)


def set_proposal_message(session: Session, proposal_id: int, channel: str, ts: str) -> None:
    row = session.get(LeadDefinitionProposal, proposal_id)
    if row is not None:
        row.channel, row.message_ts = channel, ts


def withdraw_unposted(session: Session, proposal_id: int) -> None:
    """A proposal whose channel message could not be posted never existed for anyone."""
    row = session.get(LeadDefinitionProposal, proposal_id)
    if row is not None and row.status == "open" and not row.message_ts:
        session.delete(row)


def _proposal_row(session: Session, proposal_id: int | str, *, lock: bool = False) -> LeadDefinitionProposal:
    try:
        pid = int(proposal_id)
    except (TypeError, ValueError):
        raise NotFound("That proposal no longer exists.") from None
    query = select(LeadDefinitionProposal).where(LeadDefinitionProposal.id == pid)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFound("That proposal no longer exists.")
    return row


def _require_open(row: LeadDefinitionProposal, session: Session | None = None) -> None:
    if row.status == "approved":
        raise InvalidInput(f"This proposal was already approved and is {row.key} v{row.resulting_version}.")
    if row.status == "rejected":
        raise InvalidInput(f"This proposal was already rejected by <@{row.rejected_by}>.")
    if row.status == "outdated":
        current = (
            session.scalar(select(LeadDefinition.version).where(LeadDefinition.key == row.key)) if session else None
        )
        if current:
            raise InvalidInput(outdated_message(row.key, current, row.base_version))
        raise InvalidInput(f"This proposal is outdated: {row.key} changed since it was made. Propose again.")


@dataclass
class VoteResult:
    proposal: ProposalView
    applied: bool
    side: str  # "marketing" or "sales"
    outdated: list[ProposalView] = field(default_factory=list)  # other proposals this change made stale
    refusal: str | None = None  # set when the proposal turned out to be outdated


def approve(session: Session, proposal_id: int | str, user_id: str, now: datetime) -> VoteResult:
    """Record a head's approval; apply the change once a marketing head and a sales head approved.

    The two approvals come from two different people, neither the proposer: checked here, and by
    the table's CHECK constraints should anything else ever write the columns.
    """
    row = _proposal_row(session, proposal_id, lock=True)
    role = roles.require_role(session, user_id, APPROVER_ROLES, "approve a definition change")
    _require_open(row, session)
    if row.proposer == user_id:
        raise PermissionDenied(
            "You proposed this change, so you can't approve it yourself; the other department heads decide."
        )
    side = "marketing" if role == Role.marketing_head else "sales"
    earlier = {row.marketing_approver: "marketing", row.sales_approver: "sales"}.get(user_id)
    if earlier is not None and earlier != side:
        raise PermissionDenied(
            f"You already approved this change for {earlier}. One person can't give both "
            "approvals, also after a role change: it needs a second department head."
        )
    current = session.scalar(select(LeadDefinition).where(LeadDefinition.key == row.key))
    current_version = current.version if current is not None else 0
    if current_version != row.base_version:
        # Stored (not raised) so the proposal stays marked outdated after this transaction.
        row.status, row.decided_at = "outdated", now
        session.flush()
        return VoteResult(
            proposal_view(session, row),
            False,
            side,
            refusal=outdated_message(row.key, current_version, row.base_version),
        )
    if side == "marketing":
        if row.marketing_approver:
            raise InvalidInput(
                f"<@{row.marketing_approver}> already approved this for marketing; it now needs a sales head."
            )
        row.marketing_approver, row.marketing_approved_at = user_id, now
    else:
        if row.sales_approver:
            raise InvalidInput(
                f"<@{row.sales_approver}> already approved this for sales; it now needs a marketing head."
            )
        row.sales_approver, row.sales_approved_at = user_id, now
    outdated: list[ProposalView] = []
    applied = bool(row.marketing_approver and row.sales_approver)
    if applied:
        new_version = apply_content(
            session,
            current,
            dict(row.proposed),
            author=row.proposer,
            now=now,
            summary=row.summary,
            approved_by=f"{row.marketing_approver},{row.sales_approver}",
        )
        row.status, row.decided_at, row.resulting_version = "approved", now, new_version
        others = session.scalars(
            select(LeadDefinitionProposal).where(
                LeadDefinitionProposal.key == row.key,
                LeadDefinitionProposal.status == "open",
                LeadDefinitionProposal.id != row.id,
            )
        ).all()
        for other in others:
            other.status, other.decided_at = "outdated", now
        session.flush()
        outdated = [proposal_view(session, o) for o in others]
    session.flush()
    return VoteResult(proposal_view(session, row), applied, side, outdated)


def apply_content(
    session: Session,
    current: LeadDefinition | None,
    content: dict[str, Any],
    *,
    author: str,
    now: datetime,
    summary: str,
    approved_by: str | None = None,
    override_by: str | None = None,
) -> int:
    """Make `content` the current definition (a new version, or v1 of a new term); returns the version."""
    version = current.version + 1 if current is not None else 1
    if current is None:
        current = LeadDefinition()
        session.add(current)
    for name in CONTENT_FIELDS:
        setattr(current, name, _copy(content[name]))
    current.version, current.updated_by, current.updated_at, current.reviewed_at = version, author, now, now
    session.add(
        LeadDefinitionVersion(
            key=current.key,
            version=version,
            snapshot=dict(content),
            author=author,
            created_at=now,
            summary=summary,
            approved_by=approved_by,
            override_by=override_by,
        )
    )
    return version


def check_can_reject(session: Session, proposal_id: int | str, user_id: str) -> ProposalView:
    row = _proposal_row(session, proposal_id)
    roles.require_role(session, user_id, REJECTER_ROLES, "reject a definition change")
    _require_open(row, session)
    return proposal_view(session, row)


def reject(session: Session, proposal_id: int | str, user_id: str, reason: str, now: datetime) -> ProposalView:
    row = _proposal_row(session, proposal_id, lock=True)
    roles.require_role(session, user_id, REJECTER_ROLES, "reject a definition change")
    _require_open(row, session)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("A rejection needs a reason, so the proposer knows what to change.")
    if len(reason) > MAX_SUMMARY:
        raise InvalidInput(f"Keep the reason under {MAX_SUMMARY} characters.")
    row.status, row.rejected_by, row.rejection_reason, row.decided_at = "rejected", user_id, reason, now
    session.flush()
    return proposal_view(session, row)


def mark_reviewed(session: Session, key: str, now: datetime) -> DefinitionView:
    row = _row(session, key)
    row.reviewed_at = now
    session.flush()
    return view_of(row)


@dataclass
class ReviewResult:
    definition: DefinitionView
    side: str  # the reviewer's side: "marketing" or "sales"
    completed: bool  # True: the definition now counts as reviewed
    confirmed_by: list[str] = field(default_factory=list)


def review(session: Session, key: str, user_id: str, note: str, now: datetime) -> ReviewResult:
    """A head confirms a definition is still right, without changing it. It counts as reviewed once
    a marketing head and a sales head (two people) confirmed the same version, or at once with a note."""
    role = roles.require_role(session, user_id, APPROVER_ROLES, "mark a definition reviewed")
    side = "marketing" if role == Role.marketing_head else "sales"
    row = _row(session, key)
    note = " ".join(note.split())
    if len(note) > MAX_SUMMARY:
        raise InvalidInput(f"Keep the note under {MAX_SUMMARY} characters.")
    pending = list(
        session.scalars(
            select(LeadDefinitionReview)
            .where(
                LeadDefinitionReview.key == row.key,
                LeadDefinitionReview.version == row.version,
                LeadDefinitionReview.completed_at.is_(None),
            )
            .order_by(LeadDefinitionReview.id)
        )
    )
    if not note and any(p.reviewer == user_id for p in pending):
        raise InvalidInput(
            f"You already confirmed {row.key}; it counts as reviewed once a head of the other "
            f"department confirms too, or add a note: `/lead-def reviewed {row.key} why it still holds`."
        )
    mine = LeadDefinitionReview(
        key=row.key, version=row.version, reviewer=user_id, side=side, note=note or None, created_at=now
    )
    session.add(mine)
    other_side = [p for p in pending if p.side != side and p.reviewer != user_id]
    completed = bool(note) or bool(other_side)
    confirmed = [user_id]
    if completed:
        row.reviewed_at = now
        for p in [*pending, mine]:
            p.completed_at = now
        confirmed = [user_id] + [p.reviewer for p in other_side[:1]]
    session.flush()
    return ReviewResult(view_of(row), side, completed, confirmed)


# --- file import / export -----------------------------------------------------------------
@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)  # new terms, applied at once
    updated: list[str] = field(default_factory=list)  # changed terms, applied at once
    proposed: list[ProposalView] = field(default_factory=list)  # changes waiting for the two heads
    already_proposed: list[str] = field(default_factory=list)  # the same change is already waiting
    unchanged: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    override_by: str | None = None  # the admin who applied without approval


IMPORT_PROPOSER = "cli import"
OVERRIDE_ROLES = [Role.admin]


def override_summary(admin: str) -> str:
    return f"Applied by {admin} without approval (file import)"


def check_file(text: str) -> tuple[list[Entry], list[Problem]]:
    entries, problems = parse_yaml(text)
    problems += validate_entries(entries)
    problems.sort(key=lambda p: p.line or 0)
    return entries, problems


def import_text(
    session: Session, text: str, *, by: str = IMPORT_PROPOSER, now: datetime, override_admin: str | None = None
) -> ImportReport:
    """Validate the whole file first; write nothing if any entry is invalid.

    Into an empty workspace (first seeding) the file becomes the vocabulary. Otherwise every new or
    changed term becomes a proposal that needs a marketing head and a sales head, like one made in
    Slack — unless an admin explicitly overrides, which history and the alignment channel record.
    """
    entries, problems = check_file(text)
    if problems:
        return ImportReport(problems=problems)
    if override_admin is not None:
        roles.require_role(session, override_admin, OVERRIDE_ROLES, "apply definitions without approval")
    report = ImportReport()
    existing = {r.key: r for r in session.scalars(select(LeadDefinition))}
    keys_in_file = {" ".join(e.content["key"].split()) for e in entries}
    # Positions and names must not clash with terms the file does not mention.
    kept = [Entry(snapshot(r)) for k, r in existing.items() if k not in keys_in_file]
    clashes = validate_entries(
        [Entry(normalize_content(e.content), meta={"_lines": e.meta.get("_lines", {})}, line=e.line) for e in entries]
        + kept
    )
    if clashes:
        return ImportReport(problems=clashes)
    first_seeding = not existing
    for entry in entries:
        content = normalize_content(entry.content)
        row = existing.get(content["key"])
        if row is not None and snapshot(row) == content:
            report.unchanged.append(content["key"])
        elif first_seeding:
            meta = entry.meta
            updated_at = parse_time(meta["updated_at"]) if "updated_at" in meta else now
            reviewed = parse_time(meta["last_reviewed"]) if "last_reviewed" in meta else now
            _create(
                session,
                content,
                author=meta.get("updated_by") or by,
                now=now,
                reviewed=reviewed or now,
                summary="Imported from file",
                version=meta.get("version", 1),
                updated_at=updated_at,
            )
            report.created.append(content["key"])
        elif override_admin is not None:
            apply_content(
                session,
                row,
                content,
                author=override_admin,
                now=now,
                summary=override_summary(override_admin),
                override_by=override_admin,
            )
            (report.updated if row is not None else report.created).append(content["key"])
            report.override_by = override_admin
        else:
            base = row.version if row is not None else 0
            waiting = session.scalars(
                select(LeadDefinitionProposal).where(
                    LeadDefinitionProposal.key == content["key"],
                    LeadDefinitionProposal.status == "open",
                    LeadDefinitionProposal.base_version == base,
                )
            ).all()
            if any(dict(p.proposed) == content for p in waiting):
                report.already_proposed.append(content["key"])
                continue
            proposal = LeadDefinitionProposal(
                key=content["key"],
                base_version=base,
                proposed=content,
                proposer=by,
                created_at=now,
                status="open",
                summary=("New term from a file import" if row is None else "Changed by a file import"),
            )
            session.add(proposal)
            session.flush()
            report.proposed.append(proposal_view(session, proposal))
    session.flush()
    return report


def export_text(session: Session) -> str:
    from bot.lead_defs.schema import dump_yaml

    records = []
    for view in all_definitions(session):
        record = view.content
        record.update(
            version=view.version,
            updated_by=view.updated_by,
            updated_at=format_time(view.updated_at),
            last_reviewed=format_time(view.reviewed_at),
        )
        records.append(record)
    return dump_yaml(records)
