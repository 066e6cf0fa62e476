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
import threading
import uuid
from dataclasses import dataclass, field

from slack_bolt import App

from bot.errors import RevalignError
from bot.slack_text import defang

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


class WorkGate:
    """Lets at most `slots` listeners do their post-`ack()` work at once, each waiting at most `max_wait` s.

    Under a burst, acks then compete for the CPU with a few working threads instead
    of with every request's work, so each is sent within milliseconds. The wait is
    bounded, so work that must follow quickly (a modal opened with a trigger_id,
    valid for 3 s) is delayed by at most `max_wait`.
    """

    def __init__(self, slots: int, max_wait: float = 1.0) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self.max_wait = max_wait

    def enter(self) -> bool:
        return self._slots.acquire(timeout=self.max_wait)

    def leave(self) -> None:
        self._slots.release()


def guarded(listener, gate: WorkGate | None = None):
    """Wrap a Bolt listener so that its failures become replies instead of Slack errors.

    With a `gate`, the work a listener does after its `ack()` waits for a work slot."""
    wanted = inspect.getfullargspec(listener).args

    def run(args):
        holding = False

        def ack(*ack_args, **ack_kwargs):
            nonlocal holding
            response = args.ack(*ack_args, **ack_kwargs)
            if gate is not None and not holding:
                holding = gate.enter()
            return response

        values = {name: ack if name == "ack" else getattr(args, name) for name in wanted}
        try:
            return listener(**values)
        except RevalignError as error:
            tell_user(args, str(error))
        except Exception as error:  # the last line of defence for a Slack request (logged below)
            ref = uuid.uuid4().hex[:8]
            # The body is left out on purpose: it can carry tokens and user text.
            log.error("listener %s failed (ref %s)", listener.__name__, ref, exc_info=error)
            tell_user(args, SORRY.format(ref=ref))
        finally:
            if holding and gate is not None:
                gate.leave()
        return None

    run.__name__ = listener.__name__
    run.__qualname__ = listener.__qualname__
    run.__doc__ = listener.__doc__
    return run


def tell_user(args, message: str) -> None:
    """Reply with an error or apology.

    The rule for error text: a `RevalignError`'s message is mrkdwn built by the app,
    with user-supplied parts escaped where it is built (`bk.quote_user_text`). This is
    the one place every such message reaches a person, and `defang` makes sure that
    nothing in it can ping a channel or smuggle a link even if a part was not escaped.
    """
    message = defang(message)
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
    work_gate: WorkGate | None = None

    def _register(self, bolt_decorator):
        def decorator(listener):
            bolt_decorator(guarded(listener, self.work_gate))
            return listener

        return decorator

    def command(self, name: str, *, help: list[tuple[str, str]] | None = None):  # noqa: A002 - every feature passes help=
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
