"""Requests signed exactly as Slack signs them, sent to the app over real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.slack_payloads import API_APP_ID, TEAM_DOMAIN, TEAM_ID, slash_command_form
from bot.slack_text import to_slack


class SlackMarkup(str):
    """Text already in Slack's wire format (e.g. `<@U123|maria>` for a real mention): sent as it is.

    Anything else a test passes as typed text is entity-encoded the way Slack does,
    so no test can pass on raw text. Join pieces with `+`: `SlackMarkup("<@U1|a>") + " done"`
    keeps the mention and encodes the rest.
    """

    def __add__(self, other: str) -> "SlackMarkup":
        return SlackMarkup(str(self) + (other if isinstance(other, SlackMarkup) else to_slack(other)))

    def __radd__(self, other: str) -> "SlackMarkup":
        return SlackMarkup(to_slack(other) + str(self))


def wire_text(text: str) -> str:
    """What Slack puts on the wire for text a person typed (or for explicit `SlackMarkup`)."""
    return str(text) if isinstance(text, SlackMarkup) else to_slack(text)


SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class HttpResult:
    status: int
    body: bytes

    def json(self):
        return json.loads(self.body) if self.body else None


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackSender:
    """Sends Slack-signed requests to the app under test."""

    def __init__(self, app_url: str, slack, secret: str = SIGNING_SECRET) -> None:
        self.app_url = app_url.rstrip("/")
        self.slack = slack
        self.secret = secret

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        path: str = "/slack/events",
        extra_headers: dict | None = None,
    ) -> HttpResult:
        timestamp = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature if signature is not None else sign(body, timestamp, self.secret),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        headers.update(extra_headers or {})
        request = urllib.request.Request(self.app_url + path, data=body.encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                result = HttpResult(response.status, response.read())
                content_type = response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            return HttpResult(exc.code, exc.read())
        # What the app acked with (a modal update, options) is checked like any payload it sends.
        check_ack = getattr(self.slack, "check_ack", None)
        if check_ack is not None and result.body and content_type == "application/json":
            try:
                check_ack(json.loads(result.body))
            except json.JSONDecodeError:
                pass
        return result

    def command(
        self, command: str, text: str = "", *, user_id: str = "U0REP0001", channel_id: str = "C0SALESMKT", **kwargs
    ) -> HttpResult:
        self._note_typed(text)
        form = slash_command_form(
            command,
            wire_text(text),
            user_id=user_id,
            channel_id=channel_id,
            response_url=self.slack.response_url(),
            encoded=True,
            **kwargs,
        )
        return self.post(urlencode(form), "application/x-www-form-urlencoded")

    def _note_typed(self, text: str) -> None:
        note = getattr(self.slack, "note_user_text", None)
        if note is not None and not isinstance(text, SlackMarkup):
            note(text)

    def interactive(self, payload: dict) -> HttpResult:
        """Interactivity: Slack posts `payload=<json>` form-encoded."""
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def event(self, event: dict, *, event_id: str = "Ev0001") -> HttpResult:
        envelope = {
            "token": "verification-token-deprecated",
            "team_id": TEAM_ID,
            "api_app_id": API_APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": TEAM_ID, "user_id": "U0REVALIGN", "is_bot": True, "is_enterprise_install": False}
            ],
        }
        return self.post(json.dumps(envelope), "application/json")

    # --- interactivity payloads shaped like Slack's -------------------------------
    def block_action(
        self,
        action_id: str,
        value: str = "",
        *,
        user_id: str = "U0REP0001",
        channel_id: str = "C0SALESMKT",
        message: dict | None = None,
        container: dict | None = None,
        trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
        response_url: str | None = None,
        thread_ts: str | None = None,
        selected_option: dict | None = None,
        view: dict | None = None,
    ) -> HttpResult:
        action = {
            "type": "button",
            "action_id": action_id,
            "block_id": "b1",
            "value": value,
            "action_ts": f"{time.time():.6f}",
        }
        if selected_option is not None:
            action = {
                "type": "static_select",
                "action_id": action_id,
                "block_id": "b1",
                "selected_option": selected_option,
                "action_ts": f"{time.time():.6f}",
            }
        payload = {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": API_APP_ID,
            "token": "verification-token-deprecated",
            "container": container
            or {"type": "message", "message_ts": "1700000000.000100", "channel_id": channel_id, "is_ephemeral": True},
            "trigger_id": trigger_id,
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": "sales-marketing"},
            "message": message
            or {
                "type": "message",
                "text": "",
                "ts": "1700000000.000100",
                **({"thread_ts": thread_ts} if thread_ts else {}),
            },
            "state": {"values": {}},
            "response_url": response_url or self.slack.response_url(),
            "actions": [action],
        }
        if view is not None:
            payload["view"] = view
            payload.pop("channel")
            payload["container"] = {"type": "view", "view_id": view.get("id", "V0000")}
        return self.interactive(payload)

    def view_submission(
        self,
        callback_id: str,
        values: dict,
        *,
        user_id: str = "U0REP0001",
        private_metadata: str = "",
        view_id: str = "V0SUBMIT1",
    ) -> HttpResult:
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": API_APP_ID,
            "token": "verification-token-deprecated",
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "view": {
                "id": view_id,
                "team_id": TEAM_ID,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "blocks": [],
                "state": {"values": values},
                "hash": "156772938.1827394",
                "app_id": API_APP_ID,
                "bot_id": "B0REVALIGN",
            },
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.interactive(payload)

    def message_shortcut(
        self, callback_id: str, message_text: str, *, user_id: str = "U0REP0001", channel_id: str = "C0SALESMKT"
    ) -> HttpResult:
        self._note_typed(message_text)
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "message_ts": "1700000000.000200",
            "action_ts": f"{time.time():.6f}",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": {"id": user_id, "name": user_id.lower()},
            "channel": {"id": channel_id, "name": "sales-marketing"},
            # Message text is entity-encoded like slash-command text.
            "message": {
                "type": "message",
                "user": "U0REP0002",
                "ts": "1700000000.000200",
                "text": wire_text(message_text),
            },
            "response_url": self.slack.response_url(),
            "token": "verification-token-deprecated",
            "api_app_id": API_APP_ID,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.interactive(payload)


def plain_value(value: str) -> dict:
    """A plain_text_input's state value as Slack reports it."""
    return {"type": "plain_text_input", "value": value}
