"""The app-wide fallback for failures that happen outside our guarded listeners (e.g. middleware)."""

from __future__ import annotations

import logging
import uuid

from slack_bolt import App

from bot.errors import RevalignError
from bot.slack_text import defang
from handlers.registry import SORRY

log = logging.getLogger("revalign.handlers")


def register_error_handler(app: App) -> None:
    @app.error
    def reply_politely(error: Exception, body: dict, respond, logger) -> None:
        if isinstance(error, RevalignError):
            message = defang(str(error))
        else:
            ref = uuid.uuid4().hex[:8]
            log.error("request failed (ref %s): %s", ref, error.__class__.__name__, exc_info=error)
            message = SORRY.format(ref=ref)
        if body.get("response_url"):
            try:
                respond(text=message, response_type="ephemeral", replace_original=False)
            except Exception:  # noqa: BLE001 - Slack unreachable; the log line above is what remains
                log.warning("could not tell the user about a failure: Slack did not answer")
