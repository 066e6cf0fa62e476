"""HTTP serving: Bolt's single endpoint behind Flask, served by waitress.

waitress is a production WSGI server with a thread pool, so Slack requests
are handled concurrently and no development server is involved.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, jsonify, request
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot import slack_schema
from bot.services import Services

log = logging.getLogger(__name__)

READY_WAIT_SECONDS = 2.0
# Slack's largest requests are modal submissions (a view of up to 100 blocks plus
# its state); 1 MiB is several times that. Anything bigger is refused unread (413).
MAX_SLACK_BODY = 1024 * 1024


def create_http_app(services: Services, bolt_app) -> Flask:
    flask_app = Flask("revalign")
    handler = SlackRequestHandler(bolt_app)
    secret = services.settings.slack_signing_secret
    verifier = SignatureVerifier(secret.get_secret_value()) if secret else None

    @flask_app.post("/slack/events")
    def slack_events():
        request.max_content_length = MAX_SLACK_BODY
        body = request.get_data(as_text=True)  # 413 above the cap, before anything is parsed
        # Signature first (401 for anyone but Slack), then the shape (400 for a
        # signed request Slack would never send), then Bolt.
        if verifier is not None and not _signed_by_slack(verifier, body, request.headers):
            return jsonify(error="invalid request"), 401
        try:
            slack_schema.validate(body, request.content_type or "")
        except slack_schema.MalformedRequest as exc:
            log.info("malformed Slack request refused: %s", exc)
            return jsonify(error="malformed request", detail=str(exc)), 400
        # A request that arrives while the model is still loading waits briefly
        # rather than failing; Slack's 3 s budget leaves room for that.
        services.ready.wait(READY_WAIT_SECONDS)
        return handler.handle(request)

    @flask_app.get("/healthz")
    def healthz():
        database_ok = services.db.ping()
        model_ok = services.ready.is_set()
        others = {name: check() for name, check in services.health_checks.items()}
        status = 200 if database_ok and model_ok and not any(others.values()) else 503
        return jsonify(
            database="ok" if database_ok else "unreachable",
            model="loaded" if model_ok else "loading",
            **{name: reason or "ok" for name, reason in others.items()},
        ), status

    from bot.kpis import http as kpi_http

    kpi_http.register(flask_app, services)
    return flask_app


def _signed_by_slack(verifier: SignatureVerifier, body: str, headers) -> bool:
    try:
        return verifier.is_valid_request(body, dict(headers))
    except ValueError:  # a timestamp header that is not a number
        return False


class HttpServer:
    """waitress in a background thread; `port=0` picks a free port (tests).

    Graceful stop (bot/serving.py): `stop_accepting()`, then `wait_idle()` until every request
    in flight has been answered, then `stop()`.
    """

    def __init__(self, wsgi_app, host: str = "127.0.0.1", port: int = 3000, threads: int = 8) -> None:
        from waitress.server import create_server

        # A TcpWSGIServer for one host:port (create_server's union type also covers multi-socket servers).
        server: Any = create_server(wsgi_app, host=host, port=port, threads=threads, ident="revalign")
        self._server = server
        self.host = host
        self.port: int = server.effective_port
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        self._server.run()

    def start(self) -> HttpServer:
        self._thread = threading.Thread(target=self._run_until_stopped, name="http", daemon=True)
        self._thread.start()
        return self

    def _run_until_stopped(self) -> None:
        try:
            self._server.run()
        except OSError:
            # Closing the listening socket under waitress's select loop ends it this way.
            if not self._stopping:
                raise

    def stop_accepting(self) -> None:
        """New connections wait in the backlog, unanswered, until stop() refuses them."""
        self._server.accepting = False
        self._server.pull_trigger()

    def wait_idle(self, deadline: float) -> bool:
        """Wait (until the time.monotonic() `deadline`) for every request to be answered and sent."""
        import time

        while time.monotonic() < deadline:
            dispatcher = self._server.task_dispatcher
            busy = (
                dispatcher.queue
                or dispatcher.active_count > 0
                or any(
                    getattr(channel, "requests", None) or getattr(channel, "total_outbufs_len", 0)
                    for channel in list(self._server._map.values())
                )
            )
            if not busy:
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        self._stopping = True
        self._server.task_dispatcher.shutdown()
        self._server.close()
        if self._thread:
            self._thread.join(timeout=5)
