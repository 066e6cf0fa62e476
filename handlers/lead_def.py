"""`/lead-def`: look up the shared definition of a funnel stage or term, see its history, propose
changes that take effect when a marketing head and a sales head approve, and confirm reviews.

Listeners only parse, call the domain (bot/lead_defs) and render (bot/render/lead_def.py)."""

from __future__ import annotations

import json
from typing import Any

from bot import roles
from bot.errors import InvalidInput, RevalignError
from bot.lead_defs import service as ld
from bot.lead_defs import workflow
from bot.lead_defs.queries import stale_definitions
from bot.meetings.home import home_data
from bot.render import lead_def as render
from bot.render.blocks import escape
from bot.render.home import home_view
from bot.services import Services
from handlers.registry import Registrar

HELP = [
    ("/lead-def", "the funnel stages in order with owner and SLA, plus the glossary"),
    ("/lead-def MQL", "the full definition of a stage or term (key, name, alias or question)"),
    ("/lead-def history MQL", "every version of a definition: who changed what, and when"),
    ("/lead-def propose MQL", "propose a change; it applies when a marketing head and a sales head approve"),
    ("/lead-def stale", "definitions nobody has reviewed for a while"),
    ("/lead-def reviewed MQL [note]", "confirm a definition is still right (both heads, or one head with a note)"),
]


def register(registrar: Registrar, services: Services) -> None:
    services.on_startup("lead definitions", lambda: ld.ensure_seeded(services))
    registrar.command("/lead-def", help=HELP)(lead_def_command)
    for action_id, listener in {
        "lead_def_show": show_definition,
        "lead_def_list": show_list,
        "lead_def_history": show_history,
        "lead_def_share": share_definition,
        "lead_def_approve": approve_proposal,
        "lead_def_reject": open_rejection,
        "lead_def_review": open_review,
    }.items():
        registrar.action(action_id)(listener)
    for callback_id, submitted in {
        render.PROPOSE_VIEW: submit_proposal,
        render.REJECT_VIEW: submit_rejection,
        render.REVIEW_VIEW: submit_review,
    }.items():
        registrar.view(callback_id)(submitted)


# --- the command ---------------------------------------------------------------------------
def lead_def_command(ack, command, respond, client, context) -> None:
    ack()
    services: Services = context["services"]
    # Also when the app was built after start-up (`revalign ask`): one COUNT when already seeded.
    ld.ensure_seeded(services)
    text = (command.get("text") or "").strip()
    verb, _, rest = text.partition(" ")
    verb, rest = verb.casefold(), rest.strip()
    if not text:
        respond(**list_reply(services))
    elif verb == "history":
        if not rest:
            raise InvalidInput("Which term? For example `/lead-def history MQL`.")
        with services.db.session() as session:
            respond(**render.history_message(*ld.history(session, rest)))
    elif verb == "propose":
        open_proposal_modal(services, client, command, rest)
    elif verb == "stale" and not rest:
        respond(**stale_reply(services))
    elif verb == "reviewed":
        respond(text=review(services, command["user_id"], rest), response_type="ephemeral")
    elif verb == "help" and not rest:
        respond(**render.help_message())
    else:
        with services.db.session() as session:
            respond(**render.lookup_message(ld.lookup(session, text), ld.stage_count(session)))


def list_reply(services: Services) -> dict:
    days = services.settings.stale_after_days
    with services.db.session() as session:
        return render.list_message(ld.all_definitions(session), stale_definitions(session, services.now(), days), days)


def stale_reply(services: Services) -> dict:
    days = services.settings.stale_after_days
    with services.db.session() as session:
        return render.stale_message(stale_definitions(session, services.now(), days), days)


def review(services: Services, user_id: str, text: str) -> str:
    """`/lead-def reviewed Win rate still matches the CRM report`: the longest leading words naming a term."""
    if not text:
        raise InvalidInput("Which term? For example `/lead-def reviewed MQL` (add a note to confirm on your own).")
    words = text.split()
    with services.db.session() as session:
        index = ld.term_index(session)
        split = next((n for n in range(len(words), 0, -1) if index.exact(" ".join(words[:n]))), 1)
        result = ld.review(session, " ".join(words[:split]), user_id, " ".join(words[split:]), services.now())
    return render.review_reply(result)


def open_proposal_modal(services: Services, client, command: dict, text: str) -> None:
    with services.db.session() as session:
        definition = ld.start_proposal(session, command["user_id"], text)
    workflow.alignment_channel(services)
    client.views_open(
        trigger_id=command["trigger_id"], view=render.propose_modal(definition, command.get("channel_id", ""))
    )


# --- buttons ---------------------------------------------------------------------------------
def show_definition(ack, action, respond, context) -> None:
    ack()
    services: Services = context["services"]
    with services.db.session() as session:
        message = render.card_message(ld.get(session, action.get("value", "")), ld.stage_count(session))
    respond(**message, replace_original=False)


def show_list(ack, respond, context) -> None:
    ack()
    respond(**list_reply(context["services"]), replace_original=False)


def show_history(ack, action, respond, context) -> None:
    ack()
    services: Services = context["services"]
    with services.db.session() as session:
        message = render.history_message(*ld.history(session, action.get("value", "")))
    respond(**message, replace_original=False)


def share_definition(ack, action, body, respond, context) -> None:
    ack()
    services: Services = context["services"]
    with services.db.session() as session:
        definition = ld.get(session, action.get("value", ""))
    respond(**render.shared_card(definition, body["user"]["id"]))


def approve_proposal(ack, action, body, respond, client, context) -> None:
    ack()
    services: Services = context["services"]
    user_id = body["user"]["id"]
    try:
        result = workflow.approve(services, client, action.get("value", ""), user_id)
        text = result.refusal or render.approval_reply(result)
    except RevalignError as exc:
        if body.get("response_url"):
            raise
        text = str(exc)
    if body.get("response_url"):
        respond(text=text, response_type="ephemeral", replace_original=False)
        return
    # Pressed on App Home: no message to answer, so a DM, and the Home tab shows the new state.
    client.chat_postMessage(channel=user_id, text=text)
    with services.db.session() as session:
        data = home_data(session, services, user_id, services.now())
    client.views_publish(user_id=user_id, view=home_view(data))


def open_rejection(ack, action, body, client, context) -> None:
    ack()
    services: Services = context["services"]
    with services.db.session() as session:
        proposal = ld.check_can_reject(session, action.get("value", ""), body["user"]["id"])
    client.views_open(trigger_id=body["trigger_id"], view=render.reject_modal(proposal))


def open_review(ack, action, body, client, context) -> None:
    ack()
    services: Services = context["services"]
    with services.db.session() as session:
        roles.require_role(session, body["user"]["id"], ld.APPROVER_ROLES, "mark a definition reviewed")
        definition = ld.get(session, action.get("value", ""))
    client.views_open(trigger_id=body["trigger_id"], view=render.review_modal(definition))


# --- modal submissions ------------------------------------------------------------------------
def submit_proposal(ack, body, view: dict, client, context) -> None:
    services: Services = context["services"]
    user_id = body["user"]["id"]
    meta = _metadata(view)
    key = str(meta.get("key", ""))
    draft = ld.Draft(key, meta["base_version"], *read_proposal_form(view))
    try:
        with services.db.session() as session:
            ld.start_proposal(session, user_id, key)
            _content, problems = ld.check_proposal(session, draft)
    except RevalignError as exc:
        ack(response_action="errors", errors={"summary": str(exc)[:150]})
        return
    if problems:
        errors: dict[str, str] = {}
        for problem in problems:
            errors.setdefault(
                problem.field if problem.field in render.FORM_FIELDS else "summary", problem.message[:150]
            )
        ack(response_action="errors", errors=errors)
        return
    ack()
    proposal = workflow.propose(services, client, user_id, draft)
    if proposal is None:
        _tell(
            client,
            meta.get("channel"),
            user_id,
            "Sorry, I couldn't post your proposal to the alignment channel, so nothing was proposed. "
            "Please try again in a minute.",
        )
    else:
        _tell(
            client,
            meta.get("channel"),
            user_id,
            f"Your proposal for {escape(proposal.key)} is in <#{services.settings.alignment_channel}>. "
            "It applies once a marketing head and a sales head approve.",
        )


def submit_rejection(ack, body, view: dict, client, context) -> None:
    reason = (_value(view, "reason") or "").strip()
    if not reason:
        ack(response_action="errors", errors={"reason": "A rejection needs a reason."})
        return
    if len(reason) > ld.MAX_SUMMARY:
        ack(response_action="errors", errors={"reason": f"Keep the reason under {ld.MAX_SUMMARY} characters."})
        return
    try:
        with context["services"].db.session() as session:
            ld.check_can_reject(session, view.get("private_metadata", ""), body["user"]["id"])
    except RevalignError as exc:
        ack(response_action="errors", errors={"reason": str(exc)[:150]})
        return
    ack()
    workflow.reject(context["services"], client, view.get("private_metadata", ""), body["user"]["id"], reason)


def submit_review(ack, body, view: dict, client, context) -> None:
    services: Services = context["services"]
    user_id = body["user"]["id"]
    try:
        with services.db.session() as session:
            result = ld.review(
                session, view.get("private_metadata", ""), user_id, _value(view, "note") or "", services.now()
            )
    except RevalignError as exc:
        ack(response_action="errors", errors={"note": str(exc)[:150]})
        return
    ack()
    try:
        client.chat_postMessage(channel=user_id, text=render.review_reply(result))
    except workflow.SLACK_FAILURES:  # the review is stored; this is only the confirmation
        pass


# --- helpers -------------------------------------------------------------------------------------
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
    for name in render.FORM_FIELDS[:-1]:
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


def _tell(client, channel: str | None, user_id: str, text: str) -> None:
    if not channel:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user_id, text=text)
    except workflow.SLACK_FAILURES:  # a courtesy note; the proposal itself is what matters
        pass
