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

import json
import threading
import time
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

    def fail(self, method: str, *, status: int = 500, times: int = 1, retry_after: int | None = None,
             slack_error: str | None = None) -> None:
        """Make the next `times` calls to `method` fail (429 with Retry-After, 5xx, or an ok:false error)."""
        with self._failure_lock:
            self._failures.append(PlannedFailure(method, status, times, retry_after, slack_error))

    def lose_response(self, method: str, *, times: int = 1, delay: float = 2.0) -> None:
        """The next `times` calls to `method` take effect, but their answer comes `delay` s late."""
        with self._failure_lock:
            self._lost.append([method, times, delay])

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
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
