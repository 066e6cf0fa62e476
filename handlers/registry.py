"""Registers listeners on a Bolt app and remembers what it registered.

The manifest test compares what is remembered here with `app.yaml`, so a
command without a handler (or a handler without a manifest entry) fails CI.

Every listener is registered through `guarded()`, which turns a
`RevalignError` into a polite reply and any other failure into an apology
with a log reference. Listeners must never raise out to Bolt: when a listener
raises within a few milliseconds of `ack()`, Bolt's thread runner can discard
that ack and answer Slack with 404 instead.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from dataclasses import dataclass, field

from slack_bolt import App

from bot.errors import RevalignError

log = logging.getLogger("revalign.handlers")

SORRY = (
    "Sorry, something went wrong on our side and nothing was changed. "
    "Please try again in a minute; if it keeps happening, tell your revalign admin (reference {ref})."
)


def services_middleware(services, registrar: "Registrar"):
    """A Bolt global middleware that hands every listener the process's `Services`
    as `context["services"]` (and the registrar, for help and subcommands, as `context["registrar"]`)."""

    def inject_services(context, next):  # noqa: A002 - Bolt passes the chain as `next`
        context["services"] = services
        context["registrar"] = registrar
        return next()

    return inject_services


@dataclass
class HelpEntry:
    usage: str
    summary: str


def guarded(listener):
    """Wrap a Bolt listener so that its failures become replies instead of Slack errors."""
    wanted = inspect.getfullargspec(listener).args

    def run(args):
        try:
            return listener(**{name: getattr(args, name) for name in wanted})
        except RevalignError as error:
            tell_user(args, str(error))
        except Exception as error:  # noqa: BLE001 - the last line of defence for a Slack request
            ref = uuid.uuid4().hex[:8]
            # The body is left out on purpose: it can carry tokens and user text.
            log.error("listener %s failed (ref %s)", listener.__name__, ref, exc_info=error)
            tell_user(args, SORRY.format(ref=ref))
        return None

    run.__name__ = listener.__name__
    run.__qualname__ = listener.__qualname__
    run.__doc__ = listener.__doc__
    return run


def tell_user(args, message: str) -> None:
    if args.ack is not None and getattr(args.ack, "response", None) is None:
        if args.body.get("type") == "block_suggestion":
            args.ack(options=[])
        else:
            args.ack()
    if args.body.get("response_url") and args.respond is not None:
        try:
            args.respond(text=message, response_type="ephemeral", replace_original=False)
        except Exception:  # noqa: BLE001 - Slack unreachable; the log is what remains
            log.warning("could not tell the user about a failure: Slack did not answer")
    else:
        log.info("failure with no response_url to reply to: %s", message)


@dataclass
class Registrar:
    app: App
    commands: set[str] = field(default_factory=set)
    shortcuts: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    help: dict[str, list[HelpEntry]] = field(default_factory=dict)
    # `/revalign <word>` subcommands other features add (e.g. `schedule`).
    subcommands: dict = field(default_factory=dict)

    @staticmethod
    def _register(bolt_decorator):
        def decorator(listener):
            bolt_decorator(guarded(listener))
            return listener

        return decorator

    def command(self, name: str, *, help: list[tuple[str, str]] | None = None):
        self.commands.add(name)
        if help:
            self.help.setdefault(name, [])[:0] = [HelpEntry(usage, summary) for usage, summary in help]
        return self._register(self.app.command(name))

    def shortcut(self, callback_id: str):
        self.shortcuts.add(callback_id)
        return self._register(self.app.shortcut(callback_id))

    def event(self, name: str):
        self.events.add(name)
        return self._register(self.app.event(name))

    def revalign_subcommand(self, word: str, usage: list[tuple[str, str]]):
        """Add `/revalign <word>`: the handler gets (command, respond, context) after the ack."""
        self.help.setdefault("/revalign", []).extend(HelpEntry(u, s) for u, s in usage)

        def decorator(fn):
            self.subcommands[word] = fn
            return fn

        return decorator

    # Actions, view submissions and block suggestions live inside our own
    # messages and modals, so they have no manifest entry.
    def action(self, constraints):
        return self._register(self.app.action(constraints))

    def view(self, constraints):
        return self._register(self.app.view(constraints))

    def options(self, constraints):
        return self._register(self.app.options(constraints))
