"""`revalign serve`'s process life: start-up that survives Slack being away, and a graceful stop.

Start-up: the HTTP server (the Slack endpoint in HTTP mode; /healthz in both modes) listens
first, so /healthz can say why the bot is not ready. Then the bot token is checked with
`auth.test`: a token Slack rejects stops the process with one line (exit 2); Slack not
answering is retried with backoff, one line per attempt. Then the model loads, and only then,
in Socket Mode, the bot connects — so no envelope arrives before it can be answered —
retrying `apps.connections.open` the same way.

Stop (SIGTERM or SIGINT): stop accepting (HTTP: no new connections; Socket Mode: envelopes
are left un-acknowledged, so Slack sends them again to the next connection), let every
request in flight get its answer, let every acknowledged command's listener finish (Bolt's
listener executor is drained) — all within STOP_SECONDS — stop the scheduler and release its
lease, exit 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

STOP_SECONDS = 20.0
MAX_BACKOFF_SECONDS = 30.0
# auth.test errors that mean the token itself is wrong: retrying cannot help.
TOKEN_ERRORS = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
    "missing_scope",
    "team_access_not_granted",
}


class DrainingExecutor(ThreadPoolExecutor):
    """Bolt's listener executor, countable: `drain()` waits for every submitted listener."""

    def __init__(self, max_workers: int = 10) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="listener")
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, fn, /, *args: Any, **kwargs: Any) -> Future:
        with self._idle:
            self._pending += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: Future | None) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    @property
    def pending(self) -> int:
        return self._pending

    def drain(self, deadline: float) -> bool:
        """Wait until no listener is queued or running (or the monotonic `deadline`)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending <= 0, timeout=max(0.0, deadline - time.monotonic()))


class StopSignal:
    """SIGTERM/SIGINT set an event the main thread waits on (handlers run in the main thread)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.received: str | None = None
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum, _frame) -> None:
        self.received = signal.Signals(signum).name
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.event.wait(timeout)

    def wait_forever(self) -> None:
        while not self.event.wait(1.0):
            pass


class Readiness:
    """One reason /healthz is not ready (None when fine), registered under a name."""

    def __init__(self, services: Services, name: str, reason: str | None) -> None:
        self.reason = reason
        services.health_checks[name] = lambda: self.reason


def backoff_delays():
    delay = 1.0
    while True:
        yield delay
        delay = min(delay * 2, MAX_BACKOFF_SECONDS)


def slack_failure(exc: BaseException) -> str:
    """One short line for why a Slack call failed."""
    if isinstance(exc, SlackApiError) and exc.response is not None:
        return f"Slack answered {exc.response.status_code}: {exc.response.get('error') or 'error'}"
    reason = getattr(exc, "reason", None)  # URLError wraps the real cause
    if isinstance(reason, BaseException):
        exc = reason
    elif reason:
        return str(reason)[:200]
    return f"{exc.__class__.__name__}: {exc}"[:200]


def wait_for_slack(services: Services, stop: StopSignal, say) -> bool:
    """auth.test until Slack answers. False if stopped first; ConfigError if the token is rejected."""
    url = services.settings.slack_api_url
    slack = Readiness(services, "slack", f"checking the bot token with {url}")
    delays = backoff_delays()
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            services.slack.auth_test()
            slack.reason = None
            return True
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error in TOKEN_ERRORS:
                raise ConfigError(
                    f"Slack rejected SLACK_BOT_TOKEN ({error}): use the app's Bot User OAuth Token "
                    "(xoxb-…, OAuth & Permissions), and reinstall the app if it was revoked."
                ) from None
            reason = slack_failure(exc)
        except (SlackClientError, OSError) as exc:
            reason = slack_failure(exc)
        delay = next(delays)
        slack.reason = f"Slack unreachable at {url} ({reason}); attempt {attempt}, retrying"
        say(f"revalign: cannot reach Slack at {url} ({reason}); attempt {attempt}, retrying in {delay:.0f} s")
        stop.wait(delay)
    return False


def load_model(services: Services, stop: StopSignal) -> bool:
    """Start-up work (model, index) in a thread, so a signal still stops the process meanwhile."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            services.start()
        except BaseException as exc:  # noqa: BLE001 - reported below, in the main thread
            failure.append(exc)

    starter = threading.Thread(target=run, name="startup", daemon=True)
    starter.start()
    while starter.is_alive() and not stop.is_set():
        starter.join(0.2)
    if failure:
        raise failure[0]
    return not stop.is_set()


def connect_socket_mode(handler, services: Services, stop: StopSignal, say) -> bool:
    """apps.connections.open + the websocket, retried with backoff until Slack answers."""
    socket_mode = Readiness(services, "socket_mode", "connecting to Slack")
    delays = backoff_delays()
    attempt = 0
    while not stop.is_set():
        attempt += 1
        try:
            handler.connect()
            if handler.client.is_connected():
                socket_mode.reason = None
                # From here on slack_sdk reconnects by itself; /healthz reflects it.
                services.health_checks["socket_mode"] = lambda: (
                    None if handler.client.is_connected() else "Socket Mode: reconnecting"
                )
                return True
            reason = "the websocket did not open"
        except (SlackClientError, OSError) as exc:
            reason = slack_failure(exc)
        handler.client.wss_uri = None  # ask for a fresh URL next time
        delay = next(delays)
        socket_mode.reason = f"Socket Mode not connected ({reason}); attempt {attempt}, retrying"
        say(f"revalign: Socket Mode cannot connect ({reason}); attempt {attempt}, retrying in {delay:.0f} s")
        stop.wait(delay)
    return False


def socket_mode_handler(bolt_app, app_token: str):
    """Bolt's built-in Socket Mode handler, counting envelopes in flight and refusing new ones
    once stopping (un-acknowledged, Slack delivers them again elsewhere)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    class GracefulSocketModeHandler(SocketModeHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.stopping = False
            self._in_flight = 0
            self._idle = threading.Condition()

        def handle(self, client, req) -> None:
            with self._idle:
                if self.stopping:
                    return
                self._in_flight += 1
            try:
                super().handle(client, req)
            finally:
                with self._idle:
                    self._in_flight -= 1
                    self._idle.notify_all()

        def wait_idle(self, deadline: float) -> bool:
            with self._idle:
                return self._idle.wait_for(lambda: self._in_flight <= 0, timeout=max(0.0, deadline - time.monotonic()))

    return GracefulSocketModeHandler(bolt_app, app_token)


def shutdown(
    services: Services,
    *,
    http=None,
    socket_handler=None,
    executor: DrainingExecutor | None = None,
    scheduler=None,
    say,
    grace: float = STOP_SECONDS,
) -> bool:
    """Stop accepting, finish what is in flight (within `grace` s), release the lease. True if all finished."""
    deadline = time.monotonic() + grace
    services.health_checks["lifecycle"] = lambda: "shutting down"
    say(f"revalign: stopping: finishing the requests in flight (at most {grace:.0f} s)")
    finished = True
    if socket_handler is not None:
        socket_handler.stopping = True
        finished &= socket_handler.wait_idle(deadline)
    if http is not None:
        http.stop_accepting()
        finished &= http.wait_idle(deadline)
    if executor is not None:
        finished &= executor.drain(deadline)
        if executor.pending:
            say(f"revalign: {executor.pending} listener(s) still running after {grace:.0f} s; stopping anyway")
        executor.shutdown(wait=False, cancel_futures=True)
    if socket_handler is not None:
        try:
            socket_handler.close()
        except Exception as exc:  # noqa: BLE001 - closing a dead websocket
            log.debug("closing the Socket Mode connection: %s", exc)
    if scheduler is not None:
        finished &= scheduler.stop(max(deadline - time.monotonic(), 1.0))
    if http is not None:
        http.stop()
    services.close()
    say("revalign: stopped" + ("" if finished else " (some work was cut short)"))
    return finished
