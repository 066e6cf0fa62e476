"""`/lead-def`: look up the shared definition of a funnel stage or term, see its history,
and propose changes that take effect when a marketing head and a sales head approve."""

from __future__ import annotations

import json
import logging
import re
import weakref
from typing import Any

from bot.render import blocks as bk
from bot.errors import InvalidInput, RevalignError
from bot.lead_defs import service as ld
from bot.lead_defs.diff import FieldChange
from bot.lead_defs.queries import stale_definitions
from bot.lead_defs.schema import LABELS, MAX_LENGTHS
from bot.services import Services
from handlers.registry import Registrar

log = logging.getLogger(__name__)

PROPOSE_VIEW = "lead_def_propose"
REJECT_VIEW = "lead_def_reject"
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")
USAGE = ("`/lead-def MQL` a definition · `/lead-def history MQL` its changes · "
         "`/lead-def propose MQL` suggest a change · `/lead-def stale` overdue reviews")
OWNER_LABELS = {"marketing": "Marketing", "sales": "Sales", "shared": "Shared (marketing + sales)"}


_SEEDED: "weakref.WeakSet[Services]" = weakref.WeakSet()


def ensure_seeded_once(services: Services) -> None:
    """Seed the shipped definitions into an empty table, once per process (also when the app
    was built after start-up, as `revalign ask` does)."""
    if services not in _SEEDED:
        ld.ensure_seeded(services)
        _SEEDED.add(services)


def register(registrar: Registrar, services: Services) -> None:
    services.on_startup("lead definitions", lambda: ensure_seeded_once(services))

    @registrar.command(
        "/lead-def",
        help=[
            ("/lead-def", "the funnel stages in order with owner and SLA, plus the glossary"),
            ("/lead-def MQL", "the full definition of a stage or term (key, name, alias or question)"),
            ("/lead-def history MQL", "every version of a definition: who changed what, and when"),
            ("/lead-def propose MQL", "propose a change; it applies when a marketing head and a sales head approve"),
            ("/lead-def stale", "definitions nobody has reviewed for a while"),
        ],
    )
    def lead_def_command(ack, command, respond, client) -> None:
        ack()
        run_command(command, respond, client)

    def run_command(command, respond, client) -> None:
        ensure_seeded_once(services)
        text = (command.get("text") or "").strip()
        verb, _, rest = text.partition(" ")
        verb, rest = verb.casefold(), rest.strip()
        if not text:
            respond(**list_reply(services))
        elif verb == "history":
            if not rest:
                raise InvalidInput("Which term? For example `/lead-def history MQL`.")
            respond(**history_reply(services, rest))
        elif verb == "propose":
            open_proposal_modal(services, client, command, rest)
        elif verb == "stale" and not rest:
            respond(**stale_reply(services))
        elif verb == "help" and not rest:
            respond(**bk.ephemeral("How to use /lead-def", [bk.section(USAGE)]))
        else:
            respond(**lookup_reply(services, text))

    @registrar.action("lead_def_show")
    def show(ack, action, respond) -> None:
        ack()
        with services.db.session() as session:
            definition = ld.get(session, action.get("value", ""))
            stages = ld.stage_count(session)
        respond(**card_message(definition, stages), replace_original=False)

    @registrar.action("lead_def_list")
    def show_list(ack, respond) -> None:
        ack()
        respond(**list_reply(services), replace_original=False)

    @registrar.action("lead_def_history")
    def show_history(ack, action, respond) -> None:
        ack()
        respond(**history_reply(services, action.get("value", "")), replace_original=False)

    @registrar.action("lead_def_share")
    def share(ack, action, body, respond) -> None:
        ack()
        share_card(action, body, respond)

    def share_card(action, body, respond) -> None:
        user_id = body["user"]["id"]
        with services.db.session() as session:
            definition = ld.get(session, action.get("value", ""))
        blocks = card_blocks(definition, buttons=False) + [bk.context(f"Shared by <@{user_id}> with `/lead-def`")]
        respond(text=f"{definition.key}: {definition.full_name} (shared by <@{user_id}>)", blocks=blocks,
                response_type="in_channel", replace_original=False, delete_original=False)

    @registrar.view(PROPOSE_VIEW)
    def submit_proposal(ack, body, view, client) -> None:
        user_id = body["user"]["id"]
        meta = _metadata(view)
        fields, summary = read_proposal_form(view)
        try:
            with services.db.session() as session:
                ld.start_proposal(session, user_id, str(meta.get("key", "")))
                _content, problems = ld.check_proposal(session, str(meta.get("key", "")),
                                                       meta["base_version"], fields, summary)
        except RevalignError as exc:
            ack(response_action="errors", errors={"summary": str(exc)[:150]})
            return
        if problems:
            errors: dict[str, str] = {}
            for problem in problems:
                block = problem.field if problem.field in FORM_FIELDS else "summary"
                errors.setdefault(block, problem.message[:150])
            ack(response_action="errors", errors=errors)
            return
        ack()
        post_proposal(services, client, user_id, meta, fields, summary)

    @registrar.action("lead_def_approve")
    def approve(ack, action, body, respond, client) -> None:
        ack()
        record_approval(action, body, respond, client)

    def record_approval(action, body, respond, client) -> None:
        user_id = body["user"]["id"]
        with services.db.session() as session:
            result = ld.approve(session, action.get("value", ""), user_id, services.now())
        proposal = result.proposal
        _update_proposal_message(client, proposal)
        if result.refusal:
            raise InvalidInput(result.refusal)
        if result.applied:
            try:
                announce(services, client, proposal)
            except Exception:  # noqa: BLE001 - the change is applied; the announcement is the picture of it
                log.warning("could not announce %s v%s", proposal.key, proposal.resulting_version, exc_info=True)
            for other in result.outdated:
                _update_proposal_message(client, other)
            text = f"Approved. {proposal.key} v{proposal.resulting_version} is now the shared definition."
        else:
            waiting = "a sales head" if result.side == "marketing" else "a marketing head"
            text = f"Your approval for {result.side} is recorded. {proposal.key} changes once {waiting} approves too."
        respond(text=text, response_type="ephemeral", replace_original=False)

    @registrar.action("lead_def_reject")
    def reject_clicked(ack, action, body, respond, client) -> None:
        ack()
        open_rejection_modal(action, body, client)

    def open_rejection_modal(action, body, client) -> None:
        user_id = body["user"]["id"]
        with services.db.session() as session:
            proposal = ld.check_can_reject(session, action.get("value", ""), user_id)
        client.views_open(trigger_id=body["trigger_id"], view=bk.modal(
            f"Reject {proposal.key} change", [
                bk.section(f"Rejecting <@{proposal.proposer}>'s change to *{bk.escape(proposal.key)}*:\n"
                           f"> {bk.quote_user_text(proposal.summary, 300)}"),
                bk.text_input("Why? (the proposer sees this)", "reason", "value", multiline=True,
                              max_length=ld.MAX_SUMMARY),
            ], callback_id=REJECT_VIEW, submit="Reject", private_metadata=str(proposal.id)))

    @registrar.view(REJECT_VIEW)
    def submit_rejection(ack, body, view, client) -> None:
        user_id = body["user"]["id"]
        reason = (_value(view, "reason") or "").strip()
        if not reason:
            ack(response_action="errors", errors={"reason": "A rejection needs a reason."})
            return
        try:
            with services.db.session() as session:
                proposal = ld.reject(session, view.get("private_metadata", ""), user_id, reason, services.now())
        except RevalignError as exc:
            ack(response_action="errors", errors={"reason": str(exc)[:150]})
            return
        ack()
        _update_proposal_message(client, proposal)
        if proposal.channel:
            client.chat_postMessage(
                channel=proposal.channel, thread_ts=proposal.message_ts,
                text=f"<@{proposal.proposer}>, your change to {proposal.key} was rejected by <@{user_id}>",
                blocks=[bk.section(f"<@{proposal.proposer}>, your change to *{bk.escape(proposal.key)}* was "
                                   f"rejected by <@{user_id}>:\n> {bk.quote_user_text(reason, 500)}")])


# --- replies -----------------------------------------------------------------------------
def who(user: str | None) -> str:
    if not user:
        return "—"
    return f"<@{user}>" if _SLACK_USER.match(user) else bk.escape(user)


def _bullets(items: list[str]) -> str:
    return "\n".join(f"• {bk.escape(i)}" for i in items)


def card_blocks(d: ld.DefinitionView, *, buttons: bool = True, stages: int | None = None) -> list[bk.Block]:
    blocks: list[bk.Block] = [bk.header(f"{d.key} — {d.full_name}" if d.full_name != d.key else d.key),
                              bk.section(bk.escape(d.definition))]
    pairs = []
    if d.kind == "stage":
        pairs.append(("Funnel stage", f"{d.position}" + (f" of {stages}" if stages else "")))
    else:
        pairs.append(("Kind", "Glossary term"))
    pairs.append(("Owner", OWNER_LABELS.get(d.owner, bk.escape(d.owner))))
    for name in ("next_action", "sla", "handoff"):
        value = getattr(d, name)
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
    blocks.append(bk.context(f"v{d.version} · last changed by {who(d.updated_by)} on {d.updated_at:%Y-%m-%d} · "
                             f"last reviewed {d.reviewed_at:%Y-%m-%d}"))
    if buttons:
        blocks.append(bk.actions([
            bk.button("Share in channel", "lead_def_share", d.key, style="primary"),
            bk.button("History", "lead_def_history", d.key),
        ]))
    return blocks


def card_message(d: ld.DefinitionView, stages: int | None = None) -> dict:
    return bk.ephemeral(f"{d.key}: {d.full_name}", card_blocks(d, stages=stages))


def lookup_reply(services: Services, text: str) -> dict:
    with services.db.session() as session:
        found = ld.lookup(session, text)
        stages = ld.stage_count(session)
    if found.definition:
        return card_message(found.definition, stages)
    message = ld.not_found_message(text, found.suggestions)
    buttons = [bk.button(f"{s.key} — {s.full_name}" if s.full_name != s.key else s.key, "lead_def_show", s.key)
               for s in found.suggestions]
    buttons.append(bk.button("See all terms", "lead_def_list", "list"))
    return bk.ephemeral(message, [bk.section(message), bk.actions(buttons)])


def list_reply(services: Services) -> dict:
    with services.db.session() as session:
        definitions = ld.all_definitions(session)
        stale = stale_definitions(session, services.now(), services.settings.stale_after_days)
    stages = [d for d in definitions if d.kind == "stage"]
    terms = [d for d in definitions if d.kind != "stage"]
    blocks: list[bk.Block] = [bk.header("Our funnel, from first touch to customer")]
    lines = [f"*{d.position}. {bk.escape(d.key)}* — {bk.escape(d.full_name)}\n"
             f"      Owner: {OWNER_LABELS.get(d.owner, d.owner)} · SLA: {bk.escape(d.sla) or '—'}" for d in stages]
    for start in range(0, len(lines), 8):
        blocks.append(bk.section("\n".join(lines[start:start + 8])))
    if terms:
        blocks.append(bk.section("*Glossary*\n" + " · ".join(
            f"{bk.escape(d.key)}" + (f" ({bk.escape(d.full_name)})" if d.full_name.casefold() != d.key.casefold()
                                     else "") for d in terms)))
    if stale:
        blocks.append(bk.context(f"{len(stale)} not reviewed in {services.settings.stale_after_days} days: "
                                 + ", ".join(bk.escape(s.key) for s in stale[:15])))
    blocks.append(bk.context(USAGE))
    fallback = "Funnel: " + " → ".join(d.key for d in stages)
    return bk.ephemeral(fallback, blocks)


def history_reply(services: Services, text: str) -> dict:
    with services.db.session() as session:
        definition, entries = ld.history(session, text)
    blocks: list[bk.Block] = [bk.header(f"History of {definition.key}")]
    for entry in entries[:45]:
        approved = ""
        if entry.approved_by:
            approved = " · approved by " + " and ".join(who(u) for u in entry.approved_by.split(",") if u)
        head = f"*v{entry.version}* · {entry.created_at:%Y-%m-%d %H:%M} UTC · by {who(entry.author)}{approved}"
        body = [f"> {bk.quote_user_text(entry.summary, 300)}"] if entry.summary else []
        if entry.version == 1 or not entry.changes:
            body.append("First version" if entry.version == 1 else "No content changes")
        else:
            body += [render_change(c, limit=400) for c in entry.changes]
        blocks.append(bk.section(head + "\n" + "\n".join(body)))
    if len(entries) > 45:
        blocks.append(bk.context(f"{len(entries) - 45} older versions not shown."))
    return bk.ephemeral(f"History of {definition.key}: {len(entries)} versions", blocks)


def stale_reply(services: Services) -> dict:
    days = services.settings.stale_after_days
    with services.db.session() as session:
        stale = stale_definitions(session, services.now(), days)
    if not stale:
        return bk.ephemeral(f"Every definition was reviewed in the last {days} days.")
    lines = [f"• *{bk.escape(s.key)}* — last reviewed {s.last_reviewed:%Y-%m-%d} ({s.days_since_review} days ago), "
             f"owner {s.owner}" for s in stale]
    return bk.ephemeral(f"{len(stale)} definitions need a review", [
        bk.section(f"*Not reviewed in {days} days*\n" + "\n".join(lines[:40])),
        bk.context("An approved change counts as a review. Put these on the next alignment meeting's agenda."),
    ])


# --- diffs ---------------------------------------------------------------------------------
def _mark(text: str, char: str) -> str:
    stripped = text.strip()
    if not stripped:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()):]
    return f"{lead}{char}{bk.escape(stripped)}{char}{trail}"


def render_change(change: FieldChange, limit: int = 1200) -> str:
    if change.added or change.removed:
        lines = [f"  ➕ {bk.escape(i)}" for i in change.added] + [f"  ➖ ~{bk.escape(i)}~" for i in change.removed]
        body = "\n".join(lines)
        return bk.truncate(f"*{change.label}*\n{body}", limit)
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


# --- proposals -----------------------------------------------------------------------------
FORM_FIELDS = ("full_name", "aliases", "definition", "criteria", "disqualifiers", "owner", "next_action", "sla",
               "handoff", "example", "summary")


def open_proposal_modal(services: Services, client, command: dict, text: str) -> None:
    with services.db.session() as session:
        d = ld.start_proposal(session, command["user_id"], text)
    if not services.settings.alignment_channel:
        raise InvalidInput("Proposals go to the alignment channel, and none is set up yet: "
                           "ask your admin to set REVALIGN_ALIGNMENT_CHANNEL.")
    meta = json.dumps({"key": d.key, "base_version": d.version, "channel": command.get("channel_id", "")})
    blocks = [
        bk.section(f"Change the shared definition of *{bk.escape(d.key)}* (now v{d.version}). It takes effect "
                   "when a marketing head and a sales head both approve."),
        bk.text_input("Full name", "full_name", "value", initial=d.full_name, max_length=MAX_LENGTHS["full_name"]),
        bk.text_input("Definition", "definition", "value", initial=d.definition, multiline=True,
                      max_length=MAX_LENGTHS["definition"]),
        bk.text_input("Qualifying criteria (one per line)", "criteria", "value", initial="\n".join(d.criteria),
                      multiline=True, optional=True),
        bk.text_input("Disqualifiers (one per line)", "disqualifiers", "value", initial="\n".join(d.disqualifiers),
                      multiline=True, optional=True),
        bk.text_input("Owner: marketing, sales or shared", "owner", "value", initial=d.owner, max_length=20),
        bk.text_input("Next action", "next_action", "value", initial=d.next_action, optional=True,
                      max_length=MAX_LENGTHS["next_action"]),
        bk.text_input("SLA", "sla", "value", initial=d.sla, optional=True, max_length=MAX_LENGTHS["sla"]),
        bk.text_input("Hand-off to the next stage", "handoff", "value", initial=d.handoff, optional=True,
                      multiline=True, max_length=MAX_LENGTHS["handoff"]),
        bk.text_input("Example", "example", "value", initial=d.example, optional=True, multiline=True,
                      max_length=MAX_LENGTHS["example"]),
        bk.text_input("Aliases (comma-separated)", "aliases", "value", initial=", ".join(d.aliases), optional=True),
        bk.text_input("What changes, and why?", "summary", "value", multiline=True, max_length=ld.MAX_SUMMARY),
    ]
    client.views_open(trigger_id=command["trigger_id"], view=bk.modal(
        f"Propose: {d.key}", blocks, callback_id=PROPOSE_VIEW, submit="Propose", private_metadata=meta))


def _metadata(view: dict) -> dict:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    base = meta.get("base_version")
    meta["base_version"] = base if isinstance(base, int) and not isinstance(base, bool) else 0
    return meta


def _value(view: dict, block_id: str) -> str | None:
    state = view.get("state", {}).get("values", {}).get(block_id, {})
    for element in state.values():
        return element.get("value")
    return None


def read_proposal_form(view: dict) -> tuple[dict[str, Any], str]:
    fields: dict[str, Any] = {}
    for name in FORM_FIELDS[:-1]:
        value = _value(view, name)
        if value is None and name not in view.get("state", {}).get("values", {}):
            continue
        value = value or ""
        if name in ("criteria", "disqualifiers"):
            fields[name] = [line.strip(" •-*\t") for line in value.splitlines() if line.strip(" •-*\t")]
        elif name == "aliases":
            fields[name] = [a.strip() for a in value.split(",") if a.strip()]
        else:
            fields[name] = value
    return fields, _value(view, "summary") or ""


def proposal_blocks(p: ld.ProposalView) -> list[bk.Block]:
    blocks: list[bk.Block] = [
        bk.header(f"Proposed change to {p.key} (v{p.base_version} → v{p.base_version + 1})"),
        bk.section(f"<@{p.proposer}> proposes a change to *{bk.escape(p.key)}*:\n"
                   f"> {bk.quote_user_text(p.summary, 500)}"),
    ]
    blocks += diff_blocks(p.changes)
    marketing = f"✅ marketing head {who(p.marketing_approver)}" if p.marketing_approver else "⏳ marketing head"
    sales = f"✅ sales head {who(p.sales_approver)}" if p.sales_approver else "⏳ sales head"
    if p.status == "open":
        blocks.append(bk.context(f"Needs: {marketing} · {sales}. The proposer can't approve their own change."))
        blocks.append(bk.actions([
            bk.button("Approve", "lead_def_approve", str(p.id), style="primary"),
            bk.button("Reject", "lead_def_reject", str(p.id), style="danger"),
        ], block_id=f"lead_def_proposal_{p.id}"))
    elif p.status == "approved":
        blocks.append(bk.context(f"Approved by {marketing[2:]} and {sales[2:]}: now {bk.escape(p.key)} "
                                 f"v{p.resulting_version}."))
    elif p.status == "rejected":
        blocks.append(bk.context(f"❌ Rejected by {who(p.rejected_by)}: {bk.quote_user_text(p.rejection_reason or '', 300)}"))
    else:
        blocks.append(bk.context(f"⚠️ Outdated: {bk.escape(p.key)} changed to v{p.current_version} after this was "
                                 f"proposed against v{p.base_version}. Propose again with `/lead-def propose {p.key}`."))
    return blocks


def post_proposal(services: Services, client, user_id: str, meta: dict, fields: dict, summary: str) -> None:
    channel = services.settings.alignment_channel
    with services.db.session() as session:
        proposal = ld.propose(session, key=str(meta.get("key", "")), user_id=user_id,
                              base_version=meta["base_version"], fields=fields, summary=summary,
                              now=services.now())
    try:
        posted = client.chat_postMessage(channel=channel, text=f"<@{user_id}> proposes a change to {proposal.key}",
                                         blocks=proposal_blocks(proposal))
    except Exception:
        log.warning("could not post proposal %s to the alignment channel", proposal.id, exc_info=True)
        with services.db.session() as session:
            ld.withdraw_unposted(session, proposal.id)
        _tell(client, meta.get("channel"), user_id,
              "Sorry, I couldn't post your proposal to the alignment channel, so nothing was proposed. "
              "Please try again in a minute.")
        return
    with services.db.session() as session:
        ld.set_proposal_message(session, proposal.id, posted["channel"], posted["ts"])
    _tell(client, meta.get("channel"), user_id,
          f"Your proposal for {bk.escape(proposal.key)} is in <#{channel}>. It applies once a marketing head "
          "and a sales head approve.")


def _tell(client, channel: str | None, user_id: str, text: str) -> None:
    if not channel:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user_id, text=text)
    except Exception:  # noqa: BLE001 - a courtesy note; the proposal itself is what matters
        log.info("could not send an ephemeral note to the proposer")


def _update_proposal_message(client, proposal: ld.ProposalView) -> None:
    if not (proposal.channel and proposal.message_ts):
        return
    try:
        client.chat_update(channel=proposal.channel, ts=proposal.message_ts,
                           text=f"Proposed change to {proposal.key}: {proposal.status}",
                           blocks=proposal_blocks(proposal))
    except Exception:  # noqa: BLE001 - the vote is stored; the message is only its picture
        log.warning("could not update the message of proposal %s", proposal.id, exc_info=True)


def announce(services: Services, client, proposal: ld.ProposalView) -> None:
    channel = proposal.channel or services.settings.alignment_channel
    with services.db.session() as session:
        definition = ld.get(session, proposal.key)
    intro = (f"📣 *{bk.escape(definition.key)}* is now v{definition.version}: proposed by {who(proposal.proposer)}, "
             f"approved by {who(proposal.marketing_approver)} (marketing) and {who(proposal.sales_approver)} (sales).\n"
             f"> {bk.quote_user_text(proposal.summary, 500)}")
    blocks = [bk.section(intro)] + diff_blocks(proposal.changes) + [bk.divider()] + card_blocks(definition, buttons=False)
    client.chat_postMessage(channel=channel, text=f"{definition.key} is now v{definition.version}", blocks=blocks)

