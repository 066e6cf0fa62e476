"""`/content`: the command's dispatcher, and marketing's side: gaps, learned phrasings and the content report.

The search itself (results, More results, Share, Helpful / Not helpful) is in `handlers/content_search.py`,
tagging in `handlers/content_tagging.py`, reps' content requests in `handlers/content_requests.py`.
Rendering is in `bot/render/content.py`; the domain in `bot/content/`.
"""

from __future__ import annotations

import logging

from bot.content import feedback
from bot.content import gaps as gaps_mod
from bot.content import report as report_mod
from bot.content import requests as content_requests
from bot.content.text import clean_slack_text
from bot.ids import parse_id
from bot.render import blocks as bk
from bot.render import content as render
from bot.roles import require_role
from bot.services import Services
from handlers import content_requests as requests_listeners
from handlers import content_search, content_tagging
from handlers.registry import Registrar

log = logging.getLogger("revalign.handlers.content")

HELP = render.HELP


def register(registrar: Registrar, services: Services) -> None:
    services.on_startup("content index", lambda: services.content.start())
    content_search.register(registrar, services)
    content_tagging.register(registrar, services)
    requests_listeners.register(registrar, services)
    registrar.command("/content", help=HELP)(content_command)
    registrar.action("content_gap_dismiss")(gap_dismiss)
    registrar.action("content_learned_remove")(learned_remove)


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
        content_tagging.open_tag_modal(services, client, user_id, command["trigger_id"], clean_slack_text(text[3:]))
    elif verb == "gaps" and len(words) == 1:
        respond(**gaps_reply(services, user_id))
    elif verb == "report" and len(words) <= 3:
        content_report(services, client, respond, user_id, " ".join(words[1:]))
    elif verb == "request":
        requests_listeners.open_request_modal(
            services,
            client,
            command["trigger_id"],
            clean_slack_text(text[len("request") :]),
            search_id=None,
            channel_id=command.get("channel_id", ""),
        )
    elif verb == "learned":
        with services.db.session() as session:
            items, learned = feedback.learned_for(session, user_id, text[len("learned") :])
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
        _note(respond, "I couldn't upload the report's chart just now; the numbers above are complete.")


# --- gaps and learned phrasings -------------------------------------------------------------------
def gap_dismiss(ack, body, action, respond, context) -> None:
    ack()
    services: Services = context["services"]
    with services.db.session() as session:
        objection = feedback.dismiss_gap(session, body["user"]["id"], parse_id(action.get("value")), services.now())
    _note(respond, f"Dismissed the gap “{bk.quote_user_text(objection, 150)}”. It comes back if reps keep asking.")


def learned_remove(ack, body, action, respond, context) -> None:
    ack()
    services: Services = context["services"]
    with services.db.session() as session:
        removed = feedback.remove_learned(
            session, services.content.keeper, body["user"]["id"], parse_id(action.get("value"))
        )
    _note(respond, f"Removed “{bk.quote_user_text(removed.phrasing, 150)}” from {bk.escape(removed.item_title)}.")


def _note(respond, text: str) -> None:
    """A private reply below the message, which stays as it was."""
    respond(response_type="ephemeral", replace_original=False, text=text)
