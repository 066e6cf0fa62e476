"""`/content <objection>`: the search reply, and what a rep does with it (More results, Share,
Helpful, Not helpful). Rendering is in bot/render/content_search.py; the domain in bot/content/."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.content import feedback
from bot.content import search as search_mod
from bot.content.search import SearchOutcome
from bot.errors import InvalidInput
from bot.render.content_search import feedback_text, results_reply, share_message
from bot.services import Services
from handlers.registry import Registrar

MAX_ID = 2**63 - 1  # ids beyond a database integer are out of date, never a query


def register(registrar: Registrar, services: Services) -> None:
    registrar.action("content_more")(more_results)
    registrar.action("content_share")(share)
    registrar.action("content_helpful")(helpful)
    registrar.action("content_not_helpful")(not_helpful)


def run(session: Session, services: Services, text: str, user_id: str, channel_id: str) -> SearchOutcome:
    """A rep's search, recorded in the caller's transaction: the first page of results."""
    content = services.content
    return search_mod.search(
        session,
        content.index,
        content.vocabulary,
        text,
        user_id=user_id,
        channel_id=channel_id,
        k=services.settings.content_results,
        now=services.now(),
    )


def search(services: Services, text: str, command: dict, respond) -> None:
    """The default `/content` verb (called by handlers/content.py): search for what the prospect said."""
    with services.db.session() as session:
        outcome = run(session, services, text, command["user_id"], command.get("channel_id", ""))
    respond(**results_reply(outcome))


def more_results(ack, body, action, respond, context) -> None:
    ack()
    services: Services = context["services"]
    with services.db.session() as session:
        outcome = search_mod.more_results(
            session,
            services.content.index,
            user_id=body["user"]["id"],
            search_id=_id(action.get("value", "")),
            page=services.settings.content_results,
        )
    respond(replace_original=True, **results_reply(outcome))


def share(ack, body, action, respond, client, context) -> None:
    ack()
    search_id, item_id = _parse_value(action.get("value", ""))
    user_id = body["user"]["id"]
    channel_id = _channel_id(body)
    services: Services = context["services"]
    with services.db.session() as session:
        item = feedback.record_share(
            session, user_id=user_id, channel_id=channel_id, search_id=search_id, item_id=item_id, now=services.now()
        )
    message = share_message(item, user_id)
    thread_ts = _thread_ts(body)
    if thread_ts and channel_id:  # searched in a thread: share into that thread
        client.chat_postMessage(channel=channel_id, thread_ts=thread_ts, **message)
    else:
        respond(response_type="in_channel", replace_original=False, **message)


def helpful(ack, body, action, respond, context) -> None:
    _feedback(ack, body, action, respond, context, True)


def not_helpful(ack, body, action, respond, context) -> None:
    _feedback(ack, body, action, respond, context, False)


def _feedback(ack, body, action, respond, context, is_helpful: bool) -> None:
    ack()
    search_id, item_id = _parse_value(action.get("value", ""))
    services: Services = context["services"]
    with services.db.session() as session:
        item, learned = feedback.record_feedback(
            session,
            services.content.keeper,
            user_id=body["user"]["id"],
            channel_id=_channel_id(body),
            search_id=search_id,
            item_id=item_id,
            helpful=is_helpful,
            now=services.now(),
        )
    respond(response_type="ephemeral", replace_original=False, text=feedback_text(item, is_helpful, learned))


def _channel_id(body: dict) -> str:
    return (body.get("channel") or {}).get("id", "") or (body.get("container") or {}).get("channel_id", "")


def _thread_ts(body: dict) -> str | None:
    """The thread the result message is in: Slack puts it in the container (and the message)."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    ts = container.get("thread_ts") or message.get("thread_ts")
    return str(ts) if ts else None


def _id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput("That button is out of date; run /content again.") from None
    if not 0 < value <= MAX_ID:
        raise InvalidInput("That button is out of date; run /content again.")
    return value


def _parse_value(value: str) -> tuple[int, int]:
    search, _, item = (value or "").partition(":")
    return _id(search), _id(item)
