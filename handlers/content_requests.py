"""Reps' content requests: *Request content* on a "No good match" reply or `/content request …`,
the request modal and its submission (posted to marketing's channel).
Rendering is in bot/render/content.py; the domain in bot/content/requests.py."""

from __future__ import annotations

from datetime import date

from bot.content import requests as content_requests
from bot.content.text import clean_slack_text
from bot.errors import RevalignError
from bot.ids import parse_id
from bot.render import blocks as bk
from bot.render import content as render
from bot.services import Services
from handlers import content_search
from handlers.content_tagging import view_metadata
from handlers.registry import Registrar


def register(registrar: Registrar, services: Services) -> None:
    registrar.action("content_request")(request_button)
    registrar.view("content_request")(request_submit)


def open_request_modal(
    services: Services, client, trigger_id: str, need: str, *, search_id: int | None, channel_id: str
) -> None:
    modal = render.request_modal(need, services.content.vocabulary.stages, search_id=search_id, channel_id=channel_id)
    client.views_open(trigger_id=trigger_id, view=modal)


def request_button(ack, body, action, client, context) -> None:
    """*Request content* on a "No good match" reply: the value is the search's id."""
    ack()
    services: Services = context["services"]
    search_id = parse_id(action.get("value"))
    with services.db.session() as session:
        query = content_requests.search_query(session, search_id)
    channel_id = (body.get("channel") or {}).get("id", "")
    open_request_modal(services, client, body["trigger_id"], query, search_id=search_id, channel_id=channel_id)


def _field(values: dict, block: str, action: str) -> dict:
    return (values.get(block) or {}).get(action) or {}


def request_submit(ack, body, view, client, context) -> None:
    services: Services = context["services"]
    values = view.get("state", {}).get("values", {})
    due_text = _field(values, "due", "due").get("selected_date")
    try:
        due = date.fromisoformat(due_text) if due_text else None
    except ValueError:
        ack(response_action="errors", errors={"due": "Pick the date again."})
        return
    form = content_requests.RequestForm(
        need=clean_slack_text(_field(values, "need", "need").get("value") or ""),
        prospect=clean_slack_text(_field(values, "prospect", "prospect").get("value") or ""),
        stage=((_field(values, "stage", "stage").get("selected_option")) or {}).get("value") or "",
        due=due,
    )
    if form.stage and form.stage not in services.content.vocabulary.stages:
        ack(response_action="errors", errors={"stage": "Pick a stage from the list."})
        return
    user_id = body["user"]["id"]
    metadata = view_metadata(view)
    search_id = metadata.get("search_id") if isinstance(metadata.get("search_id"), int) else None
    channel_id = str(metadata.get("channel_id") or "")[:32]
    try:
        form = content_requests.validate(form, services.now().date())
        # One transaction: a `/content request …` need is searched (and becomes a gap) like any
        # objection, and the request is filed on that search, or neither is.
        with services.db.session() as session:
            if search_id is None:
                search_id = content_search.run(session, services, form.need, user_id, channel_id).search_id
            filed = content_requests.file_request(
                session, form, user_id=user_id, channel_id=channel_id, search_id=search_id, now=services.now()
            )
    except RevalignError as exc:
        field = "due" if "due date" in str(exc) else "prospect" if "prospect" in str(exc) else "need"
        ack(response_action="errors", errors={field: bk.truncate(str(exc), 150)})
        return
    channel = services.settings.marketing_channel
    ack(response_action="update", view=render.request_sent_view(filed, channel))
    if channel:
        client.chat_postMessage(channel=channel, **render.request_post(filed), unfurl_links=False)
