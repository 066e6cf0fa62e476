"""A fake Slack Web API on 127.0.0.1 that records every call and can fail on purpose.

Built on the app's own offline stand-in (`revalign_dev.local_slack.LocalSlack`), which
answers `auth.test`, `chat.postMessage`, `chat.postEphemeral`, `chat.update`,
`views.open`/`update`/`push`/`publish`, `users.info`, `conversations.open`,
the external file-upload pair (`files.getUploadURLExternal`, the upload URL,
`files.completeUploadExternal`) and `response_url` posts like Slack does.

Like the real Slack it refuses what it would refuse: every Block Kit payload
(messages, ephemerals, updates, response_url posts, views, and the modal/options
bodies the app acks with, which the test sender hands over) is parsed with
slack_sdk's own models (`Block.parse`, `View`), plus the limits those models do
not check (`initial_value` within `max_length`, text and block counts). It also
refuses any payload carrying a live broadcast (`<!channel>`, `<!here>`,
`<!everyone>`) or a labelled link a test user typed. A refused call answers
`invalid_blocks` as Slack does and is kept in `violations`; the `fake_slack`
fixture fails the test when there are any.

On top of that it keeps each conversation's history (what `chat.postMessage` posted, with its
metadata, and the file shares of `files.completeUploadExternal`, with their file names) and
answers `conversations.history` from it, newest first, honouring `oldest`; message ts are
taken from the real time, as Slack's are.

Faults: `fail()` answers an error instead of acting (429, 5xx or ok:false); `lose_response()`
acts — the message is posted, the file shared — but answers only after `delay` seconds, later
than the client's timeout, so the caller cannot know it worked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from revalign_dev.local_slack import LocalSlack, RecordedCall, maybe_json
from bot.slack_text import BROADCAST, LINK

# Slack's documented limits that slack_sdk's models leave unchecked.
MAX_MESSAGE_BLOCKS = 50
MAX_MESSAGE_TEXT = 40_000
MAX_OPTIONS = 100
MAX_PRIVATE_METADATA = 3000
MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage", "response_url")
VIEW_METHODS = ("views.open", "views.update", "views.push", "views.publish")


def _blocks_problems(blocks: Any, where: str) -> list[str]:
    if not isinstance(blocks, list):
        return [f"{where}: blocks is not a list"]
    problems = []
    for index, block in enumerate(blocks):
        try:
            parsed = Block.parse(block)
            if parsed is None:
                problems.append(f"{where}: block {index} has an unknown type {block.get('type')!r}")
                continue
            parsed.to_dict()  # validates the block and everything inside it
        except (SlackObjectFormationError, TypeError, KeyError, AttributeError) as exc:
            problems.append(
                f"{where}: block {index} ({block.get('type') if isinstance(block, dict) else block!r})"
                f" rejected by slack_sdk: {exc}"
            )
        problems += _element_limits(block, f"{where}: block {index}")
    return problems


def _element_limits(node: Any, where: str) -> list[str]:
    """`initial_value` longer than `max_length` (Slack refuses the view) and the like, anywhere in a block."""
    problems = []
    if isinstance(node, dict):
        if node.get("type") == "plain_text_input":
            initial, limit = node.get("initial_value"), node.get("max_length")
            if isinstance(initial, str) and isinstance(limit, int) and len(initial) > limit:
                problems.append(f"{where}: initial_value has {len(initial)} characters, max_length is {limit}")
            if isinstance(initial, str) and len(initial) > 3000:
                problems.append(f"{where}: initial_value over 3000 characters")
        for value in node.values():
            problems += _element_limits(value, where)
    elif isinstance(node, list):
        for value in node:
            problems += _element_limits(value, where)
    return problems


def message_problems(args: dict[str, Any], where: str) -> list[str]:
    problems = []
    text = args.get("text")
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        problems.append(f"{where}: text has {len(text)} characters")
    blocks = maybe_json(args.get("blocks"))
    if blocks is not None:
        if isinstance(blocks, list) and len(blocks) > MAX_MESSAGE_BLOCKS:
            problems.append(f"{where}: {len(blocks)} blocks (max {MAX_MESSAGE_BLOCKS})")
        problems += _blocks_problems(blocks, where)
    elif not text and where != "response_url" and "delete_original" not in args:
        problems.append(f"{where}: neither text nor blocks")
    return problems


def view_problems(view: Any, where: str) -> list[str]:
    view = maybe_json(view)
    if not isinstance(view, dict):
        return [f"{where}: view is not an object"]
    problems = []
    try:
        View(**view).to_dict()
    except (SlackObjectFormationError, TypeError, KeyError, AttributeError) as exc:
        problems.append(f"{where}: view rejected by slack_sdk: {exc}")
    if len(str(view.get("private_metadata") or "")) > MAX_PRIVATE_METADATA:
        problems.append(f"{where}: private_metadata over {MAX_PRIVATE_METADATA} characters")
    return problems + _blocks_problems(view.get("blocks", []), where)


def parsed_texts(payload: Any) -> list[str]:
    """The texts Slack parses for mentions and links: a message's `text` and `initial_comment`,
    and every mrkdwn text object in its blocks, views and attachments (plain_text is never parsed)."""
    found: list[str] = []

    def walk(node: Any, top: bool) -> None:
        node = maybe_json(node)
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for key in ("text", "initial_comment", "fallback", "pretext"):
                if (top or key != "text") and isinstance(node.get(key), str):
                    found.append(node[key])
            for key, value in node.items():
                if key in ("blocks", "view", "attachments", "elements", "fields", "accessory", "element",
                           "options", "option_groups", "label", "hint", "title", "description"):
                    walk(value, key == "attachments")
                elif isinstance(value, (dict, list)) and key not in ("text",):
                    walk(value, False)
                elif key == "text" and isinstance(value, dict):
                    walk(value, False)
        elif isinstance(node, list):
            for value in node:
                walk(value, top)

    walk(payload, True)
    return found


def ack_problems(body: Any) -> list[str]:
    """What the app acked with: a modal `response_action`, or options for a select."""
    if not isinstance(body, dict):
        return []
    problems = []
    if body.get("response_action") in ("update", "push"):
        problems += view_problems(body.get("view"), f"ack {body['response_action']}")
    if "options" in body:
        options = body["options"]
        if not isinstance(options, list) or len(options) > MAX_OPTIONS:
            problems.append(f"ack options: more than {MAX_OPTIONS} options")
        else:
            static = {"type": "static_select", "action_id": "check", "options": options}
            if options:
                problems += _blocks_problems([{"type": "actions", "elements": [static]}], "ack options")
    if "text" in body or "blocks" in body:
        problems += message_problems(body, "ack message")
    return problems


@dataclass
class PlannedFailure:
    method: str
    status: int
    times: int
    retry_after: int | None = None
    slack_error: str | None = None  # answer 200 with {"ok": false, "error": ...} instead


class FakeSlack(LocalSlack):
    def __init__(self) -> None:
        super().__init__()
        self._failures: list[PlannedFailure] = []
        self._failure_lock = threading.Lock()
        self.failed_calls: list[RecordedCall] = []
        self.violations: list[str] = []
        self._typed_links: set[str] = set()
        self._ts = time.time()                      # message ts like Slack's: the epoch time
        self.history: dict[str, list[dict[str, Any]]] = {}
        self._filenames: dict[str, str] = {}
        self._lost: list[list] = []                 # [method, times, delay]
        self.lost_calls: list[str] = []             # methods whose answer was delayed
        self._slow: dict[str, float] = {}
        self._sockets: list[socket.socket] = []     # open Socket Mode websockets
        self.socket_messages: list[dict[str, Any]] = []   # what the app sent over them (acks)

    # --- what Slack would refuse ---------------------------------------------------
    def note_user_text(self, typed: str) -> None:
        """Remember the labelled links a test user typed: none may come back live in a payload."""
        with self._failure_lock:
            self._typed_links.update(m.group(0) for m in LINK.finditer(typed) if m.group(2))

    def check_ack(self, body: Any) -> None:
        problems = ack_problems(body)
        problems += self._markup_problems(body, "ack")
        with self._failure_lock:
            self.violations += problems

    def _markup_problems(self, payload: Any, where: str) -> list[str]:
        raw = "\n".join(parsed_texts(payload))
        problems = [f"{where}: live broadcast {m.group(0)!r}" for m in BROADCAST.finditer(raw)]
        with self._failure_lock:
            typed = list(self._typed_links)
        problems += [f"{where}: user-typed link {link!r} sent live" for link in typed if link in raw]
        return problems

    def problems_of(self, call: RecordedCall) -> list[str]:
        if call.method in MESSAGE_METHODS:
            problems = message_problems(call.args, call.method)
        elif call.method in VIEW_METHODS:
            problems = view_problems(call.args.get("view"), call.method)
        else:
            return []
        return problems + self._markup_problems(call.args, call.method)

    def fail(
        self,
        method: str,
        *,
        status: int = 500,
        times: int = 1,
        retry_after: int | None = None,
        slack_error: str | None = None,
    ) -> None:
        """Make the next `times` calls to `method` fail (429 with Retry-After, 5xx, or an ok:false error)."""
        with self._failure_lock:
            self._failures.append(PlannedFailure(method, status, times, retry_after, slack_error))

    def lose_response(self, method: str, *, times: int = 1, delay: float = 2.0) -> None:
        """The next `times` calls to `method` take effect, but their answer comes `delay` s late."""
        with self._failure_lock:
            self._lost.append([method, times, delay])

    def slow_down(self, method: str, seconds: float) -> None:
        """Every call to `method` (e.g. "response_url") takes `seconds` before Slack acts and answers."""
        self._slow[method] = seconds

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "apps.connections.open":
            host, port = self._server.server_address[:2]
            return {"ok": True, "url": f"ws://{host}:{port}/socket-mode/{uuid.uuid4().hex}"}
        if method == "conversations.history":
            return self._history(args)
        result = super().answer(method, args)
        with self._lock:
            if method == "chat.postMessage":
                message = {"type": "message", "ts": result["ts"], "text": args.get("text", ""),
                           "user": self.bot_user_id}
                if args.get("metadata"):
                    meta = args["metadata"]
                    message["metadata"] = json.loads(meta) if isinstance(meta, str) else meta
                self.history.setdefault(result["channel"], []).append(message)
            elif method == "files.getUploadURLExternal":
                self._filenames[result["file_id"]] = str(args.get("filename", ""))
            elif method == "files.completeUploadExternal" and args.get("channel_id"):
                self._ts += 0.000100
                files = [{"id": f["id"], "name": self._filenames.get(f["id"], ""), "title": f.get("title", "")}
                         for f in result["files"]]
                self.history.setdefault(args["channel_id"], []).append(
                    {"type": "message", "ts": f"{self._ts:.6f}", "text": args.get("initial_comment", ""),
                     "user": self.bot_user_id, "files": files})
        delay = self._lost_delay(method)
        if delay:
            time.sleep(delay)
        return result

    def _lost_delay(self, method: str) -> float:
        with self._failure_lock:
            for lost in self._lost:
                if lost[0] == method and lost[1] > 0:
                    lost[1] -= 1
                    self.lost_calls.append(method)
                    return float(lost[2])
        return 0.0

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        oldest = float(args.get("oldest") or 0)
        with self._lock:
            messages = [m for m in self.history.get(str(args.get("channel")), []) if float(m["ts"]) > oldest]
        return {"ok": True, "messages": sorted(messages, key=lambda m: -float(m["ts"])), "has_more": False,
                "response_metadata": {"next_cursor": ""}}

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """What a person would see in the conversation, oldest first."""
        with self._lock:
            return list(self.history.get(channel, []))

    def intercept(self, call: RecordedCall):
        problems = self.problems_of(call)
        if problems:
            with self._failure_lock:
                self.violations += problems
                self.failed_calls.append(call)
            return (
                200,
                {"Content-Type": "application/json"},
                json.dumps({"ok": False, "error": "invalid_blocks", "errors": problems}).encode(),
            )
        if self._slow.get(call.method):
            time.sleep(self._slow[call.method])
        with self._failure_lock:
            for failure in self._failures:
                if failure.method == call.method and failure.times > 0:
                    failure.times -= 1
                    self.failed_calls.append(call)
                    if failure.slack_error:
                        body = json.dumps({"ok": False, "error": failure.slack_error}).encode()
                        return 200, {"Content-Type": "application/json"}, body
                    headers = {"Content-Type": "application/json"}
                    if failure.retry_after is not None:
                        headers["Retry-After"] = str(failure.retry_after)
                    error = "ratelimited" if failure.status == 429 else "internal_error"
                    return failure.status, headers, json.dumps({"ok": False, "error": error}).encode()
        return None

    # --- conveniences for assertions -------------------------------------------
    def responses(self) -> list[dict]:
        """Bodies posted to response_url, oldest first."""
        return [c.args for c in self.calls_to("response_url")]

    def last_response(self, timeout: float = 10.0) -> dict:
        count = len(self.calls_to("response_url"))
        return self.wait_for("response_url", max(count, 1), timeout)[-1].args

    def posted_messages(self) -> list[dict]:
        return [c.args for c in self.calls_to("chat.postMessage")]

    # --- Socket Mode: a websocket just capable enough for slack_sdk's built-in client ------------
    def _handler_class(self):
        base = super()._handler_class()
        slack = self

        class Handler(base):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:
                if self.headers.get("Upgrade", "").lower() == "websocket":
                    slack._serve_websocket(self)
                else:
                    super().do_GET()

        return Handler

    def _serve_websocket(self, handler) -> None:
        key = handler.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        handler.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        handler.wfile.flush()
        sock = handler.connection
        with self._changed:
            self._sockets.append(sock)
            self.calls.append(RecordedCall(method="socket_mode.connect", args={}, headers={}))
            self._changed.notify_all()
        self._send_frame(sock, 0x1, json.dumps({"type": "hello", "num_connections": 1,
                                                "connection_info": {"app_id": "A0REVALIGN"}}).encode())
        try:
            while True:
                opcode, payload = _read_frame(handler.rfile)
                if opcode == 0x8:        # close
                    self._send_frame(sock, 0x8, payload[:2])
                    return
                if opcode == 0x9:        # ping
                    self._send_frame(sock, 0xA, payload)
                elif opcode == 0x1:
                    with self._changed:
                        self.socket_messages.append(json.loads(payload))
                        self.calls.append(RecordedCall(method="socket_mode.ack", args=json.loads(payload), headers={}))
                        self._changed.notify_all()
        except (OSError, ValueError):
            return
        finally:
            with self._changed:
                if sock in self._sockets:
                    self._sockets.remove(sock)
            handler.close_connection = True

    def send_envelope(self, envelope_type: str, payload: dict[str, Any]) -> str:
        """Push a Socket Mode envelope to every connected app; its envelope_id."""
        envelope_id = uuid.uuid4().hex
        body = json.dumps({"envelope_id": envelope_id, "type": envelope_type, "payload": payload,
                           "accepts_response_payload": envelope_type != "events_api"}).encode()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            self._send_frame(sock, 0x1, body)
        return envelope_id

    def _send_frame(self, sock: socket.socket, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([len(payload)])
        elif len(payload) < 65536:
            header += bytes([126]) + struct.pack("!H", len(payload))
        else:
            header += bytes([127]) + struct.pack("!Q", len(payload))
        sock.sendall(header + payload)


def _read_frame(stream) -> tuple[int, bytes]:
    """One client frame (clients always mask); fragments are not needed by slack_sdk."""
    first = stream.read(2)
    if len(first) < 2:
        raise ValueError("closed")
    opcode, length = first[0] & 0x0F, first[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", stream.read(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", stream.read(8))[0]
    mask = stream.read(4) if first[1] & 0x80 else b"\0\0\0\0"
    data = stream.read(length)
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))
