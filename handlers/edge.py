"""The edge between Slack and the listeners: decode once on the way in, answer what nobody handles.

`decode_slack_text` is a Bolt global middleware: it rewrites, in the request body
every listener reads, the text fields Slack entity-encodes (slash-command `text`,
a message shortcut's `message.text`) into plain text, and strips NUL and other
control characters from every field a person typed (also plain_text_input values,
which Slack does not encode), identically for SQLite and PostgreSQL.

`register_fallbacks` adds catch-all listeners, registered after every feature, so
a button, modal or shortcut from an older version of the app gets a 200 ack and
a polite "out of date" reply instead of Bolt's 404 (which Slack shows as an error).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App

from bot.render import blocks as bk
from bot.slack_text import from_slack, strip_controls
from handlers.registry import guarded

log = logging.getLogger("revalign.handlers")

OUT_OF_DATE = (
    "This button is out of date: it belongs to an older version of revalign. Run the command again to get a fresh one."
)
ANY = re.compile(".*")


def decode_slack_text(body: dict, next) -> Any:  # noqa: A002 - Bolt passes the chain as `next`
    if isinstance(body, dict):
        _decode_in_place(body)
    return next()


def _decode_in_place(body: dict[str, Any]) -> None:
    if isinstance(body.get("command"), str) and isinstance(body.get("text"), str):
        body["text"] = from_slack(body["text"])
        return
    kind = body.get("type")
    if kind == "message_action":
        message = body.get("message")
        if isinstance(message, dict) and isinstance(message.get("text"), str):
            message["text"] = from_slack(message["text"])
    elif kind == "block_suggestion":
        # The typeahead's query is sent as typed, not entity-encoded.
        if isinstance(body.get("value"), str):
            body["value"] = strip_controls(body["value"])
    elif kind in ("view_submission", "block_actions"):
        view = body.get("view")
        if isinstance(view, dict):
            _strip_state(view.get("state"))
        _strip_state(body.get("state"))
        for action in body.get("actions") or []:
            if (
                isinstance(action, dict)
                and action.get("type") == "plain_text_input"
                and isinstance(action.get("value"), str)
            ):
                action["value"] = strip_controls(action["value"])


def _strip_state(state: Any) -> None:
    """plain_text_input values arrive as typed (not encoded); only control characters go."""
    if not isinstance(state, dict):
        return
    for block in (state.get("values") or {}).values():
        if not isinstance(block, dict):
            continue
        for element in block.values():
            if isinstance(element, dict) and isinstance(element.get("value"), str):
                element["value"] = strip_controls(element["value"])


# --- requests no listener claims -------------------------------------------------------
def out_of_date_action(ack, body, respond, client) -> None:
    ack()
    action_ids = [a.get("action_id") for a in body.get("actions") or [] if isinstance(a, dict)]
    log.info("out-of-date action %s", action_ids)
    if body.get("response_url"):
        respond(text=OUT_OF_DATE, response_type="ephemeral", replace_original=False)
    elif (body.get("channel") or {}).get("id"):
        client.chat_postEphemeral(channel=body["channel"]["id"], user=body["user"]["id"], text=OUT_OF_DATE)


def out_of_date_view(ack, view) -> None:
    log.info("out-of-date modal %s", view.get("callback_id"))
    ack(
        response_action="update",
        view=bk.modal(
            "Out of date",
            [
                bk.section(
                    "This form belongs to an older version of revalign, so nothing was saved. "
                    "Please open it again from the command."
                )
            ],
            callback_id="revalign_out_of_date",
            submit=None,
            close="Close",
        ),
    )


def out_of_date_shortcut(ack, shortcut, respond) -> None:
    ack()
    log.info("out-of-date shortcut %s", shortcut.get("callback_id"))
    if shortcut.get("response_url"):
        respond(text="This shortcut is no longer part of revalign.", response_type="ephemeral")


def out_of_date_options(ack) -> None:
    ack(options=[])


def unknown_command(ack, command, respond) -> None:
    ack()
    name = bk.escape(str(command.get("command") or "that command")[:40])
    respond(text=f"revalign does not handle {name}.", response_type="ephemeral")


def register_fallbacks(app: App) -> None:
    """Catch-alls, registered last: Bolt runs the first listener that matches."""
    app.action(ANY)(guarded(out_of_date_action))
    app.view(ANY)(guarded(out_of_date_view))
    app.shortcut(ANY)(guarded(out_of_date_shortcut))
    app.options(ANY)(guarded(out_of_date_options))
    app.command(ANY)(guarded(unknown_command))
