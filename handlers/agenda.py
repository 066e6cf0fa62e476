"""`/agenda` (the next alignment meeting's agenda and action items) and `/revalign schedule`."""

from __future__ import annotations

from bot.errors import InvalidInput
from bot.meetings import agenda as ag
from bot.meetings import schedules as sch
from bot.meetings.reminders import notify_assigned
from bot.models import Role
from bot.render import agenda as render
from bot.render.blocks import quote_user_text
from bot.roles import parse_user_ref, require_role
from bot.services import Services
from handlers.registry import Registrar

AGENDA_HELP = [
    ("/agenda", "the next sales-marketing meeting's agenda and open action items"),
    ("/agenda add TEXT", "raise a friction point or idea for the next meeting"),
    ("/agenda remove N", "remove agenda item N (its author or an admin)"),
    ("/agenda action @owner 2026-12-01 TEXT", "record an action item; the owner gets a DM and reminders"),
    ("/agenda done N", "mark action item N done (its owner, its author, a head or an admin)"),
    ("/agenda reassign N @person", "give action item N to someone else (same people)"),
]
SCHEDULE_HELP = [
    ("/revalign schedule", "when the alignment meeting and the KPI digest happen"),
    (
        "/revalign schedule weekly tue 10:00 America/New_York #sales-marketing [--agenda-lead 2h] [--grace 1h]",
        "set the meeting (admins): weekly, biweekly, monthly first tue / last thu / 15, or daily",
    ),
    ("/revalign schedule digest monthly first mon 08:00 Europe/Berlin", "set when the KPI digest goes out (admins)"),
    ("/revalign schedule disable|enable agenda|digest", "pause or resume a schedule (admins)"),
]
UNKNOWN = (
    "Try `/agenda`, `/agenda add TEXT`, `/agenda remove N`, `/agenda action @owner 2026-12-01 TEXT`, "
    "`/agenda done N` or `/agenda reassign N @person`."
)


def register(registrar: Registrar, services: Services) -> None:
    registrar.command("/agenda", help=AGENDA_HELP)(agenda_command)
    registrar.revalign_subcommand("schedule", SCHEDULE_HELP)(schedule_command)


def agenda_command(ack, command, respond, client, context) -> None:
    ack()
    services: Services = context["services"]
    user_id = command["user_id"]
    verb, _, rest = (command.get("text") or "").strip().partition(" ")
    verb, rest, now = verb.lower(), rest.strip(), services.now()
    assigned = None
    with services.db.session() as session:
        if verb in ("", "list", "show"):
            reply = render.agenda_message(ag.build_agenda(session, services, now))
        elif verb == "add":
            reply = render.item_added(ag.add_item(session, user_id, rest, now))
        elif verb == "remove":
            reply = render.item_removed(
                ag.remove_item(session, user_id, ag.parse_number(rest, "/agenda remove 3"), now)
            )
        elif verb == "action":
            owner, due, text = ag.parse_action(rest)
            action = ag.add_action(session, user_id, owner, due, text, now)
            reply, assigned = (
                render.action_recorded(action, ag.build_agenda(session, services, now, full=False).today),
                action.id,
            )
        elif verb == "done":
            reply = render.action_done(
                ag.complete_action(session, user_id, ag.parse_number(rest, "/agenda done 2"), now)
            )
        elif verb == "reassign":
            number, _, who = rest.partition(" ")
            action = ag.reassign_action(
                session, user_id, ag.parse_number(number, "/agenda reassign 2 @person"), parse_user_ref(who), now
            )
            reply, assigned = render.action_reassigned(action), action.id
        else:
            raise InvalidInput(f"I don't know `/agenda {quote_user_text(verb, 20)}`. {UNKNOWN}")
    respond(**reply)
    if assigned is not None:
        notify_assigned(services, client, assigned, by=user_id)


def schedule_command(command, respond, context) -> None:
    respond(**schedule_reply(context["services"], command["user_id"], (command.get("text") or "").split()[1:]))


def schedule_reply(services: Services, user_id: str, words: list[str]) -> dict:
    now = services.now()
    with services.db.session() as session:
        sch.ensure_defaults(session, services.settings, now)
        if words and words[0].lower() in ("disable", "enable", "off", "on"):
            require_role(session, user_id, [Role.admin], "change the schedule")
            if len(words) != 2 or words[1].lower() not in (sch.AGENDA, sch.DIGEST):
                raise InvalidInput("Usage: `/revalign schedule disable agenda` (or enable; agenda or digest).")
            enabled = words[0].lower() in ("enable", "on")
            sch.set_enabled(session, words[1].lower(), enabled, by=user_id, now=now)
            intro = f"The {words[1].lower()} schedule is now {'on' if enabled else 'off'}."
        elif words and words[0].lower() == sch.DIGEST:
            require_role(session, user_id, [Role.admin], "change the digest schedule")
            sch.set_digest(
                session,
                sch.parse_schedule(words[1:], channel=False, now=now),
                by=user_id,
                settings=services.settings,
                now=now,
            )
            intro = ":calendar: Digest schedule saved."
        elif words:
            require_role(session, user_id, [Role.admin], "change the meeting schedule")
            sch.set_meeting(session, sch.parse_schedule(words, now=now), by=user_id, now=now)
            intro = ":calendar: Meeting schedule saved."
        else:
            intro = ""
        return render.schedules_message(intro, [sch.get_schedule(session, k) for k in (sch.AGENDA, sch.DIGEST)], now)
