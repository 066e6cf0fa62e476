"""An offline stand-in for Slack's Web API on 127.0.0.1 (dev tooling, never on the request path).

`revalign ask`, `revalign demo` and `revalign playground` point the app's client and the
commands' response_url at it, so a slash command runs through exactly the code path it
takes in Slack and the replies can be shown. The test suite's fake Slack extends it with
failure injection (`intercept`); the playground follows the conversation (`observe`).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlparse


@dataclass
class RecordedCall:
    method: str                      # Web API method, "response_url" or "upload"
    args: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.time)
    path: str = ""
    raw: bytes = b""


class LocalSlack:
    team_id = "T0LOCAL01"
    bot_user_id = "U0REVALIGN"

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        # Display names users.info answers with (the playground fills it with the demo's people).
        self.people: dict[str, str] = {}
        self.uploads: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._ts = 1_700_000_000.000100

    # --- lifecycle -------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    def response_url(self, key: str | None = None) -> str:
        return f"{self.base_url}/response/{key or uuid.uuid4().hex}"

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-slack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- inspection --------------------------------------------------------------
    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[RecordedCall]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls if c.method == method]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"expected {count} call(s) to {method}, got {len(found)}")
                self._changed.wait(remaining)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.uploads.clear()

    # --- behaviour (override in tests) -----------------------------------------------
    def intercept(self, call: RecordedCall) -> tuple[int, dict[str, str], bytes] | None:
        """Return a canned (status, headers, body) to fail this call, or None to answer normally."""
        return None

    def observe(self, call: RecordedCall, answer: dict[str, Any] | None) -> None:
        """Called (under the lock) for every call answered normally, with the Web API answer if any."""

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel") or "C0LOCAL01"
        if method == "auth.test":
            return {"ok": True, "url": "https://local.slack.example/", "team": "Local", "user": "revalign",
                    "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": "B0REVALIGN"}
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            ts = self._next_ts()
            if method == "chat.postEphemeral":
                return {"ok": True, "message_ts": ts}
            message = {"type": "message", "text": args.get("text", ""), "ts": args.get("ts", ts),
                       "user": self.bot_user_id}
            if "blocks" in args:
                message["blocks"] = maybe_json(args["blocks"])
            return {"ok": True, "channel": channel, "ts": args.get("ts", ts), "message": message}
        if method in ("views.open", "views.update", "views.push", "views.publish"):
            view = maybe_json(args.get("view", "{}"))
            view.update({"id": "V" + uuid.uuid4().hex[:10].upper(), "team_id": self.team_id})
            return {"ok": True, "view": view}
        if method == "users.info":
            user = args.get("user", "U0UNKNOWN")
            name = self.people.get(user, f"User {user}")
            return {"ok": True, "user": {"id": user, "name": user.lower(), "real_name": name,
                                         "tz": "America/New_York", "profile": {"display_name": name}}}
        if method == "conversations.open":
            users = str(args.get("users", "U0UNKNOWN"))
            return {"ok": True, "channel": {"id": "D" + users.split(",")[0][1:]}}
        if method == "files.getUploadURLExternal":
            file_id = "F" + uuid.uuid4().hex[:10].upper()
            return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = maybe_json(args.get("files", "[]"))
            return {"ok": True, "files": [{"id": f.get("id"), "title": f.get("title", "")} for f in files]}
        return {"ok": True}

    def _next_ts(self) -> str:
        with self._lock:
            self._ts += 0.000100
            return f"{self._ts:.6f}"

    # --- HTTP ----------------------------------------------------------------
    def _handler_class(self):
        slack = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = urlparse(self.path).path
                headers = {k.lower(): v for k, v in self.headers.items()}
                if path.startswith("/api/"):
                    method = path[len("/api/"):]
                    args = _parse_body(raw, headers.get("content-type", ""))
                    args.update({k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()})
                elif path.startswith("/response/"):
                    method, args = "response_url", _parse_body(raw, "application/json")
                elif path.startswith("/upload/"):
                    method, args = "upload", {"file_id": path.rsplit("/", 1)[-1], "size": len(raw)}
                else:
                    self._send(404, {"Content-Type": "text/plain"}, b"not found")
                    return
                call = RecordedCall(method=method, args=args, headers=headers, path=path, raw=raw)
                canned = slack.intercept(call)
                if canned is not None:
                    with slack._changed:
                        slack._changed.notify_all()
                    self._send(*canned)
                    return
                # Recorded before it is answered: Slack acts on a call before its answer reaches the
                # client, and the tests' fake may hold the answer back (a lost response).
                with slack._changed:
                    slack.calls.append(call)
                    if method == "upload":
                        slack.uploads[args["file_id"]] = raw
                    slack._changed.notify_all()
                answer = None if method in ("response_url", "upload") else slack.answer(method, args)
                with slack._changed:
                    slack.observe(call, answer)
                    slack._changed.notify_all()
                if method == "response_url":
                    self._send(200, {"Content-Type": "text/plain"}, b"ok")
                elif method == "upload":
                    self._send(200, {"Content-Type": "text/plain"}, f"OK - {len(raw)}".encode())
                else:
                    body = json.dumps(answer).encode()
                    self._send(200, {"Content-Type": "application/json; charset=utf-8"}, body)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            value = json.loads(text)
            return value if isinstance(value, dict) else {"_body": value}
        except json.JSONDecodeError:
            return {"_raw": text}
    return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(text, keep_blank_values=True).items()}


def maybe_json(value: Any, *, strict: bool = False) -> Any:
    """A Web API argument that may arrive JSON-encoded (form posts): decoded if it is JSON, else as given
    (or None when `strict`: a caller that only wants JSON values)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None if strict else value
    return value
