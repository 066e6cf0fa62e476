"""Tagging content with the objections it answers: the tag modal (from `/content tag`, a gap's
*Tag content* button or the message shortcut), its item select, and its submission.
Rendering is in bot/render/content.py; the domain in bot/content/feedback.py and gap_closing.py."""

from __future__ import annotations

import json
import logging

from bot.content import feedback, gap_closing
from bot.content import gaps as gaps_mod
from bot.content.catalog import options_for
from bot.content.text import clean_slack_text
from bot.errors import InvalidInput, RevalignError
from bot.ids import parse_id, parse_optional_id
from bot.render import blocks as bk
from bot.render import content as render
from bot.roles import require_role
from bot.services import Services
from handlers.registry import Registrar

log = logging.getLogger("revalign.handlers.content")

TAG_ACTION = "tag content with objections"


def register(registrar: Registrar, services: Services) -> None:
    registrar.action("content_gap_tag")(gap_tag)
    registrar.options("content_items")(item_options)
    registrar.shortcut("tag_objection")(tag_shortcut)
    registrar.view("content_tag")(tag_submit)


def open_tag_modal(services: Services, client, user_id: str, trigger_id: str, objection: str) -> None:
    """The tag modal with the objection filled in, for marketers only (`/content tag …`, the shortcut)."""
    with services.db.session() as session:
        require_role(session, user_id, feedback.MARKETING_ROLES, TAG_ACTION)
    client.views_open(trigger_id=trigger_id, view=render.tag_modal(objection))


def gap_tag(ack, body, action, client, context) -> None:
    ack()
    services: Services = context["services"]
    with services.db.session() as session:
        require_role(session, body["user"]["id"], feedback.MARKETING_ROLES, TAG_ACTION)
        gap_id = parse_id(action.get("value"))
        objection = gaps_mod.get_gap(session, gap_id).objection
    client.views_open(trigger_id=body["trigger_id"], view=render.tag_modal(objection, gap_id))


def tag_shortcut(ack, shortcut, client, context) -> None:
    ack()
    text = clean_slack_text((shortcut.get("message") or {}).get("text", ""))
    open_tag_modal(context["services"], client, shortcut["user"]["id"], shortcut["trigger_id"], text[:300])


def item_options(ack, body, context) -> None:
    services: Services = context["services"]
    try:
        with services.db.session() as session:
            items = options_for(session, services.content.index, body.get("value") or "")
    except Exception:
        log.exception("content item options failed")
        items = []
    ack(options=[bk.option(i.title or i.url, str(i.id)) for i in items[: bk.MAX_OPTIONS]])


def view_metadata(view: dict) -> dict:
    """A modal's private_metadata as a dict ({} when it is not one)."""
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
    gap_id = view_metadata(view).get("gap_id")
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
        with services.db.session() as session:
            tagged = feedback.tag(
                session,
                services.content.keeper,
                user_id=user_id,
                objection=objection,
                item_ids=item_ids,
                gap_id=gap_id,
                now=services.now(),
            )
            if gap_id is not None and tagged:  # the same transaction: tagged and answered, or neither
                gap_closing.record_tagged_answer(session, gap_id, tagged[0].id)
    except RevalignError as exc:  # PermissionDenied included: shown on the objection field
        ack(response_action="errors", errors={"objection": bk.truncate(str(exc), 150)})
        return
    ack(response_action="update", view=render.tagged_view(objection, tagged))
    after_change(services, client, user_id)


def after_change(services: Services, client, user_id: str) -> None:
    """Close the gaps the change answered, tell their requesters, and tell the marketer what closed."""
    outcome = gap_closing.after_content_change(services, client, by=user_id)
    note = render.closed_gaps_text(outcome.closed)
    if note:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.chat_postMessage(channel=channel, text=note, unfurl_links=False)
