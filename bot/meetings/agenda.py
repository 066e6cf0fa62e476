"""Agenda items and action items, the agenda of the next meeting, and closing a meeting.

Domain only: functions take a Session and plain values and return models or dataclasses;
bot/render/agenda.py renders them. Text is stored as the person typed it (decoded, plain).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.kpis.periods import week_of
from bot.meetings import schedules as sch
from bot.meetings import sources
from bot.models import Role
from bot.models.scheduling import ActionItem, AgendaItem, Schedule
from bot.render.blocks import quote_user_text
from bot.roles import parse_user_ref, role_of

MAX_TEXT = 500
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ACTION_USAGE = "`/agenda action @owner 2026-12-01 what needs doing`"
# Besides an action's owner and the person who recorded it, these may close or reassign it.
ACTION_MANAGERS = (Role.sales_head, Role.marketing_head, Role.admin)


# --- agenda items ------------------------------------------------------------------------
def add_item(session: Session, author: str, text: str, now: datetime) -> AgendaItem:
    text = " ".join(text.split())
    if not text:
        raise InvalidInput(
            "Say what to discuss: `/agenda add <text>`, e.g. `/agenda add Lead routing is slow for EMEA`."
        )
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
    if len(parts) < 3:
        raise InvalidInput(f"Give an owner, a due date and what to do: {ACTION_USAGE}.")
    owner = parse_user_ref(parts[0])
    shown = quote_user_text(parts[1], 20)
    if not _DATE.match(parts[1]):
        raise InvalidInput(f"'{shown}' is not a date; use YYYY-MM-DD: {ACTION_USAGE}.")
    try:
        due = date.fromisoformat(parts[1])
    except ValueError:
        raise InvalidInput(f"'{shown}' is not a real date; use YYYY-MM-DD: {ACTION_USAGE}.") from None
    action_text = " ".join(parts[2].split())
    if len(action_text) > MAX_TEXT:
        raise InvalidInput(f"Keep an action under {MAX_TEXT} characters (yours has {len(action_text)}).")
    return owner, due, action_text


def find_duplicate(session: Session, owner: str, text: str) -> ActionItem | None:
    """An open action of the same owner with the same text (case and spacing aside)."""
    wanted = " ".join(text.split()).casefold()
    rows = session.scalars(
        select(ActionItem).where(ActionItem.owner == owner, ActionItem.status == "open").order_by(ActionItem.id)
    )
    return next((r for r in rows if " ".join(r.text.split()).casefold() == wanted), None)


class DuplicateAction(InvalidInput):
    def __init__(self, existing: ActionItem) -> None:
        self.existing = existing
        super().__init__(
            f"<@{existing.owner}> already has this as action #{existing.id} "
            f"(due {existing.due:%Y-%m-%d}); `/agenda` shows it. Nothing was added."
        )


def add_action(session: Session, created_by: str, owner: str, due: date, text: str, now: datetime) -> ActionItem:
    existing = find_duplicate(session, owner, text)
    if existing is not None:
        raise DuplicateAction(existing)
    action = ActionItem(text=text, owner=owner, due=due, status="open", created_by=created_by, created_at=now)
    session.add(action)
    session.flush()
    return action


def _managed_action(session: Session, user_id: str, number: int, verb: str) -> ActionItem:
    action = session.get(ActionItem, number)
    if action is None:
        raise NotFound(f"There is no action #{number}; `/agenda` lists the open ones.")
    if action.status == "done":
        raise InvalidInput(f"Action #{number} was already done on {action.done_at:%Y-%m-%d} by <@{action.done_by}>.")
    if user_id not in (action.owner, action.created_by) and role_of(session, user_id) not in ACTION_MANAGERS:
        raise PermissionDenied(
            f"Only the owner of #{number} (<@{action.owner}>), the person who recorded it "
            f"(<@{action.created_by}>), a department head or an admin can {verb} it."
        )
    return action


def complete_action(session: Session, user_id: str, number: int, now: datetime) -> ActionItem:
    action = _managed_action(session, user_id, number, "close")
    action.status, action.done_at, action.done_by = "done", now, user_id
    session.flush()
    return action


def reassign_action(session: Session, user_id: str, number: int, new_owner: str, now: datetime) -> ActionItem:
    action = _managed_action(session, user_id, number, "reassign")
    if action.owner == new_owner:
        raise InvalidInput(f"Action #{number} already belongs to <@{new_owner}>.")
    existing = find_duplicate(session, new_owner, action.text)
    if existing is not None:
        raise DuplicateAction(existing)
    action.owner = new_owner
    session.flush()
    return action


def open_actions(session: Session, today: date) -> list[ActionItem]:
    """Open actions, overdue ones first (oldest due first), then by due date."""
    rows = list(session.scalars(select(ActionItem).where(ActionItem.status == "open")))
    return sorted(rows, key=lambda a: (a.due >= today, a.due, a.id))


def overdue_actions_of(session: Session, owner: str, today: date) -> list[ActionItem]:
    return [a for a in open_actions(session, today) if a.owner == owner and a.due < today]


def meeting_timezone(session: Session, settings) -> str:
    """The time zone people's dates are in: the meeting's, else the workspace's."""
    schedule = sch.get_schedule(session, sch.AGENDA)
    return schedule.timezone if schedule is not None else settings.timezone


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
    return result.rowcount or 0  # type: ignore[attr-defined]


@dataclass
class Agenda:
    schedule: Schedule | None
    meeting_at: datetime | None
    today: date
    timezone: str
    items: list[AgendaItem]
    actions: list[ActionItem]
    kpis: sources.Section | None = None
    definitions: sources.Section | None = None
    gaps: sources.Section | None = None
    kpi_period: str = ""


def build_agenda(
    session: Session, services, now: datetime, *, meeting_at: datetime | None = None, full: bool = True
) -> Agenda:
    """The agenda of the next meeting (or of the meeting at `meeting_at`)."""
    schedule = sch.get_schedule(session, sch.AGENDA)
    if meeting_at is None and schedule is not None and schedule.enabled:
        # The meeting in progress, else the next one.
        meeting_at = sch.next_occurrence(schedule, now - timedelta(minutes=schedule.duration_minutes))
    tz_name = schedule.timezone if schedule else services.settings.timezone
    tz = ZoneInfo(tz_name)
    today = now.astimezone(tz).date()
    agenda = Agenda(schedule, meeting_at, today, tz_name, open_items(session), open_actions(session, today))
    if full:
        since = (last_meeting(schedule, now) if schedule else None) or now - timedelta(days=7)
        # KPI review: the last complete ISO week before the meeting, in the meeting's time zone.
        reviewed = str(week_of(((meeting_at or now) - timedelta(days=7)).astimezone(tz).date()))
        agenda.kpis = sources.kpis_vs_targets(session, reviewed, now, tz=tz_name)
        agenda.kpi_period = reviewed
        agenda.definitions = sources.definition_changes(session, services.settings, since, now)
        agenda.gaps = sources.content_gaps(session, now)
    return agenda
