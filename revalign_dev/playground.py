"""`revalign playground`: a local web page that plays Slack for the bot (a dev and demo tool).

The page talks to this module; this module talks to the real app the way Slack does: signed
slash commands, block_actions, block_suggestion, view_submission and app_home_opened requests
over HTTP to the app `serve` would run, whose Web API calls (chat.postMessage, views.open,
files.uploadV2, …) and response_url posts are answered by the built-in local Slack, which keeps
the conversation the page shows. Only 127.0.0.1 is ever listened on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from bot.errors import InvalidInput, RevalignError
from bot.slack_payloads import API_APP_ID, TEAM_DOMAIN, TEAM_ID
from revalign_dev.blockkit_html import Renderer, esc
from revalign_dev.local_run import LocalWorkspace, new_trigger_id
from revalign_dev.local_slack import LocalSlack, RecordedCall, maybe_json
from revalign_dev.reply import Reply, database_identity
from revalign_dev.slack_text import encode_command_text

log = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent / "static" / "playground.html"
BOT = "bot"
LONG_POLL_SECONDS = 15.0
SHORTCUT_LABELS = {"tag_objection": "Tag as objection"}


@dataclass
class Person:
    user_id: str
    name: str
    handle: str
    role: str
    title: str = ""


@dataclass
class Message:
    id: int
    channel: str
    ts: str
    author: str                      # a user ID, or BOT
    text: str = ""
    blocks: list[dict] | None = None
    ephemeral_to: str | None = None  # only this user sees it
    files: list[dict] = field(default_factory=list)
    thread_ts: str | None = None
    kind: str = "app"                # app, user (a plain message), command (what you typed), note (from "Slack")
    deleted: bool = False
    edited: bool = False


@dataclass
class ResponseTarget:
    """Where a response_url post lands: the user and channel it was made for, and the message it came from."""
    user_id: str
    channel: str
    message_id: int | None = None


def dm_channel(user_id: str) -> str:
    return "D" + user_id[1:]


class PlaygroundSlack(LocalSlack):
    """The local Slack, following the conversation: messages per channel, ephemerals per user,
    each user's modal stack and Home tab."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []
        self.targets: dict[str, ResponseTarget] = {}
        self.triggers: dict[str, str] = {}
        self.modals: dict[str, list[dict]] = {}
        self.homes: dict[str, dict] = {}
        self.version = 0
        self._ids = 0
        self._ts = time.time()  # message timestamps read as clock times on the page

    # --- helpers (call with the lock held) ----------------------------------------------------
    def _add(self, **fields: Any) -> Message:
        self._ids += 1
        message = Message(id=self._ids, **fields)
        self.messages.append(message)
        return message

    def _find(self, channel: str, ts: str) -> Message | None:
        for message in reversed(self.messages):
            if message.channel == channel and message.ts == ts and not message.deleted:
                return message
        return None

    def message(self, message_id: int) -> Message | None:
        with self._lock:
            return next((m for m in self.messages if m.id == message_id), None)

    def view(self, view_id: str) -> tuple[str | None, dict | None]:
        """(user, view) for an open modal or published Home tab."""
        with self._lock:
            for user, stack in self.modals.items():
                for view in stack:
                    if view.get("id") == view_id:
                        return user, view
            for user, view in self.homes.items():
                if view.get("id") == view_id:
                    return user, view
        return None, None

    def add_local(self, **fields: Any) -> Message:
        """A message the playground itself shows (what you typed, a plain message, a note)."""
        with self._changed:
            message = self._add(ts=self._next_ts_locked(), **fields)
            self.version += 1
            self._changed.notify_all()
            return message

    def _next_ts_locked(self) -> str:
        self._ts += 0.000100
        return f"{self._ts:.6f}"

    def new_response_url(self, target: ResponseTarget) -> str:
        key = uuid.uuid4().hex
        with self._lock:
            self.targets[key] = target
        return self.response_url(key)

    def new_trigger(self, user_id: str) -> str:
        trigger = new_trigger_id()
        with self._lock:
            self.triggers[trigger] = user_id
        return trigger

    def pop_view(self, user_id: str, view_id: str | None = None, *, clear: bool = False) -> None:
        with self._changed:
            stack = self.modals.get(user_id, [])
            if clear:
                stack.clear()
            elif stack and (view_id is None or stack[-1].get("id") == view_id):
                stack.pop()
            self.version += 1
            self._changed.notify_all()

    def replace_top(self, user_id: str, view: dict, *, push: bool = False) -> None:
        with self._changed:
            stack = self.modals.setdefault(user_id, [])
            view = dict(view, id="V" + uuid.uuid4().hex[:10].upper(), hash=uuid.uuid4().hex[:12])
            if push or not stack:
                stack.append(view)
            else:
                view["id"] = stack[-1].get("id", view["id"])
                stack[-1] = view
            self.version += 1
            self._changed.notify_all()

    def wait_changed(self, since: int, timeout: float) -> int:
        with self._changed:
            self._changed.wait_for(lambda: self.version != since, timeout)
            return self.version

    # --- following the Web API calls the app makes ----------------------------------------------
    def observe(self, call: RecordedCall, answer: dict[str, Any] | None) -> None:
        method, args = call.method, call.args
        try:
            if method == "response_url":
                self._on_response(call.path.rsplit("/", 1)[-1], args)
            elif method in ("chat.postMessage", "chat.postEphemeral"):
                channel = args.get("channel", "")
                channel = dm_channel(channel) if channel[:1] in ("U", "W") else channel
                ts = (answer or {}).get("ts") or (answer or {}).get("message_ts") or self._next_ts_locked()
                self._add(channel=channel, ts=ts, author=BOT, text=args.get("text", ""),
                          blocks=maybe_json(args.get("blocks"), strict=True), thread_ts=args.get("thread_ts"),
                          ephemeral_to=args.get("user") if method == "chat.postEphemeral" else None)
            elif method == "chat.update":
                message = self._find(args.get("channel", ""), args.get("ts", ""))
                if message is not None:
                    message.text = args.get("text", message.text)
                    if "blocks" in args:
                        message.blocks = maybe_json(args.get("blocks"), strict=True)
                    message.edited = True
            elif method == "chat.delete":
                message = self._find(args.get("channel", ""), args.get("ts", ""))
                if message is not None:
                    message.deleted = True
            elif method == "files.completeUploadExternal":
                channel = args.get("channel_id") or (args.get("channels") or "").split(",")[0]
                files = [{"id": f.get("id"), "title": f.get("title", "")} for f in (maybe_json(args.get("files"), strict=True) or [])]
                self._add(channel=channel, ts=self._next_ts_locked(), author=BOT,
                          text=args.get("initial_comment", ""), files=files, thread_ts=args.get("thread_ts"))
            elif method in ("views.open", "views.push"):
                user = self.triggers.get(args.get("trigger_id", ""))
                view = (answer or {}).get("view") or maybe_json(args.get("view"), strict=True) or {}
                if user:
                    stack = self.modals.setdefault(user, [])
                    if method == "views.open":
                        stack.clear()
                    stack.append(dict(view, hash=uuid.uuid4().hex[:12]))
            elif method == "views.update":
                new = maybe_json(args.get("view"), strict=True) or {}
                for stack in self.modals.values():
                    for i, view in enumerate(stack):
                        if view.get("id") == args.get("view_id") or (
                                args.get("external_id") and view.get("external_id") == args.get("external_id")):
                            stack[i] = dict(new, id=view.get("id"), hash=uuid.uuid4().hex[:12])
            elif method == "views.publish":
                view = (answer or {}).get("view") or maybe_json(args.get("view"), strict=True) or {}
                self.homes[args.get("user_id", "")] = dict(view, hash=uuid.uuid4().hex[:12])
            else:
                return
        finally:
            self.version += 1

    def _on_response(self, key: str, args: dict) -> None:
        target = self.targets.get(key)
        if target is None:
            return  # a command `revalign ask` sent through this playground: its replies go to the terminal
        original = next((m for m in self.messages if m.id == target.message_id), None)
        if args.get("delete_original") in (True, "true") and original is not None:
            original.deleted = True
            return
        blocks = maybe_json(args.get("blocks"), strict=True)
        if args.get("replace_original") in (True, "true") and original is not None:
            original.text = args.get("text", "")
            original.blocks = blocks
            original.edited = True
            return
        public = args.get("response_type") == "in_channel"
        self._add(channel=target.channel, ts=self._next_ts_locked(), author=BOT, text=args.get("text", ""),
                  blocks=blocks, ephemeral_to=None if public else target.user_id,
                  thread_ts=args.get("thread_ts"))


class Playground:
    def __init__(self, workspace: LocalWorkspace, slack: PlaygroundSlack, people: list[Person],
                 channels: dict[str, str]) -> None:
        self.workspace = workspace
        self.slack = slack
        self.people = {p.user_id: p for p in people}
        self.channels = dict(channels)
        self.database = database_identity(workspace.services.settings.database_url)
        slack.people.update({p.user_id: p.name for p in people})
        self.renderer = Renderer({p.user_id: p.name for p in people},
                                 {**self.channels, **{dm_channel(p.user_id): "revalign" for p in people}})
        self._server: ThreadingHTTPServer | None = None

    # --- who and where -----------------------------------------------------------------------------
    def person(self, user_id: str) -> Person:
        person = self.people.get(user_id)
        if person is None:
            raise InvalidInput(f"{user_id} is not one of the playground's people.")
        return person

    def _user_json(self, user_id: str) -> dict:
        person = self.person(user_id)
        return {"id": user_id, "username": person.handle, "name": person.handle, "team_id": TEAM_ID}

    def _channel_name(self, channel: str) -> str:
        return self.channels.get(channel) or ("directmessage" if channel.startswith("D") else channel)

    # --- what you can do ----------------------------------------------------------------------------
    def send(self, user_id: str, channel: str, text: str) -> dict:
        """Type in the composer: a slash command goes to the app, anything else is a plain message."""
        self.person(user_id)
        text = text.strip()
        if not text:
            return {"ok": True}
        if not text.startswith("/"):
            self.slack.add_local(channel=channel, author=user_id, text=_typed(text), kind="user")
            return {"ok": True}
        command, _, rest = text.partition(" ")
        self.slack.add_local(channel=channel, author=user_id, text=text, kind="command", ephemeral_to=user_id)
        if command not in self.workspace.commands:
            self.slack.add_local(channel=channel, author="slack", kind="note", ephemeral_to=user_id,
                                 text=f"{command} is not a valid command. The app has: "
                                      f"{', '.join(sorted(self.workspace.commands))}.")
            return {"ok": False}
        response_url = self.slack.new_response_url(ResponseTarget(user_id, channel))
        encoded = encode_command_text(rest.strip(), {p.handle: p.user_id for p in self.people.values()},
                                      {name: cid for cid, name in self.channels.items()})
        reply = self.workspace.command(command, encoded, user_id=user_id, channel_id=channel,
                                       response_url=response_url, trigger_id=self.slack.new_trigger(user_id),
                                       user_name=self.people[user_id].handle,
                                       channel_name=self._channel_name(channel))
        self._ack_reply(reply, user_id, channel)
        return {"ok": reply.status == 200}

    def _ack_reply(self, reply, user_id: str, channel: str) -> None:
        if reply.status != 200:
            self.slack.add_local(channel=channel, author="slack", kind="note", ephemeral_to=user_id,
                                 text=f"The app answered HTTP {reply.status}: Slack would show “failed with the "
                                      "error dispatch_failed”.")
            return
        body = reply.json()
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            self.slack.add_local(channel=channel, author=BOT, text=body.get("text", ""),
                                 blocks=body.get("blocks"), ephemeral_to=user_id)

    def press(self, user_id: str, container: str, action: dict) -> dict:
        """Click a button (or pick from a select) in a message, a modal or the Home tab."""
        user = self._user_json(user_id)
        kind, _, ref = container.partition(":")
        element = {"type": action.get("type", "button"), "action_id": action.get("action_id", ""),
                   "block_id": action.get("block_id", ""), "action_ts": f"{time.time():.6f}"}
        if element["type"] in ("static_select", "overflow", "external_select"):
            element["selected_option"] = {"text": {"type": "plain_text", "text": action.get("text", "")},
                                          "value": action.get("value", "")}
        else:
            element["value"] = action.get("value", "")
            element["text"] = {"type": "plain_text", "text": action.get("text", ""), "emoji": True}
        payload: dict[str, Any] = {
            "type": "block_actions", "user": user, "api_app_id": API_APP_ID,
            "token": "verification-token-deprecated", "trigger_id": self.slack.new_trigger(user_id),
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN}, "enterprise": None, "is_enterprise_install": False,
            "actions": [element], "state": {"values": {}},
        }
        if kind == "message":
            message = self.slack.message(int(ref or 0))
            if message is None or message.deleted:
                raise InvalidInput("That message is gone.")
            payload.update({
                "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel,
                              "is_ephemeral": message.ephemeral_to is not None},
                "channel": {"id": message.channel, "name": self._channel_name(message.channel)},
                "message": {"type": "message", "ts": message.ts, "text": message.text,
                            "blocks": message.blocks or [], "bot_id": "B0REVALIGN", "user": self.slack.bot_user_id,
                            **({"thread_ts": message.thread_ts} if message.thread_ts else {})},
                "response_url": self.slack.new_response_url(ResponseTarget(user_id, message.channel, message.id)),
            })
        else:
            owner, view = self.slack.view(ref)
            if view is None or owner != user_id:
                raise InvalidInput("That view is closed.")
            state = action.get("state") or {}
            payload.update({"container": {"type": "view", "view_id": ref},
                            "view": dict(view, state={"values": state})})
        reply = self.workspace.interactive(payload)
        return {"ok": reply.status == 200, "status": reply.status}

    def shortcut(self, user_id: str, message_id: int, callback_id: str) -> dict:
        message = self.slack.message(message_id)
        if message is None:
            raise InvalidInput("That message is gone.")
        author = message.author if message.author != BOT else self.slack.bot_user_id
        payload = {
            "type": "message_action", "callback_id": callback_id, "trigger_id": self.slack.new_trigger(user_id),
            "message_ts": message.ts, "action_ts": f"{time.time():.6f}",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": {"id": user_id, "name": self.person(user_id).handle},
            "channel": {"id": message.channel, "name": self._channel_name(message.channel)},
            "message": {"type": "message", "user": author, "ts": message.ts, "text": message.text},
            "response_url": self.slack.new_response_url(ResponseTarget(user_id, message.channel, None)),
            "token": "verification-token-deprecated", "api_app_id": API_APP_ID,
            "is_enterprise_install": False, "enterprise": None,
        }
        reply = self.workspace.interactive(payload)
        return {"ok": reply.status == 200}

    def options(self, user_id: str, view_id: str, block_id: str, action_id: str, value: str) -> list[dict]:
        """The external select's typeahead: a block_suggestion request, answered by the app's options listener."""
        owner, view = self.slack.view(view_id)
        if view is None or owner != user_id:
            raise InvalidInput("That view is closed.")
        payload = {
            "type": "block_suggestion", "user": self._user_json(user_id),
            "container": {"type": "view", "view_id": view_id}, "api_app_id": API_APP_ID,
            "token": "verification-token-deprecated", "action_id": action_id, "block_id": block_id,
            "value": value, "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN}, "enterprise": None,
            "is_enterprise_install": False, "view": view,
        }
        reply = self.workspace.interactive(payload)
        body = reply.json() or {}
        options = list(body.get("options") or [])
        for group in body.get("option_groups") or []:
            options.extend(group.get("options") or [])
        return [{"text": (o.get("text") or {}).get("text", ""), "value": o.get("value", "")} for o in options]

    def submit(self, user_id: str, view_id: str, values: dict) -> dict:
        owner, view = self.slack.view(view_id)
        if view is None or owner != user_id:
            raise InvalidInput("That modal is closed.")
        payload = {
            "type": "view_submission", "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user_json(user_id), "api_app_id": API_APP_ID, "token": "verification-token-deprecated",
            "trigger_id": self.slack.new_trigger(user_id),
            "view": {**{k: v for k, v in view.items() if k != "hash"}, "team_id": TEAM_ID,
                     "state": {"values": values}, "hash": view.get("hash", ""), "app_id": API_APP_ID,
                     "bot_id": "B0REVALIGN", "root_view_id": view_id, "previous_view_id": None},
            "response_urls": [], "is_enterprise_install": False, "enterprise": None,
        }
        reply = self.workspace.interactive(payload)
        if reply.status != 200:
            return {"ok": False, "errors": {"": f"The app answered HTTP {reply.status}."}}
        body = reply.json() or {}
        action = body.get("response_action")
        if action == "errors":
            return {"ok": False, "errors": body.get("errors") or {}}
        if action in ("update", "push"):
            self.slack.replace_top(user_id, body.get("view") or {}, push=action == "push")
        else:
            self.slack.pop_view(user_id, view_id, clear=action == "clear")
        return {"ok": True}

    def close(self, user_id: str, view_id: str) -> dict:
        owner, view = self.slack.view(view_id)
        if view is not None and owner == user_id and view.get("notify_on_close"):
            self.workspace.interactive({"type": "view_closed", "user": self._user_json(user_id),
                                        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN}, "api_app_id": API_APP_ID,
                                        "token": "verification-token-deprecated", "view": view,
                                        "is_cleared": False})
        self.slack.pop_view(user_id, view_id)
        return {"ok": True}

    def open_home(self, user_id: str) -> dict:
        self.person(user_id)
        event: dict[str, Any] = {"type": "app_home_opened", "user": user_id, "channel": dm_channel(user_id), "tab": "home",
                 "event_ts": f"{time.time():.6f}"}
        if user_id in self.slack.homes:
            event["view"] = self.slack.homes[user_id]
        reply = self.workspace.event(event)
        return {"ok": reply.status == 200}

    def fire(self, kind: str) -> dict:
        """What the scheduler sends, sent now: last week's digest to its recipients, or the next meeting's agenda."""
        services = self.workspace.services
        if kind == "digest":
            from bot.kpis import digest

            period = digest.digest_period(services.now(), services.settings.timezone)
            with services.db.session() as session:
                recipients = digest.digest_recipients(session, services.settings)
            if not recipients:
                raise InvalidInput("Nobody gets the digest: give someone the sales_head or marketing_head role.")
            for recipient in recipients:
                digest.send_digest(services, services.slack, recipient, period)
            names = ", ".join(self.people[r].name if r in self.people else r for r in recipients)
            return {"ok": True, "note": f"Sent the {period} digest to {names} (see their revalign DMs)."}
        if kind == "agenda":
            from bot.meetings import agenda as ag
            from bot.meetings import schedules as sch
            from bot.render.agenda import agenda_blocks, agenda_text

            with services.db.session() as session:
                schedule = sch.get_schedule(session, sch.AGENDA)
                if schedule is None or not schedule.channel:
                    raise InvalidInput("No meeting is scheduled: `/revalign schedule weekly tue 10:00 …` sets one.")
                meeting_at = sch.next_occurrence(schedule, services.now())
                channel = schedule.channel
                agenda = ag.build_agenda(session, services, services.now(), meeting_at=meeting_at)
                blocks, text = agenda_blocks(agenda), agenda_text(agenda)
            services.slack.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False)
            return {"ok": True, "note": f"Posted the agenda of the {meeting_at:%a %b %-d} meeting in "
                                        f"#{self._channel_name(channel)}."}
        raise InvalidInput("The scheduler sends a digest or an agenda.")

    def ask(self, line: str, user_id: str, channel: str) -> list[Reply]:
        """`revalign ask` run against this process (warm model, warm index)."""
        return self.workspace.run_slash_command(line, user_id=user_id, channel_id=channel)

    # --- what the page shows ---------------------------------------------------------------------------
    def state(self, user_id: str, channel: str) -> dict:
        slack = self.slack
        with slack._lock:
            version = slack.version
            visible = [m for m in slack.messages if m.channel == channel and not m.deleted
                       and m.ephemeral_to in (None, user_id)]
            stack = list(slack.modals.get(user_id, []))
            home = slack.homes.get(user_id)
        shortcuts: list[str] = sorted(self.workspace.registrar.shortcuts) if self.workspace.registrar else []
        modal = None
        if stack:
            view = stack[-1]
            modal = {"id": view.get("id"), "hash": view.get("hash"), "html": self.view_html(view, modal=True)}
        return {
            "version": version,
            "messages": [_keyed(m.id, self.message_html(m, shortcuts)) for m in visible],
            "modal": modal,
            "home": {"hash": home.get("hash"), "html": self.view_html(home, modal=False)} if home else None,
        }

    def message_html(self, message: Message, shortcuts: list[str]) -> str:
        container = f"message:{message.id}"
        when = datetime.fromtimestamp(float(message.ts)).strftime("%H:%M") if message.ts else ""
        if message.author == BOT:
            who, initial, badge = "revalign", "r", '<span class="badge">APP</span>'
        elif message.author == "slack":
            who, initial, badge = "Slackbot", "S", ""
        else:
            person = self.people.get(message.author)
            who = person.name if person else message.author
            initial, badge = who[:1], ""
        flags = []
        if message.ephemeral_to:
            flags.append('<span class="only-you">Only visible to you</span>')
        if message.thread_ts:
            flags.append('<span class="thread">in thread</span>')
        if message.edited:
            flags.append('<span class="edited">(edited)</span>')
        if message.kind == "command":
            body = f'<code class="typed">{esc(message.text)}</code>'
        elif message.blocks:
            body = self.renderer.blocks(message.blocks, surface="message", container=container)
        else:
            body = f'<div class="bk-text">{self.renderer.mrkdwn(message.text)}</div>'
        if message.files:
            if message.text and message.blocks is None and message.kind == "app":
                body = f'<div class="bk-text">{self.renderer.mrkdwn(message.text)}</div>'
            for file in message.files:
                body += (f'<figure class="file"><figcaption>{esc(file.get("title", ""))}</figcaption>'
                         f'<img src="/files/{esc(file.get("id", ""))}" alt="{esc(file.get("title", ""))}"></figure>')
        menu = ""
        if message.kind in ("user", "app") and shortcuts:
            items = "".join(f'<button class="shortcut" data-shortcut="{esc(cid)}" data-message-id="{message.id}">'
                            f'{esc(SHORTCUT_LABELS.get(cid, cid.replace("_", " ").capitalize()))}</button>'
                            for cid in shortcuts)
            menu = f'<details class="more"><summary title="More actions">⋯</summary><div class="menu">{items}</div></details>'
        classes = "msg" + (" ephemeral" if message.ephemeral_to else "") + f" kind-{message.kind}"
        return (f'<div class="{classes}" data-message-id="{message.id}"><div class="avatar">{esc(initial.upper())}</div>'
                f'<div class="msg-body"><div class="meta"><b>{esc(who)}</b>{badge} <span class="time">{esc(when)}</span> '
                f'{" ".join(flags)}</div><div class="content">{body}</div></div>{menu}</div>')

    def view_html(self, view: dict, *, modal: bool) -> str:
        container = f"view:{view.get('id', '')}"
        blocks = self.renderer.blocks(view.get("blocks"), surface="modal" if modal else "home", container=container)
        if not modal:
            return blocks
        title = self.renderer.text_object(view.get("title"))
        submit = view.get("submit")
        close = view.get("close") or {"type": "plain_text", "text": "Cancel"}
        buttons = f'<button class="modal-close" data-view-id="{esc(view.get("id", ""))}">{self.renderer.text_object(close)}</button>'
        if submit:
            buttons += (f'<button class="modal-submit primary" data-view-id="{esc(view.get("id", ""))}">'
                        f'{self.renderer.text_object(submit)}</button>')
        return (f'<div class="modal" data-view-id="{esc(view.get("id", ""))}" data-callback-id="{esc(view.get("callback_id", ""))}">'
                f'<div class="modal-title">{title}</div><div class="modal-body">{blocks}'
                f'<div class="error" data-error-for=""></div></div><div class="modal-buttons">{buttons}</div></div>')

    def page_config(self) -> dict:
        return {
            "people": [{"id": p.user_id, "name": p.name, "role": p.role, "title": p.title} for p in self.people.values()],
            "channels": [{"id": cid, "name": name} for cid, name in self.channels.items()],
            "examples": EXAMPLES,
        }

    # --- HTTP ---------------------------------------------------------------------------------------
    def serve(self, port: int = 0) -> Playground:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="playground", daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


EXAMPLES = [
    "/content we're 2x the price of Vantage",
    "/content gaps",
    "/lead-def MQL",
    "/lead-def propose MQL",
    "/kpi",
    "/agenda",
    "/revalign help",
]


def _keyed(message_id: int, html: str) -> dict:
    return {"id": message_id, "html": html, "hash": hashlib.sha1(html.encode()).hexdigest()[:12]}


def _typed(text: str) -> str:
    """A plain message, stored the way Slack stores message text (entity-encoded)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _handler(playground: Playground):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _local_host(self) -> bool:
            # Refuses DNS-rebinding: only a page served from 127.0.0.1/localhost may call the API.
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            return host in ("127.0.0.1", "localhost")

        def do_GET(self) -> None:
            if not self._local_host():
                return self._send(403, "text/plain", b"forbidden")
            url = urlparse(self.path)
            if url.path == "/":
                page = PAGE.read_text(encoding="utf-8").replace(
                    "/*CONFIG*/null", json.dumps(playground.page_config()).replace("<", "\\u003c"))
                return self._send(200, "text/html; charset=utf-8", page.encode())
            if url.path == "/api/state":
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                since = int(query.get("since", "-1") or -1)
                if since == playground.slack.version:
                    playground.slack.wait_changed(since, LONG_POLL_SECONDS)
                try:
                    state = playground.state(query.get("user", ""), query.get("channel", ""))
                except RevalignError as exc:
                    return self._json(400, {"error": str(exc)})
                return self._json(200, state)
            if url.path.startswith("/files/"):
                data = playground.slack.uploads.get(url.path.rsplit("/", 1)[-1])
                if data is None:
                    return self._send(404, "text/plain", b"no such file")
                kind = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "application/octet-stream"
                return self._send(200, kind, data)
            if url.path == "/api/ping":
                return self._json(200, {"playground": True, "database": playground.database})
            return self._send(404, "text/plain", b"not found")

        def do_POST(self) -> None:
            if not self._local_host():
                return self._send(403, "text/plain", b"forbidden")
            # JSON only: a cross-site form post (text/plain, form-encoded) cannot drive the playground.
            if "application/json" not in (self.headers.get("Content-Type") or ""):
                return self._send(415, "text/plain", b"JSON only")
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return self._json(400, {"error": "malformed JSON"})
            path = urlparse(self.path).path
            try:
                return self._json(200, self._route(path, body))
            except _NotFound:
                return self._send(404, "text/plain", b"not found")
            except _Mismatch as exc:
                return self._json(409, {"error": str(exc)})
            except RevalignError as exc:
                return self._json(400, {"error": str(exc)})
            except (KeyError, TypeError, ValueError) as exc:
                return self._json(400, {"error": f"malformed request ({exc.__class__.__name__})"})
            except Exception:
                log.exception("playground request %s failed", path)
                return self._json(500, {"error": "the playground failed; see its terminal"})

        def _route(self, path: str, body: dict) -> Any:
            user = str(body.get("user", ""))
            if path == "/api/send":
                return playground.send(user, str(body["channel"]), str(body.get("text", "")))
            if path == "/api/action":
                return playground.press(user, str(body["container"]), dict(body["action"]))
            if path == "/api/shortcut":
                return playground.shortcut(user, int(body["message_id"]), str(body["callback_id"]))
            if path == "/api/options":
                return {"options": playground.options(user, str(body["view_id"]), str(body.get("block_id", "")),
                                                      str(body.get("action_id", "")), str(body.get("value", "")))}
            if path == "/api/submit":
                return playground.submit(user, str(body["view_id"]), dict(body.get("values") or {}))
            if path == "/api/close":
                return playground.close(user, str(body["view_id"]))
            if path == "/api/home":
                return playground.open_home(user)
            if path == "/api/scheduler":
                return playground.fire(str(body.get("kind", "")))
            if path == "/api/ask":
                if body.get("database") != playground.database:
                    raise _Mismatch("this playground serves another database")
                from bot.roles import parse_user_ref

                replies = playground.ask(str(body.get("line", "")), parse_user_ref(user), str(body.get("channel", "")))
                return {"replies": [{"where": r.where, "text": r.text} for r in replies]}
            raise _NotFound

        def _json(self, status: int, value: Any) -> None:
            self._send(status, "application/json; charset=utf-8", json.dumps(value).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy",
                             "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                             "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the page moved on (a long poll it aborted)

    return Handler


class _NotFound(Exception):
    pass


class _Mismatch(Exception):
    pass
