"""/lead-def as Block Kit and text: cards, the funnel list, history, stale definitions, proposals
and their diffs, announcements, and the propose/reject/review modals.

Everything stored is plain text; it is escaped here, once, also in the notification `text`."""

from __future__ import annotations

import json
import re

from bot.lead_defs import service as ld
from bot.lead_defs.diff import FieldChange
from bot.lead_defs.queries import StaleDefinition
from bot.lead_defs.schema import LABELS, MAX_LENGTHS
from bot.render import blocks as bk

PROPOSE_VIEW = "lead_def_propose"
REJECT_VIEW = "lead_def_reject"
REVIEW_VIEW = "lead_def_review"
USAGE = (
    "`/lead-def MQL` a definition · `/lead-def history MQL` its changes · "
    "`/lead-def propose MQL` suggest a change · `/lead-def stale` overdue reviews · "
    "`/lead-def reviewed MQL [note]` confirm one is still right (heads)"
)
OWNER_LABELS = {"marketing": "Marketing", "sales": "Sales", "shared": "Shared (marketing + sales)"}
# The proposal modal's inputs: every editable field but the CRM mapping (file import), then the summary.
FORM_FIELDS = (*(f for f in ld.EDITABLE_FIELDS if f != "crm"), "summary")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def who(user: str | None) -> str:
    """A Slack user as a mention; anything else (e.g. "cli import") as escaped text."""
    if not user:
        return "—"
    return f"<@{user}>" if _SLACK_USER.match(user) else bk.escape(user)


def _bullets(items: list[str]) -> str:
    return "\n".join(f"• {bk.escape(i)}" for i in items)


def _title(d: ld.DefinitionView) -> str:
    return f"{d.key}: {d.full_name}" if d.full_name != d.key else d.key


# --- cards ---------------------------------------------------------------------------------
def card_blocks(d: ld.DefinitionView, *, buttons: bool = True, stages: int | None = None) -> list[bk.Block]:
    blocks: list[bk.Block] = [
        bk.header(f"{d.key} — {d.full_name}" if d.full_name != d.key else d.key),
        bk.section(bk.escape(d.definition)),
    ]
    pairs = []
    if d.kind == "stage":
        pairs.append(("Funnel stage", f"{d.position}" + (f" of {stages}" if stages else "")))
    else:
        pairs.append(("Kind", "Glossary term"))
    pairs.append(("Owner", OWNER_LABELS.get(d.owner, bk.escape(d.owner))))
    for name, value in (("next_action", d.next_action), ("sla", d.sla), ("handoff", d.handoff)):
        if value:
            pairs.append((LABELS[name], bk.escape(value)))
    blocks.append(bk.fields(pairs))
    if d.criteria:
        blocks.append(bk.section(f"*Qualifying criteria*\n{_bullets(d.criteria)}"))
    if d.disqualifiers:
        blocks.append(bk.section(f"*Disqualifiers*\n{_bullets(d.disqualifiers)}"))
    if d.example:
        blocks.append(bk.section(f"*Example*\n> {bk.escape(d.example)}"))
    if d.aliases:
        blocks.append(bk.context("Also called: " + ", ".join(bk.escape(a) for a in d.aliases)))
    blocks.append(
        bk.context(
            f"v{d.version} · last changed by {who(d.updated_by)} on {d.updated_at:%Y-%m-%d} · "
            f"last reviewed {d.reviewed_at:%Y-%m-%d}"
        )
    )
    if buttons:
        blocks.append(
            bk.actions(
                [
                    bk.button("Share in channel", "lead_def_share", d.key, style="primary"),
                    bk.button("History", "lead_def_history", d.key),
                ]
            )
        )
    return blocks


def card_message(d: ld.DefinitionView, stages: int | None = None) -> dict:
    return bk.ephemeral(bk.escape(_title(d)), card_blocks(d, stages=stages))


def shared_card(d: ld.DefinitionView, user_id: str) -> dict:
    blocks = card_blocks(d, buttons=False) + [bk.context(f"Shared by <@{user_id}> with `/lead-def`")]
    return bk.message(
        f"{bk.escape(_title(d))} (shared by <@{user_id}>)",
        blocks,
        response_type="in_channel",
        replace_original=False,
        delete_original=False,
    )


def lookup_message(found: ld.Lookup, stages: int) -> dict:
    if found.definition:
        return card_message(found.definition, stages)
    message = ld.not_found_message(found.query, found.suggestions)
    buttons = [
        bk.button(f"{s.key} — {s.full_name}" if s.full_name != s.key else s.key, "lead_def_show", s.key)
        for s in found.suggestions
    ]
    buttons.append(bk.button("See all terms", "lead_def_list", "list"))
    return bk.ephemeral(message, [bk.section(message), bk.actions(buttons)])


def list_message(definitions: list[ld.DefinitionView], stale: list[StaleDefinition], stale_days: int) -> dict:
    stages = [d for d in definitions if d.kind == "stage"]
    terms = [d for d in definitions if d.kind != "stage"]
    blocks: list[bk.Block] = [bk.header("Our funnel, from first touch to customer")]
    lines = [
        f"*{d.position}. {bk.escape(d.key)}* — {bk.escape(d.full_name)}\n"
        f"      Owner: {OWNER_LABELS.get(d.owner, d.owner)} · SLA: {bk.escape(d.sla) or '—'}"
        for d in stages
    ]
    for start in range(0, len(lines), 8):
        blocks.append(bk.section("\n".join(lines[start : start + 8])))
    if terms:
        blocks.append(
            bk.section(
                "*Glossary*\n"
                + " · ".join(
                    f"{bk.escape(d.key)}"
                    + (f" ({bk.escape(d.full_name)})" if d.full_name.casefold() != d.key.casefold() else "")
                    for d in terms
                )
            )
        )
    if stale:
        blocks.append(
            bk.context(
                f"{len(stale)} not reviewed in {stale_days} days: " + ", ".join(bk.escape(s.key) for s in stale[:15])
            )
        )
    blocks.append(bk.context(USAGE))
    return bk.ephemeral(bk.escape("Funnel: " + " → ".join(d.key for d in stages)), blocks)


def help_message() -> dict:
    return bk.ephemeral("How to use /lead-def", [bk.section(USAGE)])


# --- history -------------------------------------------------------------------------------
def history_message(definition: ld.DefinitionView, entries: list[ld.HistoryEntry]) -> dict:
    blocks: list[bk.Block] = [bk.header(f"History of {definition.key}")]
    for entry in entries[:45]:
        approved = ""
        if entry.approved_by:
            approved = " · approved by " + " and ".join(who(u) for u in entry.approved_by.split(",") if u)
        if entry.override_by:
            approved = f" · ⚠️ applied by {who(entry.override_by)} without approval"
        head = f"*v{entry.version}* · {entry.created_at:%Y-%m-%d %H:%M} UTC · by {who(entry.author)}{approved}"
        body = [f"> {bk.quote_user_text(entry.summary, 300)}"] if entry.summary else []
        if entry.version == 1 or not entry.changes:
            body.append("First version" if entry.version == 1 else "No content changes")
        else:
            body += [render_change(c, limit=400) for c in entry.changes]
        blocks.append(bk.section(head + "\n" + "\n".join(body)))
    if len(entries) > 45:
        blocks.append(bk.context(f"{len(entries) - 45} older versions not shown."))
    return bk.ephemeral(bk.escape(f"History of {definition.key}: {len(entries)} versions"), blocks)


# --- stale and reviews ---------------------------------------------------------------------------
def stale_line(s: StaleDefinition) -> str:
    return (
        f"*{bk.escape(s.key)}* — last reviewed {s.last_reviewed:%Y-%m-%d} ({s.days_since_review} days ago), "
        f"owner {bk.escape(s.owner)}"
    )


def stale_message(stale: list[StaleDefinition], days: int) -> dict:
    if not stale:
        return bk.ephemeral(f"Every definition was reviewed in the last {days} days.")
    blocks: list[bk.Block] = [bk.section(f"*Not reviewed in {days} days*")]
    for s in stale[:40]:
        blocks.append(bk.section(stale_line(s), accessory=bk.button("Mark reviewed", "lead_def_review", s.key)))
    if len(stale) > 40:
        blocks.append(bk.context(f"{len(stale) - 40} more not shown."))
    blocks.append(
        bk.context(
            "Still right? A marketing head and a sales head each press *Mark reviewed* "
            "(or one head with a note). An approved change counts as a review too."
        )
    )
    return bk.ephemeral(f"{len(stale)} definitions need a review", blocks)


def review_modal(d: ld.DefinitionView) -> dict:
    return bk.modal(
        f"Review {d.key}",
        [
            bk.section(
                f"Confirm that *{bk.escape(d.key)}* (v{d.version}) is still right, without changing it. "
                "It counts as reviewed when a marketing head and a sales head confirm, or at once "
                "with a note saying why it still holds."
            ),
            bk.text_input("Note (optional)", "note", "value", multiline=True, optional=True, max_length=ld.MAX_SUMMARY),
        ],
        callback_id=REVIEW_VIEW,
        submit="Mark reviewed",
        private_metadata=d.key,
    )


def review_reply(result: ld.ReviewResult) -> str:
    key = bk.escape(result.definition.key)
    if result.completed:
        people = " and ".join(who(u) for u in result.confirmed_by)
        return f"✅ {key} is marked reviewed ({people}), still v{result.definition.version}."
    other = "a sales head" if result.side == "marketing" else "a marketing head"
    return (
        f"Your review of {key} is recorded for {result.side}. It counts as reviewed once {other} "
        f"confirms too (or confirm with a note: `/lead-def reviewed {key} why it still holds`)."
    )


# --- diffs ---------------------------------------------------------------------------------
def _mark(text: str, char: str) -> str:
    stripped = text.strip()
    if not stripped:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return f"{lead}{char}{bk.escape(stripped)}{char}{trail}"


def render_change(change: FieldChange, limit: int = 1200) -> str:
    if change.added or change.removed:
        lines = [f"  ➕ {bk.escape(i)}" for i in change.added] + [f"  ➖ ~{bk.escape(i)}~" for i in change.removed]
        return bk.truncate(f"*{change.label}*\n" + "\n".join(lines), limit)
    parts = []
    previous = None
    for op, text in change.segments:
        if op == "same":
            parts.append(bk.escape(text))
        elif op == "removed":
            parts.append(_mark(text, "~"))
        else:
            # Slack only formats ~x~ and *y* when they do not touch.
            parts.append((" " if previous == "removed" else "") + _mark(text, "*"))
        previous = op
    return bk.truncate(f"*{change.label}*: " + "".join(parts), limit)


def diff_blocks(changes: list[FieldChange]) -> list[bk.Block]:
    return [bk.section(render_change(c, 2900)) for c in changes[:15]]


# --- proposals -------------------------------------------------------------------------------
def proposal_blocks(p: ld.ProposalView) -> list[bk.Block]:
    versions = f"v{p.base_version} → v{p.base_version + 1}" if p.base_version else "new term"
    blocks: list[bk.Block] = [
        bk.header(f"Proposed change to {p.key} ({versions})"),
        bk.section(
            f"{who(p.proposer)} proposes a change to *{bk.escape(p.key)}*:\n> {bk.quote_user_text(p.summary, 500)}"
        ),
    ]
    blocks += diff_blocks(p.changes)
    marketing = f"✅ marketing head {who(p.marketing_approver)}" if p.marketing_approver else "⏳ marketing head"
    sales = f"✅ sales head {who(p.sales_approver)}" if p.sales_approver else "⏳ sales head"
    if p.status == "open":
        blocks.append(
            bk.context(
                f"Needs: {marketing} · {sales} (two different people). The proposer can't approve their own change."
            )
        )
        blocks.append(
            bk.actions(
                [
                    bk.button("Approve", "lead_def_approve", str(p.id), style="primary"),
                    bk.button("Reject", "lead_def_reject", str(p.id), style="danger"),
                ],
                block_id=f"lead_def_proposal_{p.id}",
            )
        )
    elif p.status == "approved":
        blocks.append(
            bk.context(f"Approved by {marketing[2:]} and {sales[2:]}: now {bk.escape(p.key)} v{p.resulting_version}.")
        )
    elif p.status == "rejected":
        blocks.append(
            bk.context(f"❌ Rejected by {who(p.rejected_by)}: {bk.quote_user_text(p.rejection_reason or '', 300)}")
        )
    else:
        blocks.append(
            bk.context(
                f"⚠️ Outdated: {bk.escape(p.key)} changed to v{p.current_version} after this was "
                f"proposed against v{p.base_version}. Propose again with "
                f"`/lead-def propose {bk.escape(p.key)}`."
            )
        )
    return blocks


def proposal_message(p: ld.ProposalView) -> dict:
    return bk.message(f"{who(p.proposer)} proposes a change to {bk.escape(p.key)}", proposal_blocks(p))


def proposal_update(p: ld.ProposalView) -> dict:
    return bk.message(f"Proposed change to {bk.escape(p.key)}: {p.status}", proposal_blocks(p))


def approval_reply(result: ld.VoteResult) -> str:
    p = result.proposal
    if result.applied:
        return f"Approved. {bk.escape(p.key)} v{p.resulting_version} is now the shared definition."
    waiting = "a sales head" if result.side == "marketing" else "a marketing head"
    return f"Your approval for {result.side} is recorded. {bk.escape(p.key)} changes once {waiting} approves too."


def rejection_notice(p: ld.ProposalView, user_id: str, reason: str) -> dict:
    return bk.message(
        f"{who(p.proposer)}, your change to {bk.escape(p.key)} was rejected by <@{user_id}>",
        [
            bk.section(
                f"{who(p.proposer)}, your change to *{bk.escape(p.key)}* was rejected by <@{user_id}>:\n"
                f"> {bk.quote_user_text(reason, 500)}"
            )
        ],
    )


def announcement(p: ld.ProposalView, d: ld.DefinitionView) -> dict:
    intro = (
        f"📣 *{bk.escape(d.key)}* is now v{d.version}: proposed by {who(p.proposer)}, "
        f"approved by {who(p.marketing_approver)} (marketing) and {who(p.sales_approver)} (sales).\n"
        f"> {bk.quote_user_text(p.summary, 500)}"
    )
    blocks = [bk.section(intro)] + diff_blocks(p.changes) + [bk.divider()] + card_blocks(d, buttons=False)
    return bk.message(bk.escape(f"{d.key} is now v{d.version}"), blocks)


def override_announcement(admin: str, definitions: list[ld.DefinitionView]) -> dict:
    keys = ", ".join(f"{d.key} v{d.version}" for d in definitions)
    lines = [f"• *{bk.escape(d.key)}* is now v{d.version}" for d in definitions[:40]]
    blocks = [
        bk.section(
            f"⚠️ {who(admin)} applied a definitions file *without the two heads' approval* "
            "(admin override). History records it."
        ),
        bk.section("\n".join(lines) or "_nothing changed_"),
        bk.context("`/lead-def history TERM` shows what changed; propose a change to undo it."),
    ]
    return bk.message(bk.escape(f"Applied by {admin} without approval: {keys}"), blocks)


# --- modals ---------------------------------------------------------------------------------
# The proposal modal's definition inputs in form order: (field, label, multiline, optional).
_PROPOSE_INPUTS = (
    ("full_name", "Full name", False, False),
    ("definition", "Definition", True, False),
    ("criteria", "Qualifying criteria (one per line)", True, True),
    ("disqualifiers", "Disqualifiers (one per line)", True, True),
    ("owner", "Owner: marketing, sales or shared", False, False),
    ("next_action", "Next action", False, True),
    ("sla", "SLA", False, True),
    ("handoff", "Hand-off to the next stage", True, True),
    ("example", "Example", True, True),
    ("aliases", "Aliases (comma-separated)", False, True),
)
_INPUT_LIMITS = {**MAX_LENGTHS, "owner": 20}  # list fields have none: their items are checked one by one


def _form_value(value: str | list[str], multiline: bool) -> str:
    """A list field is one item per line in a multiline input, else comma-separated."""
    return ("\n" if multiline else ", ").join(value) if isinstance(value, list) else value


def propose_modal(d: ld.DefinitionView, channel: str) -> dict:
    meta = json.dumps({"key": d.key, "base_version": d.version, "channel": channel})
    blocks = [
        bk.section(
            f"Change the shared definition of *{bk.escape(d.key)}* (now v{d.version}). It takes effect "
            "when a marketing head and a sales head both approve."
        ),
        *(
            bk.text_input(
                text,
                name,
                "value",
                initial=_form_value(getattr(d, name), multiline),
                multiline=multiline,
                optional=optional,
                max_length=_INPUT_LIMITS.get(name),
            )
            for name, text, multiline, optional in _PROPOSE_INPUTS
        ),
        bk.text_input("What changes, and why?", "summary", "value", multiline=True, max_length=ld.MAX_SUMMARY),
    ]
    return bk.modal(f"Propose: {d.key}", blocks, callback_id=PROPOSE_VIEW, submit="Propose", private_metadata=meta)


def reject_modal(p: ld.ProposalView) -> dict:
    return bk.modal(
        f"Reject {p.key} change",
        [
            bk.section(
                f"Rejecting {who(p.proposer)}'s change to *{bk.escape(p.key)}*:\n> {bk.quote_user_text(p.summary, 300)}"
            ),
            bk.text_input(
                "Why? (the proposer sees this)", "reason", "value", multiline=True, max_length=ld.MAX_SUMMARY
            ),
        ],
        callback_id=REJECT_VIEW,
        submit="Reject",
        private_metadata=str(p.id),
    )
