"""A fake Slack Web API on 127.0.0.1 that records every call and can fail on purpose.

Built on the app's own offline stand-in (`bot.local_slack.LocalSlack`), which
answers `auth.test`, `chat.postMessage`, `chat.postEphemeral`, `chat.update`,
`views.open`/`update`/`push`/`publish`, `users.info`, `conversations.open`,
the external file-upload pair (`files.getUploadURLExternal`, the upload URL,
`files.completeUploadExternal`) and `response_url` posts like Slack does.

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

from bot.local_slack import LocalSlack, RecordedCall


@dataclass
class PlannedFailure:
    method: str
    status: int
    times: int
    retry_after: int | None = None
    slack_error: str | None = None   # answer 200 with {"ok": false, "error": ...} instead


class FakeSlack(LocalSlack):
    def __init__(self) -> None:
        super().__init__()
        self._failures: list[PlannedFailure] = []
        self._failure_lock = threading.Lock()
        self.failed_calls: list[RecordedCall] = []
        self._ts = time.time()                      # message ts like Slack's: the epoch time
        self.history: dict[str, list[dict[str, Any]]] = {}
        self._filenames: dict[str, str] = {}
        self._lost: list[list] = []                 # [method, times, delay]
        self.lost_calls: list[str] = []             # methods whose answer was delayed
        self._slow: dict[str, float] = {}
        self._sockets: list[socket.socket] = []     # open Socket Mode websockets
        self.socket_messages: list[dict[str, Any]] = []   # what the app sent over them (acks)

    def fail(self, method: str, *, status: int = 500, times: int = 1, retry_after: int | None = None,
             slack_error: str | None = None) -> None:
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
