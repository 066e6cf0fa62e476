"""Schedules: parsing `weekly tue 10:00 America/New_York #channel --agenda-lead 2h`, the defaults,
and the DST-correct occurrences of a schedule (APScheduler's CronTrigger with a ZoneInfo)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import InvalidInput
from bot.models.scheduling import Schedule

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))
CADENCES = ("weekly", "daily")
AGENDA, DIGEST = "agenda", "digest"
DEFAULT_AGENDA_LEAD_MINUTES = 120
DEFAULT_AGENDA_GRACE_MINUTES = 60
DEFAULT_DIGEST_GRACE_MINUTES = 6 * 60
# How far back a start-up looks for occurrences to send or record as missed.
LOOKBACK = timedelta(days=14)

_DURATION = re.compile(r"^(\d{1,4})\s*(m|min|h|d)?$")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]{2,30})(?:\|[^>]*)?>$|^#?([CG][A-Z0-9]{6,30})$|^#([a-z0-9][a-z0-9_-]{0,79})$")


@dataclass
class ScheduleSpec:
    cadence: str
    day_of_week: str
    hour: int
    minute: int
    timezone: str
    channel: str
    lead_minutes: int
    grace_minutes: int


def parse_duration(text: str, what: str) -> int:
    """Minutes from '90', '90m', '2h', '1d'."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise InvalidInput(f"{what} must look like 30m, 2h or 1d, not '{text[:20]}'.")
    value, unit = int(match.group(1)), match.group(2) or "m"
    minutes = value * {"m": 1, "min": 1, "h": 60, "d": 1440}[unit]
    if minutes > 7 * 1440:
        raise InvalidInput(f"{what} can be at most 7 days.")
    return minutes


def parse_time(text: str) -> tuple[int, int]:
    match = _TIME.match(text.strip().lower())
    if not match:
        raise InvalidInput(f"'{text[:20]}' is not a time; use 24-hour HH:MM such as 10:00 or 14:30.")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if match.group(3):
        if not 1 <= hour <= 12:
            raise InvalidInput(f"'{text[:20]}' is not a time.")
        hour = hour % 12 + (12 if match.group(3) == "pm" else 0)
    if hour > 23 or minute > 59:
        raise InvalidInput(f"'{text[:20]}' is not a time; use 24-hour HH:MM such as 10:00 or 14:30.")
    return hour, minute


def parse_timezone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"'{text[:40]}' is not a time zone; use an IANA name such as America/New_York.") from None
    return text


def parse_channel(text: str) -> str:
    match = _CHANNEL.match(text.strip())
    if not match:
        raise InvalidInput("Name the channel as #channel (e.g. #sales-marketing) or a channel ID such as C0123456789.")
    return match.group(1) or match.group(2) or "#" + match.group(3)


SCHEDULE_USAGE = "weekly tue 10:00 America/New_York #sales-marketing [--agenda-lead 2h] [--grace 1h]"


def parse_schedule(words: list[str]) -> ScheduleSpec:
    """`weekly tue 10:00 America/New_York #sales-marketing [--agenda-lead 2h] [--grace 1h]`
    (or `daily 09:30 Europe/Berlin #standup`)."""
    options = {"--agenda-lead": None, "--grace": None}
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        key, _, inline = word.partition("=")
        if key.lower() in options:
            if inline:
                options[key.lower()] = inline
            elif i + 1 < len(words):
                options[key.lower()] = words[i + 1]
                i += 1
            else:
                raise InvalidInput(f"{key} needs a value, e.g. {key} 2h.")
        elif word.startswith("--"):
            raise InvalidInput(f"Unknown option {word[:20]}. Usage: {SCHEDULE_USAGE}")
        else:
            positional.append(word)
        i += 1
    if not positional or positional[0].lower() not in CADENCES:
        raise InvalidInput(f"Start with weekly or daily. Usage: {SCHEDULE_USAGE}")
    cadence = positional[0].lower()
    expected = 5 if cadence == "weekly" else 4
    if len(positional) != expected:
        raise InvalidInput(f"Usage: {SCHEDULE_USAGE}")
    rest = positional[1:]
    if cadence == "weekly":
        day = rest.pop(0).lower()[:3]
        if day not in DAYS:
            raise InvalidInput(f"'{positional[1][:12]}' is not a weekday; use mon, tue, wed, thu, fri, sat or sun.")
    else:
        day = "*"
    hour, minute = parse_time(rest[0])
    tz = parse_timezone(rest[1])
    channel = parse_channel(rest[2])
    lead = parse_duration(options["--agenda-lead"], "--agenda-lead") if options["--agenda-lead"] else DEFAULT_AGENDA_LEAD_MINUTES
    grace = parse_duration(options["--grace"], "--grace") if options["--grace"] else DEFAULT_AGENDA_GRACE_MINUTES
    return ScheduleSpec(cadence, day, hour, minute, tz, channel, lead, grace)


# --- storage ----------------------------------------------------------------------------
def get_schedule(session: Session, kind: str) -> Schedule | None:
    return session.scalars(select(Schedule).where(Schedule.kind == kind)).one_or_none()


def set_meeting(session: Session, spec: ScheduleSpec, *, by: str, now: datetime) -> Schedule:
    schedule = get_schedule(session, AGENDA)
    if schedule is None:
        schedule = Schedule(kind=AGENDA, updated_by=by)
        session.add(schedule)
    schedule.cadence, schedule.day_of_week = spec.cadence, spec.day_of_week
    schedule.hour, schedule.minute, schedule.timezone = spec.hour, spec.minute, spec.timezone
    schedule.channel, schedule.lead_minutes, schedule.grace_minutes = spec.channel, spec.lead_minutes, spec.grace_minutes
    schedule.duration_minutes = schedule.duration_minutes or 60
    schedule.enabled = True
    # A changed schedule starts afresh: nothing before now is sent or counted as missed.
    schedule.active_since, schedule.updated_by, schedule.updated_at = now, by, now
    session.flush()
    return schedule


def set_enabled(session: Session, kind: str, enabled: bool, *, by: str, now: datetime) -> Schedule:
    schedule = get_schedule(session, kind)
    if schedule is None:
        raise InvalidInput(f"There is no {kind} schedule yet.")
    if enabled and not schedule.enabled:
        schedule.active_since = now
    schedule.enabled, schedule.updated_by, schedule.updated_at = enabled, by, now
    session.flush()
    return schedule


def ensure_defaults(session: Session, settings, now: datetime) -> None:
    """The weekly digest (Monday 08:00 in the workspace time zone, to the heads) exists from first use."""
    if get_schedule(session, DIGEST) is None:
        from sqlalchemy.exc import IntegrityError

        try:
            with session.begin_nested():
                session.add(Schedule(kind=DIGEST, cadence="weekly", day_of_week="mon", hour=8, minute=0,
                                     timezone=settings.timezone, channel=None, lead_minutes=0,
                                     grace_minutes=DEFAULT_DIGEST_GRACE_MINUTES, duration_minutes=0,
                                     enabled=True, active_since=now, updated_by="default", updated_at=now))
        except IntegrityError:
            pass  # another process created it at the same moment


# --- time ----------------------------------------------------------------------------------
def trigger_for(schedule: Schedule):
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(day_of_week=schedule.day_of_week, hour=schedule.hour, minute=schedule.minute,
                       timezone=ZoneInfo(schedule.timezone))


def occurrences(schedule: Schedule, start: datetime, end: datetime) -> Iterator[datetime]:
    """Event times (meeting start, or digest time) with start <= t <= end, DST-correct, aware."""
    trigger = trigger_for(schedule)
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire <= end:
        yield fire
        fire = trigger.get_next_fire_time(None, fire + timedelta(seconds=1))


def next_occurrence(schedule: Schedule, after: datetime) -> datetime | None:
    """The first occurrence strictly after `after`."""
    return trigger_for(schedule).get_next_fire_time(None, after + timedelta(seconds=1))


def period_of(schedule: Schedule, event_at: datetime) -> str:
    """The delivery key's period: the ISO week (weekly) or local date (daily) of the occurrence."""
    local = event_at.astimezone(ZoneInfo(schedule.timezone))
    if schedule.cadence == "daily":
        return local.date().isoformat()
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def reported_week(schedule: Schedule, event_at: datetime) -> str:
    """The ISO week a digest reports on: that of the last full day before it (Monday → last week)."""
    local = (event_at.astimezone(ZoneInfo(schedule.timezone)) - timedelta(days=1)).date()
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def describe(schedule: Schedule) -> str:
    time = f"{schedule.hour:02d}:{schedule.minute:02d} {schedule.timezone}"
    when = f"every {DAY_NAMES[schedule.day_of_week]}" if schedule.cadence == "weekly" else "every day"
    return f"{when} at {time}"


def format_minutes(minutes: int) -> str:
    if minutes and minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes and minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
