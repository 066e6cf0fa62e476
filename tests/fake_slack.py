"""A fake Slack Web API on 127.0.0.1 that records every call and can fail on purpose.

Built on the app's own offline stand-in (`revalign_dev.local_slack.LocalSlack`), which
answers `auth.test`, `chat.postMessage`, `chat.postEphemeral`, `chat.update`,
`views.open`/`update`/`push`/`publish`, `users.info`, `conversations.open`,
the external file-upload pair (`files.getUploadURLExternal`, the upload URL,
`files.completeUploadExternal`) and `response_url` posts like Slack does.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from revalign_dev.local_slack import LocalSlack, RecordedCall


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

    def fail(self, method: str, *, status: int = 500, times: int = 1, retry_after: int | None = None,
             slack_error: str | None = None) -> None:
        """Make the next `times` calls to `method` fail (429 with Retry-After, 5xx, or an ok:false error)."""
        with self._failure_lock:
            self._failures.append(PlannedFailure(method, status, times, retry_after, slack_error))

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
