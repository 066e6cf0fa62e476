"""Posting a delivery to Slack in parts, so that an unknown outcome is checked, never repeated.

A delivery is one or more *parts* (the agenda: its message; the digest: its message, then its
chart). Each part that Slack confirms is recorded on the delivery row at once, so a retry
skips it. When a call's outcome is unknown — the answer never came (a timeout, a dropped
connection) or the process died mid-send — the part may well be in Slack: before it is sent
again, the channel's history is read (`conversations.history`: `channels:history` for
channels, `im:history` for the heads' DMs) and the part is looked for by the delivery key
in its message metadata (a message) or by its file name after the delivery's message (the
chart). Found → recorded as sent; the history answered and it is not there → sent; the
history cannot be read → `CannotTell`.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.client import HTTPException
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

METADATA_EVENT = "revalign_delivery"
HISTORY_PAGES = 5
# Slack's answers that no retry will change: the check needs a scope or a membership.
PERMANENT_HISTORY_ERRORS = {
    "missing_scope",
    "not_in_channel",
    "channel_not_found",
    "not_authed",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "no_permission",
}


@dataclass
class Part:
    """One Slack call of a delivery: `send` returns its reference (a message ts or a file ID);
    `find` recognises it in a history message (given the parts already recorded)."""

    name: str
    send: Callable[[WebClient, str, dict[str, str]], str]
    find: Callable[[dict[str, Any], dict[str, str]], str | None]


class CannotTell(Exception):
    """The channel's history could not be read, so whether a part arrived is unknown."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def metadata(key: str, part: str) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT, "event_payload": {"key": key, "part": part}}


def find_message(key: str, part: str) -> Callable[[dict[str, Any], dict[str, str]], str | None]:
    """A message carrying our metadata for `key` and `part` (agendas posted before parts existed
    carry only the key: that is their message)."""

    def find(message: dict[str, Any], _done: dict[str, str]) -> str | None:
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") == METADATA_EVENT and payload.get("key") == key and payload.get("part", part) == part:
            return str(message.get("ts"))
        return None

    return find


def find_file(filename: str, after_part: str) -> Callable[[dict[str, Any], dict[str, str]], str | None]:
    """A file share named `filename` posted after the part `after_part` (files carry no metadata;
    the name and the order pin it to this delivery)."""

    def find(message: dict[str, Any], done: dict[str, str]) -> str | None:
        after = done.get(after_part)
        if after is not None and float(message.get("ts") or 0) <= float(after):
            return None
        for file in message.get("files") or []:
            if file.get("name") == filename:
                return str(file.get("id"))
        return None

    return find


def find_posted(
    client: WebClient, channel: str, oldest: datetime, parts: list[Part], done: dict[str, str]
) -> dict[str, str]:
    """Which of `parts` are already in `channel` (posted after `oldest`): {name: reference}."""
    found: dict[str, str] = {}
    cursor = None
    for _ in range(HISTORY_PAGES):
        try:
            response = client.conversations_history(
                channel=channel, oldest=f"{oldest.timestamp():.6f}", limit=200, include_all_metadata=True, cursor=cursor
            )
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            raise CannotTell(describe_error(exc), permanent=error in PERMANENT_HISTORY_ERRORS) from None
        except Exception as exc:  # noqa: BLE001 - network trouble: try again later
            raise CannotTell(describe_error(exc), permanent=False) from None
        # Oldest first, so a part found earlier counts as "done" for the parts after it.
        for message in sorted(response.get("messages") or [], key=lambda m: float(m.get("ts") or 0)):
            for part in parts:
                if part.name not in found:
                    ref = part.find(message, {**done, **found})
                    if ref is not None:
                        found[part.name] = ref
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return found
    raise CannotTell("the channel's history since the delivery was due is too long to check", permanent=True)


def outcome_unknown(exc: BaseException) -> bool:
    """True when Slack may have acted although we got no answer (so a retry must check first).

    Slack answered (any SlackApiError, 429/5xx included) or the request never left (connection
    refused, unknown host): the outcome is known. A timeout or a connection dropped after
    sending: unknown.
    """
    if isinstance(exc, SlackApiError):
        return False
    if isinstance(exc, URLError):
        reason = exc.reason
        return not isinstance(reason, (ConnectionRefusedError, socket.gaierror))
    return isinstance(exc, (TimeoutError, socket.timeout, ConnectionError, HTTPException, OSError))


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError) and exc.response is not None:
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        return f"Slack answered {exc.response.status_code}: {error or 'error'}"[:500]
    if isinstance(exc, (TimeoutError, socket.timeout)) or (
        isinstance(exc, URLError) and isinstance(exc.reason, (TimeoutError, socket.timeout))
    ):
        return "no answer from Slack within the client timeout (outcome unknown)"
    return f"{exc.__class__.__name__}: {exc}"[:500]


# What a WebClient keeps of its constructor's arguments (same names), for a copy with other retries.
_CLIENT_SETTINGS = ("token", "base_url", "timeout", "ssl", "proxy", "headers")


def delivery_client(client: WebClient) -> WebClient:
    """The same client without retries on dropped connections: a post whose connection dropped
    may have arrived, so it is checked (above) rather than blindly re-sent by the HTTP layer.
    429 and 5xx retries stay: Slack answered, so it did not act."""
    handlers = [h for h in client.retry_handlers if not isinstance(h, ConnectionErrorRetryHandler)]
    if len(handlers) == len(client.retry_handlers):
        return client
    return WebClient(**{name: getattr(client, name) for name in _CLIENT_SETTINGS}, retry_handlers=handlers)


def open_channel(client: WebClient, recipient: str) -> str:
    """The channel to post in: a user's DM with the bot (conversations.open is idempotent), or the channel."""
    if recipient.startswith(("U", "W")):
        return str(client.conversations_open(users=recipient)["channel"]["id"])
    return recipient
