"""The Bolt app factory: one app, every listener, for HTTP, Socket Mode and `revalign ask`."""

from __future__ import annotations

import logging
from concurrent.futures import Executor, ThreadPoolExecutor

from slack_bolt import App

from bot.services import Services

log = logging.getLogger(__name__)


def create_app(
    services: Services,
    *,
    verify_requests: bool = True,
    verify_token: bool = True,
    listener_executor: Executor | None = None,
):
    """Build the Bolt app with every listener registered.

    Returns (app, registrar); the registrar knows every command, shortcut and
    event registered, which the manifest test checks against app.yaml.
    """
    from handlers import register_all

    settings = services.settings
    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    if listener_executor is None:
        # Sized from settings, not Bolt's 5: a request's ack waits for a free worker,
        # and under a burst the workers are busy with earlier requests' work.
        listener_executor = ThreadPoolExecutor(max_workers=settings.listener_threads, thread_name_prefix="listener")
    app = App(
        client=services.slack,
        signing_secret=signing_secret or "unused-without-http",
        request_verification_enabled=verify_requests,
        token_verification_enabled=verify_token,
        # Listeners ack first and keep working after the HTTP response is sent.
        process_before_response=False,
        logger=logging.getLogger("revalign.bolt"),
        listener_executor=listener_executor,
    )
    registrar = register_all(app, services)
    return app, registrar
