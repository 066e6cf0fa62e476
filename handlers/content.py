"""`/content`: the command's dispatcher, and marketing's side: tagging, gaps, learned phrasings,
the content report and reps' content requests.

The search itself (results, More results, Share, Helpful / Not helpful) is in `handlers/content_search.py`.
Rendering is in `bot/render/content.py`; gap closing, requests and the report are domain code in `bot/content/`.
"""

from __future__ import annotations

import json
import logging
from datetime import date

from bot.content import gap_closing
from bot.content import gaps as gaps_mod
from bot.content import report as report_mod
from bot.content import requests as content_requests
from bot.content.text import clean_slack_text
from bot.errors import InvalidInput, RevalignError
from bot.ids import parse_id, parse_optional_id
from bot.render import blocks as bk
from bot.render import content as render
from bot.roles import require_role
from bot.services import Services
from handlers import content_search
from handlers.registry import Registrar

log = logging.getLogger("revalign.handlers.content")

HELP = render.HELP


def register(registrar: Registrar, services: Services) -> None:
    services.on_startup("content index", lambda: services.content.start())
    content_search.register(registrar, services)
    registrar.command("/content", help=HELP)(content_command)
    registrar.action("content_gap_tag")(gap_tag)
    registrar.action("content_gap_dismiss")(gap_dismiss)
    registrar.action("content_learned_remove")(learned_remove)
    registrar.action("content_request")(request_button)
    registrar.options("content_items")(item_options)
    registrar.shortcut("tag_objection")(tag_shortcut)
    registrar.view("content_tag")(tag_submit)
    registrar.view("content_request")(request_submit)


# --- the command -------------------------------------------------------------------------------
def content_command(ack, command, respond, client, context) -> None:
    ack()
    services: Services = context["services"]
    text = (command.get("text") or "").strip()
    words = text.split()
    verb = words[0].lower() if words else "help"
    user_id = command["user_id"]
    if verb == "help" and len(words) <= 1:
        respond(**render.help_reply(services.content.vocabulary))
    elif verb == "tag":
        services.content.require_marketer(user_id, "tag content with objections")
        client.views_open(trigger_id=command["trigger_id"], view=render.tag_modal(clean_slack_text(text[3:])))
    elif verb == "gaps" and len(words) == 1:
        respond(**gaps_reply(services, user_id))
    elif verb == "report" and len(words) <= 3:
        content_report(services, client, respond, user_id, " ".join(words[1:]))
    elif verb == "request":
        need = clean_slack_text(text[len("request") :])
        client.views_open(
            trigger_id=command["trigger_id"],
            view=render.request_modal(
                need, services.content.vocabulary.stages, search_id=None, channel_id=command.get("channel_id", "")
            ),
        )
    elif verb == "learned":
        items, learned = services.content.learned_for(user_id, text[len("learned") :])
        respond(**render.learned_reply(items, learned))
    else:
        content_search.search(services, text, command, respond)


def gaps_reply(services: Services, user_id: str) -> dict:
    with services.db.session() as session:
        role = require_role(session, user_id, gaps_mod.READ_ROLES, "see content gaps")
        gaps = gaps_mod.top_gaps(session, 15)
        requests = content_requests.requests_by_gap(session, [g.id for g in gaps])
    return render.gaps_reply(gaps, requests, can_change=role in gaps_mod.CHANGE_ROLES)


def content_report(services: Services, client, respond, user_id: str, period_text: str) -> None:
    """Reply with the report, then DM its chart (the report itself must not wait for the upload)."""
    with services.db.session() as session:
        require_role(session, user_id, gaps_mod.READ_ROLES, "see the content report")
        report = report_mod.build_report(session, report_mod.parse_period(period_text, services.now()))
    respond(**render.report_reply(report))
    try:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.files_upload_v2(
            channel=channel,
            content=render.report_chart(report),
            filename="revalign-content-report.png",
            title=f"Content usage · {report.period.label}",
            alt_txt="Bar charts of content shown, shared and Not helpful per funnel stage, "
            "and the share of unused items per stage",
            initial_comment=f"Content usage by funnel stage, {report.period.label}.",
        )
    except Exception:
        log.warning("content report chart upload failed", exc_info=True)
        respond(
            response_type="ephemeral",
            replace_original=False,
            text="I couldn't upload the report's chart just now; the numbers above are complete.",
        )


# --- gaps, learned phrasings, the item select ----------------------------------------------------
def _int(value) -> int:
    return parse_id(value)  # range-checked before any query (bot/ids.py)


def gap_tag(ack, body, action, client, context) -> None:
    ack()
    services: Services = context["services"]
    services.content.require_marketer(body["user"]["id"], "tag content with objections")
    gap_id = _int(action.get("value"))
    objection = services.content.gap_objection(gap_id)
    client.views_open(trigger_id=body["trigger_id"], view=render.tag_modal(objection, gap_id))


def gap_dismiss(ack, body, action, respond, context) -> None:
    ack()
    objection = context["services"].content.dismiss_gap(body["user"]["id"], _int(action.get("value")))
    respond(
        response_type="ephemeral",
        replace_original=False,
        text=f"Dismissed the gap “{bk.quote_user_text(objection, 150)}”. It comes back if reps keep asking.",
    )


def learned_remove(ack, body, action, respond, context) -> None:
    ack()
    removed = context["services"].content.remove_learned(body["user"]["id"], _int(action.get("value")))
    respond(
        response_type="ephemeral",
        replace_original=False,
        text=f"Removed “{bk.quote_user_text(removed.phrasing, 150)}” from {bk.escape(removed.item_title)}.",
    )


def item_options(ack, body, context) -> None:
    try:
        items = context["services"].content.options_for(body.get("value") or "")
    except Exception:
        log.exception("content item options failed")
        items = []
    ack(options=[bk.option(i.title or i.url, str(i.id)) for i in items[: bk.MAX_OPTIONS]])


# --- tagging -----------------------------------------------------------------------------------------
def tag_shortcut(ack, shortcut, client, context) -> None:
    ack()
    context["services"].content.require_marketer(shortcut["user"]["id"], "tag content with objections")
    text = clean_slack_text((shortcut.get("message") or {}).get("text", ""))
    client.views_open(trigger_id=shortcut["trigger_id"], view=render.tag_modal(text[:300]))


def _metadata(view: dict) -> dict:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def tag_submit(ack, body, view, client, context) -> None:
    services: Services = context["services"]
    values = view.get("state", {}).get("values", {})
    objection = ((values.get("objection") or {}).get("objection") or {}).get("value") or ""
    selected = ((values.get("items") or {}).get("content_items") or {}).get("selected_options") or []
    gap_id = _metadata(view).get("gap_id")
    try:
        gap_id = parse_optional_id(gap_id)
        item_ids = [parse_id(o["value"]) for o in selected]
    except (KeyError, TypeError, InvalidInput):
        ack(response_action="errors", errors={"items": "Pick the items again from the list."})
        return
    if not item_ids:
        ack(response_action="errors", errors={"items": "Pick at least one content item."})
        return
    user_id = body["user"]["id"]
    try:
        tagged = services.content.tag(user_id=user_id, objection=objection, item_ids=item_ids, gap_id=gap_id)
    except RevalignError as exc:  # PermissionDenied included: shown on the objection field
        ack(response_action="errors", errors={"objection": bk.truncate(str(exc), 150)})
        return
    ack(response_action="update", view=render.tagged_view(objection, tagged))
    if gap_id is not None and tagged:
        gap_closing.record_tagged_answer(services, gap_id, tagged[0].id)
    after_change(services, client, user_id)


def after_change(services: Services, client, user_id: str) -> None:
    """Close the gaps the change answered, tell their requesters, and tell the marketer what closed."""
    outcome = gap_closing.after_content_change(services, client, by=user_id)
    note = render.closed_gaps_text(outcome.closed)
    if note:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.chat_postMessage(channel=channel, text=note, unfurl_links=False)


# --- content requests --------------------------------------------------------------------------------
def request_button(ack, body, action, client, context) -> None:
    """*Request content* on a "No good match" reply: the value is the search's id."""
    ack()
    services: Services = context["services"]
    search_id = _int(action.get("value"))
    query = content_requests.search_query(services, search_id, body["user"]["id"])
    channel_id = (body.get("channel") or {}).get("id", "")
    client.views_open(
        trigger_id=body["trigger_id"],
        view=render.request_modal(
            query, services.content.vocabulary.stages, search_id=search_id, channel_id=channel_id
        ),
    )


def _field(values: dict, block: str, action: str) -> dict:
    return (values.get(block) or {}).get(action) or {}


def request_submit(ack, body, view, client, context) -> None:
    services: Services = context["services"]
    values = view.get("state", {}).get("values", {})
    need = _field(values, "need", "need").get("value") or ""
    prospect = _field(values, "prospect", "prospect").get("value") or ""
    stage = ((_field(values, "stage", "stage").get("selected_option")) or {}).get("value") or ""
    due_text = _field(values, "due", "due").get("selected_date")
    metadata = _metadata(view)
    try:
        due = date.fromisoformat(due_text) if due_text else None
    except ValueError:
        ack(response_action="errors", errors={"due": "Pick the date again."})
        return
    if stage and stage not in services.content.vocabulary.stages:
        ack(response_action="errors", errors={"stage": "Pick a stage from the list."})
        return
    user_id = body["user"]["id"]
    search_id = metadata.get("search_id") if isinstance(metadata.get("search_id"), int) else None
    channel_id = str(metadata.get("channel_id") or "")[:32]
    try:
        need, prospect = content_requests.validate(
            clean_slack_text(need), clean_slack_text(prospect), due, services.now().date()
        )
        if search_id is None:  # `/content request …`: the need is searched (and becomes a gap) like any objection
            search_id = services.content.search(need, user_id=user_id, channel_id=channel_id).search_id
        filed = content_requests.file(
            services,
            user_id=user_id,
            channel_id=channel_id,
            search_id=search_id,
            need=need,
            prospect=prospect,
            stage=stage,
            due=due,
        )
    except RevalignError as exc:
        field = "due" if "due date" in str(exc) else "prospect" if "prospect" in str(exc) else "need"
        ack(response_action="errors", errors={field: bk.truncate(str(exc), 150)})
        return
    channel = services.settings.marketing_channel
    ack(response_action="update", view=render.request_sent_view(filed, channel))
    if channel:
        client.chat_postMessage(channel=channel, **render.request_post(filed), unfurl_links=False)
