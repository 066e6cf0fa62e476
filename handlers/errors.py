"""One place that turns failures into a polite reply instead of Slack's "dispatch_failed"."""

from __future__ import annotations

import logging
import uuid

from slack_bolt import App

from bot.errors import RevalignError

log = logging.getLogger("revalign.handlers")

SORRY = (
    "Sorry, something went wrong on our side and nothing was changed. "
    "Please try again in a minute; if it keeps happening, tell your revalign admin (reference {ref})."
)


def register_error_handler(app: App) -> None:
    @app.error
    def reply_politely(error: Exception, body: dict, respond, logger) -> None:
        if isinstance(error, RevalignError):
            message = str(error)
        else:
            ref = uuid.uuid4().hex[:8]
            # The body is left out on purpose: it can carry tokens and user text.
            log.error("listener failed (ref %s): %s", ref, error.__class__.__name__, exc_info=error)
            message = SORRY.format(ref=ref)
        if body.get("response_url"):
            try:
                respond(text=message, response_type="ephemeral", replace_original=False)
            except Exception:  # noqa: BLE001 - Slack unreachable; the log line above is what remains
                log.warning("could not tell the user about a failure: Slack did not answer")
