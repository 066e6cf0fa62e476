"""`/agenda` (the next alignment meeting's agenda and action items) and `/revalign schedule`."""

from __future__ import annotations

from bot.render import blocks as bk
from bot.errors import InvalidInput
from bot.meetings import agenda as ag
from bot.meetings import schedules as sch
from bot.models import Role
from bot.roles import require_role
from bot.services import Services
from handlers.registry import Registrar

AGENDA_HELP = [
    ("/agenda", "the next sales-marketing meeting's agenda and open action items"),
    ("/agenda add TEXT", "raise a friction point or idea for the next meeting"),
    ("/agenda remove N", "remove agenda item N (its author or an admin)"),
    ("/agenda action @owner 2026-12-01 TEXT", "record an action item with an owner and a due date"),
    ("/agenda done N", "mark action item N done"),
]
SCHEDULE_HELP = [
    ("/revalign schedule", "when the alignment meeting and the weekly digest happen"),
    ("/revalign schedule weekly tue 10:00 America/New_York #sales-marketing [--agenda-lead 2h] [--grace 1h]",
     "set the meeting (admins); the agenda is posted --agenda-lead before it"),
    ("/revalign schedule disable|enable agenda|digest", "pause or resume a schedule (admins)"),
]


def register(registrar: Registrar, services: Services) -> None:
    @registrar.command("/agenda", help=AGENDA_HELP)
    def agenda_command(ack, command, respond) -> None:
        ack()
        respond(**agenda_reply(services, command["user_id"], command.get("text", "")))

    @registrar.revalign_subcommand("schedule", SCHEDULE_HELP)
    def schedule_command(command, respond) -> None:
        words = command.get("text", "").split()[1:]
        respond(**schedule_reply(services, command["user_id"], words))


def agenda_reply(services: Services, user_id: str, text: str) -> dict:
    verb, _, rest = text.strip().partition(" ")
    verb = verb.lower()
    now = services.now()
    with services.db.session() as session:
        if verb in ("", "list", "show"):
            agenda = ag.build_agenda(session, services, now)
            return bk.ephemeral(ag.agenda_text(agenda), ag.agenda_blocks(agenda, hints=True))
        if verb == "add":
            item = ag.add_item(session, user_id, rest, now)
            return bk.ephemeral(f"Added #{item.id} to the agenda", [
                bk.section(f":memo: Added to the next meeting's agenda as *#{item.id}*: "
                           f"{bk.quote_user_text(item.text, 300)}"),
                bk.context("`/agenda` shows the whole agenda · `/agenda remove "
                           f"{item.id}` takes it off again"),
            ])
        if verb == "remove":
            item = ag.remove_item(session, user_id, ag.parse_number(rest, "/agenda remove 3"), now)
            return bk.ephemeral(f"Removed #{item.id}", [
                bk.section(f"Removed agenda item *#{item.id}*: {bk.quote_user_text(item.text, 300)}")])
        if verb == "action":
            owner, due, action_text = ag.parse_action(rest)
            action = ag.add_action(session, user_id, owner, due, action_text, now)
            today = ag.build_agenda(session, services, now, full=False).today
            late = " (that date has already passed, so it shows as overdue)" if due < today else ""
            return bk.ephemeral(f"Action #{action.id} recorded", [
                bk.section(f":white_check_mark: Action *#{action.id}* for <@{owner}>, due {due:%Y-%m-%d}{late}: "
                           f"{bk.quote_user_text(action.text, 300)}"),
                bk.context(f"`/agenda done {action.id}` when it is done"),
            ])
        if verb == "done":
            action = ag.complete_action(session, user_id, ag.parse_number(rest, "/agenda done 2"), now)
            return bk.ephemeral(f"Action #{action.id} done", [
                bk.section(f":tada: Action *#{action.id}* is done: {bk.quote_user_text(action.text, 300)}")])
    raise InvalidInput(f"I don't know `/agenda {bk.quote_user_text(verb, 20)}`. Try `/agenda`, `/agenda add TEXT`, "
                       "`/agenda remove N`, `/agenda action @owner 2026-12-01 TEXT` or `/agenda done N`.")


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
        elif words:
            require_role(session, user_id, [Role.admin], "change the meeting schedule")
            sch.set_meeting(session, sch.parse_schedule(words), by=user_id, now=now)
            intro = ":calendar: Meeting schedule saved."
        else:
            intro = ""
        lines = [_schedule_line(sch.get_schedule(session, kind), now) for kind in (sch.AGENDA, sch.DIGEST)]
    blocks = ([bk.section(intro)] if intro else []) + [bk.section("*Schedules*\n" + "\n".join(lines)),
                                                      bk.context(f"Admins: `/revalign schedule {sch.SCHEDULE_USAGE}`")]
    return bk.ephemeral(intro or "revalign schedules", blocks)


def _schedule_line(schedule, now) -> str:
    if schedule is None:
        return "• *Alignment meeting*: not scheduled yet"
    if schedule.kind == sch.AGENDA:
        where = f"<#{schedule.channel}>" if schedule.channel[:1] in ("C", "G") else bk.escape(schedule.channel)
        line = (f"• *Alignment meeting*: {sch.describe(schedule)} in {where}; agenda posted "
                f"{sch.format_minutes(schedule.lead_minutes)} before (grace {sch.format_minutes(schedule.grace_minutes)})")
    else:
        line = f"• *Weekly KPI digest*: {sch.describe(schedule)} to the department heads"
    if not schedule.enabled:
        return line + " — *off*"
    nxt = sch.next_occurrence(schedule, now)
    return line + (f" — next <!date^{int(nxt.timestamp())}^{{date_short_pretty}} at {{time}}|"
                   f"{nxt:%Y-%m-%d %H:%M %Z}>" if nxt else "")
