"""Registers listeners on a Bolt app and remembers what it registered.

The manifest test compares what is remembered here with `app.yaml`, so a
command without a handler (or a handler without a manifest entry) fails CI.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slack_bolt import App


@dataclass
class HelpEntry:
    usage: str
    summary: str


@dataclass
class Registrar:
    app: App
    commands: set[str] = field(default_factory=set)
    shortcuts: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    help: dict[str, list[HelpEntry]] = field(default_factory=dict)
    # `/revalign <word>` subcommands other features add (e.g. `schedule`).
    subcommands: dict = field(default_factory=dict)

    def command(self, name: str, *, help: list[tuple[str, str]] | None = None):
        self.commands.add(name)
        if help:
            self.help[name] = [HelpEntry(usage, summary) for usage, summary in help]
        return self.app.command(name)

    def shortcut(self, callback_id: str):
        self.shortcuts.add(callback_id)
        return self.app.shortcut(callback_id)

    def event(self, name: str):
        self.events.add(name)
        return self.app.event(name)

    def revalign_subcommand(self, word: str, usage: list[tuple[str, str]]):
        """Add `/revalign <word>`: the handler gets (command, respond) after the ack."""
        self.help.setdefault("/revalign", []).extend(HelpEntry(u, s) for u, s in usage)

        def decorator(fn):
            self.subcommands[word] = fn
            return fn

        return decorator

    # Actions, view submissions and block suggestions live inside our own
    # messages and modals, so they have no manifest entry.
    def action(self, constraints):
        return self.app.action(constraints)

    def view(self, constraints):
        return self.app.view(constraints)

    def options(self, constraints):
        return self.app.options(constraints)
