"""The real app, served over HTTP on 127.0.0.1, driven by Slack-signed requests and answering
to the built-in local Slack: what `revalign ask`, `revalign demo` and `revalign playground` run.

Nothing here is on the request path: the app cannot tell these requests from Slack's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from bot.errors import InvalidInput
from bot.render import blocks as bk
from bot.services import Services
from bot.slack_payloads import (
    API_APP_ID,
    TEAM_ID,
    encode_form,
    slash_command_form,
)
from revalign_dev.local_slack import LocalSlack, RecordedCall
from revalign_dev.reply import Reply

if TYPE_CHECKING:
    from bot.server import HttpServer
    from handlers.registry import Registrar

LOCAL_BOT_TOKEN = "xoxb-local-revalign"
LISTENER_TIMEOUT_SECONDS = 60.0


def local_settings_overrides(slack: LocalSlack) -> dict[str, str]:
    """Settings that point the app's Web API client at the local Slack, with a fresh signing secret."""
    return {
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": LOCAL_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
    }


@dataclass
class HttpReply:
    status: int
    body: bytes

    def json(self):
        try:
            return json.loads(self.body) if self.body else None
        except json.JSONDecodeError:
            return None


class TrackingExecutor(ThreadPoolExecutor):
    """Bolt's listener executor, counting work in flight, so a caller can wait until a
    command (and everything it set off) has finished instead of guessing with sleeps."""

    def __init__(self, max_workers: int = 8) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="listener")
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self._idle:
            self._pending += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = LISTENER_TIMEOUT_SECONDS) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)


def sign(secret: str, body: str, timestamp: int) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def new_trigger_id() -> str:
    return f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"


class LocalWorkspace:
    """The Bolt app as `serve` runs it (signed HTTP on POST /slack/events), with its Web API
    calls answered by `slack`. `services` must have been built with `local_settings_overrides(slack)`."""

    def __init__(self, services: Services, slack: LocalSlack) -> None:
        self.services = services
        self.slack = slack
        self.executor = TrackingExecutor()
        self.registrar: Registrar | None = None
        self._server: HttpServer | None = None

    def start(self) -> LocalWorkspace:
        from bot.app import create_app
        from bot.server import HttpServer, create_http_app

        bolt_app, self.registrar = create_app(self.services, listener_executor=self.executor)
        self._server = HttpServer(create_http_app(self.services, bolt_app), host="127.0.0.1", port=0).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self.executor.shutdown(wait=True)

    @property
    def app_url(self) -> str:
        assert self._server is not None, "start() first"
        return self._server.url

    @property
    def commands(self) -> set[str]:
        return set(self.registrar.commands) if self.registrar else set()

    # --- requests, signed as Slack signs them --------------------------------------------------
    def post(self, body: str, content_type: str) -> HttpReply:
        timestamp = int(time.time())
        secret = self.services.settings.secret("SLACK_SIGNING_SECRET")
        request = urllib.request.Request(self.app_url + "/slack/events", data=body.encode(), method="POST", headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign(secret, body, timestamp),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        })
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return HttpReply(response.status, response.read())
        except urllib.error.HTTPError as exc:
            return HttpReply(exc.code, exc.read())

    def command(self, command: str, text: str, *, user_id: str, channel_id: str, response_url: str,
                trigger_id: str | None = None, user_name: str | None = None,
                channel_name: str = "sales-marketing") -> HttpReply:
        """`text` must already be encoded as Slack sends it (see `revalign_dev.slack_text.encode_command_text`)."""
        form = slash_command_form(command, text, user_id=user_id, channel_id=channel_id, response_url=response_url,
                                  trigger_id=trigger_id, user_name=user_name, channel_name=channel_name,
                                  encoded=True)
        return self.post(encode_form(form), "application/x-www-form-urlencoded")

    def interactive(self, payload: dict) -> HttpReply:
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def event(self, event: dict) -> HttpReply:
        envelope = {
            "token": "verification-token-deprecated", "team_id": TEAM_ID, "api_app_id": API_APP_ID,
            "event": event, "type": "event_callback", "event_id": "Ev" + secrets.token_hex(6).upper(),
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": self.slack.bot_user_id, "is_bot": True,
                                "is_enterprise_install": False}],
        }
        return self.post(json.dumps(envelope), "application/json")

    def wait_idle(self, timeout: float = LISTENER_TIMEOUT_SECONDS) -> bool:
        """Wait until every listener the app started has finished."""
        return self.executor.wait_idle(timeout)

    # --- `revalign ask` and `revalign demo` --------------------------------------------------------
    def run_slash_command(self, line: str, *, user_id: str, channel_id: str = "C0LOCAL01") -> list[Reply]:
        from revalign_dev.slack_text import encode_command_text

        line = line.strip()
        if not line.startswith("/"):
            raise InvalidInput("Give a slash command, e.g. revalign ask \"/lead-def MQL\".")
        command, _, text = line.partition(" ")
        if command not in self.commands:
            known = ", ".join(sorted(self.commands))
            raise InvalidInput(f"revalign has no {command} command. Commands: {known}.")
        mark = len(self.slack.calls)
        key, trigger = secrets.token_hex(16), new_trigger_id()
        reply = self.command(command, encode_command_text(text.strip()), user_id=user_id, channel_id=channel_id,
                             response_url=self.slack.response_url(key), trigger_id=trigger)
        if reply.status != 200:
            raise InvalidInput(f"the app answered {command} with HTTP {reply.status}.")
        self.wait_idle()
        replies: list[Reply] = []
        body = reply.json()
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            replies.append(Reply("ephemeral", bk.render_message(body)))
        for call in self.slack.calls[mark:]:
            if _belongs_to(call, key, trigger):
                replies.extend(reply_from_call(call))
        return replies


def _belongs_to(call: RecordedCall, key: str, trigger: str) -> bool:
    """Leave out what other people did meanwhile (the playground's page shares the local Slack)."""
    if call.method == "response_url":
        return call.path.endswith("/" + key)
    if call.method in ("views.open", "views.push"):
        return call.args.get("trigger_id") == trigger
    return True


def reply_from_call(call: RecordedCall) -> list[Reply]:
    """One Web API call or response_url post, as the text a person would read."""
    method, args = call.method, call.args

    def payload_blocks(key: str = "blocks"):
        value = args.get(key)
        try:
            return json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            return None

    if method == "response_url":
        where = "channel" if args.get("response_type") == "in_channel" else "ephemeral"
        return [Reply(where, bk.render_message(args))]
    if method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
        payload = {"text": args.get("text", ""), "blocks": payload_blocks()}
        where = {"chat.postMessage": "channel", "chat.postEphemeral": "ephemeral", "chat.update": "updated"}[method]
        return [Reply(f"{where} {args.get('channel', '')}".strip(), bk.render_message(payload))]
    if method in ("views.open", "views.push", "views.update", "views.publish"):
        view = payload_blocks("view") or {}
        title = (view.get("title") or {}).get("text", "")
        kind = "home" if method == "views.publish" else "modal"
        return [Reply(kind, (f"{title}\n" if title else "") + bk.render_blocks(view.get("blocks", [])))]
    if method == "files.completeUploadExternal":
        files = payload_blocks("files") or []
        return [Reply("file", ", ".join(f.get("title", "") for f in files))]
    return []
