"""Agenda items and action items, the agenda of the next meeting, and closing a meeting."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.render import blocks as bk
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.meetings import schedules as sch
from bot.meetings import sources
from bot.models import Role
from bot.models.scheduling import ActionItem, AgendaItem, Schedule
from bot.roles import parse_user_ref, role_of

MAX_TEXT = 500
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- agenda items ------------------------------------------------------------------------
def add_item(session: Session, author: str, text: str, now: datetime) -> AgendaItem:
    text = " ".join(text.split())
    if not text:
        raise InvalidInput("Say what to discuss: `/agenda add <text>`, e.g. `/agenda add Lead routing is slow for EMEA`.")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"Keep an agenda item under {MAX_TEXT} characters (yours has {len(text)}).")
    item = AgendaItem(text=text, author=author, status="open", created_at=now)
    session.add(item)
    session.flush()
    return item


def parse_number(text: str, usage: str) -> int:
    cleaned = text.strip().lstrip("#")
    if not cleaned.isdigit() or int(cleaned) <= 0 or len(cleaned) > 9:
        raise InvalidInput(f"Give the item's number as shown in `/agenda`, e.g. `{usage}`.")
    return int(cleaned)


def remove_item(session: Session, user_id: str, number: int, now: datetime) -> AgendaItem:
    item = session.get(AgendaItem, number)
    if item is None or item.status != "open":
        raise NotFound(f"There is no open agenda item #{number}; `/agenda` lists them.")
    if item.author != user_id and role_of(session, user_id) != Role.admin:
        raise PermissionDenied(f"Only the person who raised #{number} (<@{item.author}>) or an admin can remove it.")
    item.status, item.closed_at, item.closed_by = "removed", now, user_id
    session.flush()
    return item


def open_items(session: Session) -> list[AgendaItem]:
    return list(session.scalars(select(AgendaItem).where(AgendaItem.status == "open").order_by(AgendaItem.id)))


# --- action items ----------------------------------------------------------------------------
def parse_action(text: str) -> tuple[str, date, str]:
    """`@owner 2026-12-01 text` → (owner id, due date, text)."""
    parts = text.split(None, 2)
    usage = "`/agenda action @owner 2026-12-01 what needs doing`"
    if len(parts) < 3:
        raise InvalidInput(f"Give an owner, a due date and what to do: {usage}.")
    owner = parse_user_ref(parts[0])
    if not _DATE.match(parts[1]):
        raise InvalidInput(f"'{bk.quote_user_text(parts[1], 20)}' is not a date; use YYYY-MM-DD: {usage}.")
    try:
        due = date.fromisoformat(parts[1])
    except ValueError:
        raise InvalidInput(f"'{parts[1]}' is not a real date; use YYYY-MM-DD: {usage}.") from None
    action_text = " ".join(parts[2].split())
    if len(action_text) > MAX_TEXT:
        raise InvalidInput(f"Keep an action under {MAX_TEXT} characters (yours has {len(action_text)}).")
    return owner, due, action_text


def add_action(session: Session, created_by: str, owner: str, due: date, text: str, now: datetime) -> ActionItem:
    action = ActionItem(text=text, owner=owner, due=due, status="open", created_by=created_by, created_at=now)
    session.add(action)
    session.flush()
    return action


def complete_action(session: Session, user_id: str, number: int, now: datetime) -> ActionItem:
    action = session.get(ActionItem, number)
    if action is None:
        raise NotFound(f"There is no action #{number}; `/agenda` lists the open ones.")
    if action.status == "done":
        raise InvalidInput(f"Action #{number} was already done on {action.done_at:%Y-%m-%d} by <@{action.done_by}>.")
    action.status, action.done_at, action.done_by = "done", now, user_id
    session.flush()
    return action


def open_actions(session: Session, today: date) -> list[ActionItem]:
    """Open actions, overdue ones first (oldest due first), then by due date."""
    rows = list(session.scalars(select(ActionItem).where(ActionItem.status == "open")))
    return sorted(rows, key=lambda a: (a.due >= today, a.due, a.id))


# --- meetings ------------------------------------------------------------------------------
def next_meeting(session: Session, now: datetime) -> tuple[Schedule, datetime] | None:
    schedule = sch.get_schedule(session, sch.AGENDA)
    if schedule is None or not schedule.enabled:
        return None
    at = sch.next_occurrence(schedule, now - timedelta(minutes=schedule.duration_minutes))
    return (schedule, at) if at else None


def last_meeting(schedule: Schedule, now: datetime) -> datetime | None:
    """The most recent meeting that has ended (start + duration <= now) since the schedule was set."""
    ended_by = now - timedelta(minutes=schedule.duration_minutes)
    # Only meetings that started after the schedule was set (or changed) count.
    start = max(schedule.active_since + timedelta(seconds=1), now - sch.LOOKBACK)
    found = None
    for at in sch.occurrences(schedule, start, ended_by):
        found = at
    return found


def close_meeting(session: Session, schedule: Schedule, now: datetime) -> int:
    """After a meeting ends, items raised before it are closed as discussed; open actions carry over.

    Idempotent (a conditional UPDATE), so every tick of every process may run it.
    """
    at = last_meeting(schedule, now)
    if at is None:
        return 0
    result = session.execute(
        update(AgendaItem)
        .where(AgendaItem.status == "open", AgendaItem.created_at <= at)
        .values(status="discussed", closed_at=now, closed_by="meeting", meeting_period=sch.period_of(schedule, at))
    )
    return result.rowcount or 0


@dataclass
class Agenda:
    schedule: Schedule | None
    meeting_at: datetime | None
    today: date
    items: list[AgendaItem]
    actions: list[ActionItem]
    kpis: sources.Section | None = None
    definitions: sources.Section | None = None
    gaps: sources.Section | None = None
    kpi_period: str = ""


def build_agenda(session: Session, services, now: datetime, *, meeting_at: datetime | None = None,
                 full: bool = True) -> Agenda:
    """The agenda of the next meeting (or of the meeting at `meeting_at`)."""
    schedule = sch.get_schedule(session, sch.AGENDA)
    if meeting_at is None and schedule is not None and schedule.enabled:
        # The meeting in progress, else the next one.
        meeting_at = sch.next_occurrence(schedule, now - timedelta(minutes=schedule.duration_minutes))
    tz = ZoneInfo(schedule.timezone if schedule else services.settings.timezone)
    today = now.astimezone(tz).date()
    agenda = Agenda(schedule, meeting_at, today, open_items(session), open_actions(session, today))
    if full:
        since = (last_meeting(schedule, now) if schedule else None) or now - timedelta(days=7)
        # KPI review: the last complete ISO week before the meeting, in the meeting's time zone.
        reviewed = sources.iso_week(((meeting_at or now) - timedelta(days=7)).astimezone(tz))
        agenda.kpis = sources.kpis_vs_targets(session, reviewed, now, tz=str(tz))
        agenda.kpi_period = reviewed
        agenda.definitions = sources.definition_changes(session, services.settings, since, now)
        agenda.gaps = sources.content_gaps(session, now)
    return agenda


# --- rendering ---------------------------------------------------------------------------------
def _when(moment: datetime, tz: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    fallback = f"{local:%a %d %b %Y, %H:%M} {tz}"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{bk.escape(fallback)}>"


def item_line(item: AgendaItem) -> str:
    return f"*#{item.id}* {bk.quote_user_text(item.text, 300)} — raised by <@{item.author}>"


def action_line(action: ActionItem, today: date) -> str:
    overdue = action.due < today
    flag = f" :warning: *overdue* (due {action.due:%Y-%m-%d})" if overdue else f" — due {action.due:%Y-%m-%d}"
    return f"*#{action.id}* {bk.quote_user_text(action.text, 300)} — <@{action.owner}>{flag}"


def _list_section(title: str, lines: list[str], empty: str) -> list[dict]:
    if not lines:
        return [bk.section(f"*{title}*\n_{empty}_")]
    out, chunk = [], f"*{title}*"
    for line in lines:
        if len(chunk) + len(line) + 1 > 2900:
            out.append(bk.section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    out.append(bk.section(chunk))
    return out


def agenda_blocks(agenda: Agenda, *, max_blocks: int = bk.MAX_BLOCKS_MESSAGE, hints: bool = False) -> list[dict]:
    blocks: list[dict] = []
    if agenda.schedule and agenda.meeting_at:
        blocks.append(bk.header("Sales × marketing alignment: agenda"))
        where = f" in <#{agenda.schedule.channel}>" if (agenda.schedule.channel or "").startswith(("C", "G")) else ""
        blocks.append(bk.context(f"Next meeting {_when(agenda.meeting_at, agenda.schedule.timezone)}{where}"))
    else:
        blocks.append(bk.header("Sales × marketing alignment: open items"))
        blocks.append(bk.context("No meeting is scheduled yet; an admin can set one with "
                                 "`/revalign schedule weekly tue 10:00 America/New_York #sales-marketing`."))
    numbered = [
        (f"KPI review against shared goals ({agenda.kpi_period})", agenda.kpis, "No KPIs."),
        ("Raised by the team", sources.Section(True, [item_line(i) for i in agenda.items]),
         "Nothing raised yet — add a topic with /agenda add <text>."),
        ("Definitions proposed, changed or stale", agenda.definitions, "No definition changes."),
        ("Top content gaps", agenda.gaps, "No open content gaps."),
    ]
    n = 0
    for title, section, empty in numbered:
        if section is None:
            continue
        n += 1
        if section.available:
            blocks += _list_section(f"{n}. {title}", section.lines, empty)
        else:
            blocks += [bk.section(f"*{n}. {title}*"), bk.context(section.note)]
    title = f"{n + 1}. Open action items (overdue first)"
    blocks += _list_section(title, [action_line(a, agenda.today) for a in agenda.actions], "No open actions.")
    if hints:
        blocks.append(bk.context("`/agenda add <text>` · `/agenda remove N` · "
                                 "`/agenda action @owner YYYY-MM-DD <text>` · `/agenda done N`"))
    if len(blocks) > max_blocks:
        blocks = blocks[: max_blocks - 1] + [bk.context("(shortened: more in /agenda)")]
    return blocks


def agenda_text(agenda: Agenda) -> str:
    when = f" — {agenda.meeting_at:%Y-%m-%d %H:%M} UTC" if agenda.meeting_at else ""
    return f"Alignment meeting agenda{when}: {len(agenda.items)} topic(s), {len(agenda.actions)} open action(s)"
