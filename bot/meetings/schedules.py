"""Schedules: parsing `weekly tue 10:00 America/New_York #channel --agenda-lead 2h`, the defaults,
and the DST-correct occurrences of a schedule (APScheduler's CronTrigger with a ZoneInfo)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import InvalidInput
from bot.kpis.periods import week_of
from bot.models.scheduling import Schedule
from bot.render.blocks import escape

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True))
CADENCES = ("weekly", "biweekly", "monthly", "daily")
# "every two weeks" and friends, as the person may type them (after lower-casing).
_CADENCE_WORDS = {
    **{cadence: cadence for cadence in CADENCES},
    "fortnightly": "biweekly",
    "every-2-weeks": "biweekly",
    "every-other-week": "biweekly",
}
_MULTIWORD = {
    ("every", "2", "weeks"): "biweekly",
    ("every", "two", "weeks"): "biweekly",
    ("every", "other", "week"): "biweekly",
    ("every", "week"): "weekly",
    ("every", "day"): "daily",
    ("every", "month"): "monthly",
}
ORDINAL_NAMES = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "last": "last"}
# "first" or "1st" as typed → "1st"
ORDINALS = {**{o: o for o in ORDINAL_NAMES}, **{name: o for o, name in ORDINAL_NAMES.items()}}
AGENDA, DIGEST = "agenda", "digest"
DEFAULT_AGENDA_LEAD_MINUTES = 120
DEFAULT_AGENDA_GRACE_MINUTES = 60
DEFAULT_DIGEST_GRACE_MINUTES = 6 * 60
# How far back a start-up looks for occurrences to send or record as missed.
LOOKBACK = timedelta(days=14)

_DURATION = re.compile(r"^(\d{1,4})\s*(m|min|h|d)?$")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]{2,30})(?:\|[^>]*)?>$|^#?([CG][A-Z0-9]{6,30})$|^#([a-z0-9][a-z0-9_-]{0,79})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class ScheduleSpec:
    cadence: str
    day_of_week: str  # "tue" (weekly, biweekly), "*" (daily), or a monthly day: "1st tue", "last thu", "15", "last"
    hour: int
    minute: int
    timezone: str
    channel: str | None
    lead_minutes: int
    grace_minutes: int
    anchor_date: date | None = None  # biweekly: a date of one of its meetings


def parse_duration(text: str, what: str) -> int:
    """Minutes from '90', '90m', '2h', '1d'."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise InvalidInput(f"{what} must look like 30m, 2h or 1d, not '{escape(text[:20])}'.")
    value, unit = int(match.group(1)), match.group(2) or "m"
    minutes = value * {"m": 1, "min": 1, "h": 60, "d": 1440}[unit]
    if minutes > 7 * 1440:
        raise InvalidInput(f"{what} can be at most 7 days.")
    return minutes


def parse_time(text: str) -> tuple[int, int]:
    match = _TIME.match(text.strip().lower())
    if not match:
        raise InvalidInput(f"'{escape(text[:20])}' is not a time; use 24-hour HH:MM such as 10:00 or 14:30.")
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
        raise InvalidInput(
            f"'{escape(text[:40])}' is not a time zone; use an IANA name such as America/New_York."
        ) from None
    return text


def parse_channel(text: str) -> str:
    match = _CHANNEL.match(text.strip())
    if not match:
        raise InvalidInput("Name the channel as #channel (e.g. #sales-marketing) or a channel ID such as C0123456789.")
    return match.group(1) or match.group(2) or "#" + match.group(3)


def parse_weekday(text: str) -> str:
    day = text.lower()[:3]
    if day not in DAYS:
        raise InvalidInput(f"'{escape(text[:12])}' is not a weekday; use mon, tue, wed, thu, fri, sat or sun.")
    return day


SCHEDULE_USAGE = (
    "weekly|biweekly tue 10:00 America/New_York #sales-marketing · monthly first tue … · "
    "monthly 15 … · daily 09:30 … [--agenda-lead 2h] [--grace 1h]"
)
DIGEST_USAGE = "weekly mon 08:00 Europe/Berlin (or biweekly, monthly first mon, monthly 1, daily)"


def _options(words: list[str], names: tuple[str, ...], usage: str) -> tuple[list[str], dict[str, str | None]]:
    options: dict[str, str | None] = dict.fromkeys(names)
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
            raise InvalidInput(f"Unknown option {escape(word[:20])}. Usage: {usage}")
        else:
            positional.append(word)
        i += 1
    return positional, options


def _cadence(positional: list[str]) -> tuple[str, list[str]]:
    """The cadence and the words after it; "first Tuesday …" alone means monthly."""
    lowered = [w.lower() for w in positional]
    for phrase, cadence in _MULTIWORD.items():
        if tuple(lowered[: len(phrase)]) == phrase:
            return cadence, positional[len(phrase) :]
    if lowered and lowered[0] in _CADENCE_WORDS:
        return _CADENCE_WORDS[lowered[0]], positional[1:]
    if lowered and lowered[0] in ORDINALS:
        return "monthly", positional
    raise InvalidInput("Start with weekly, biweekly (every 2 weeks), monthly or daily.")


def _monthly_day(words: list[str]) -> tuple[str, list[str]]:
    """`first tue`, `last thursday`, `15`, `15th` or `last day` → APScheduler's day expression."""
    if not words:
        raise InvalidInput("Say which day of the month: `monthly first tue …`, `monthly last thu …` or `monthly 15 …`.")
    first = words[0].lower()
    if first == "on" and len(words) > 1:
        return _monthly_day(words[1:])
    if first in ORDINALS and len(words) > 1 and words[1].lower() in ("day", "day-of-month"):
        if first != "last":
            raise InvalidInput("For a date, give its number: `monthly 1 09:00 …` (or `monthly last day …`).")
        return "last", words[2:]
    if first in ORDINALS:
        if len(words) < 2:
            raise InvalidInput("Say which weekday: e.g. `monthly first tue 10:00 …`.")
        return f"{ORDINALS[first]} {parse_weekday(words[1])}", words[2:]
    number = first.rstrip("stndrh")
    if number.isdigit() and 1 <= int(number) <= 28:
        return str(int(number)), words[1:]
    if number.isdigit() and 29 <= int(number) <= 31:
        raise InvalidInput(f"Not every month has a {number}th: use 1–28, or `monthly last day …`.")
    raise InvalidInput(
        f"'{escape(words[0][:12])}' is not a day of the month; use e.g. `first tue`, `last thu` or `15`."
    )


def parse_schedule(words: list[str], *, channel: bool = True, now: datetime | None = None) -> ScheduleSpec:
    """`weekly tue 10:00 America/New_York #sales-marketing [--agenda-lead 2h] [--grace 1h]`, also
    `biweekly tue … [--from 2026-12-08]`, `monthly first tue …`, `monthly last thu …`, `monthly 15 …`
    and `daily 09:30 …`. Without `channel` (the digest) there is no channel word."""
    usage = SCHEDULE_USAGE if channel else DIGEST_USAGE
    positional, options = _options(words, ("--agenda-lead", "--grace", "--from"), usage)
    if not positional:
        raise InvalidInput(f"Start with weekly, biweekly (every 2 weeks), monthly or daily. Usage: {usage}")
    try:
        cadence, rest = _cadence(positional)
    except InvalidInput as exc:
        raise InvalidInput(f"{exc} Usage: {usage}") from None
    if cadence in ("weekly", "biweekly"):
        if not rest:
            raise InvalidInput(f"Usage: {usage}")
        day, rest = parse_weekday(rest[0]), rest[1:]
    elif cadence == "monthly":
        day, rest = _monthly_day(rest)
    else:
        day = "*"
    expected = 3 if channel else 2
    if len(rest) != expected:
        raise InvalidInput(f"Usage: {usage}")
    hour, minute = parse_time(rest[0])
    tz = parse_timezone(rest[1])
    where = parse_channel(rest[2]) if channel else None
    lead = (
        parse_duration(options["--agenda-lead"], "--agenda-lead")
        if options["--agenda-lead"]
        else DEFAULT_AGENDA_LEAD_MINUTES
    )
    grace = (
        parse_duration(options["--grace"], "--grace")
        if options["--grace"]
        else (DEFAULT_AGENDA_GRACE_MINUTES if channel else DEFAULT_DIGEST_GRACE_MINUTES)
    )
    anchor = None
    if cadence == "biweekly":
        anchor = _anchor(options["--from"], day, tz, now)
    elif options["--from"]:
        raise InvalidInput("--from only applies to biweekly schedules (which week to start).")
    return ScheduleSpec(cadence, day, hour, minute, tz, where, lead if channel else 0, grace, anchor)


def _anchor(text: str | None, day: str, tz: str, now: datetime | None) -> date:
    """The first meeting's date: --from YYYY-MM-DD (on the weekday), else the next such weekday."""
    if text:
        if not _DATE.match(text):
            raise InvalidInput(f"--from must be a date such as 2026-12-08, not '{escape(text[:20])}'.")
        try:
            start = date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"--from {text[:20]} is not a real date.") from None
        if DAYS[start.weekday()] != day:
            raise InvalidInput(
                f"--from {start:%Y-%m-%d} is a {DAY_NAMES[DAYS[start.weekday()]]}, not a {DAY_NAMES[day]}."
            )
        return start
    today = (now or datetime.now(ZoneInfo("UTC"))).astimezone(ZoneInfo(tz)).date()
    return today + timedelta(days=(DAYS.index(day) - today.weekday()) % 7)


# --- storage ----------------------------------------------------------------------------
def get_schedule(session: Session, kind: str) -> Schedule | None:
    return session.scalars(select(Schedule).where(Schedule.kind == kind)).one_or_none()


def _apply(schedule: Schedule, spec: ScheduleSpec, *, by: str, now: datetime) -> None:
    schedule.cadence, schedule.day_of_week, schedule.anchor_date = spec.cadence, spec.day_of_week, spec.anchor_date
    schedule.hour, schedule.minute, schedule.timezone = spec.hour, spec.minute, spec.timezone
    schedule.lead_minutes, schedule.grace_minutes = spec.lead_minutes, spec.grace_minutes
    schedule.enabled = True
    # A changed schedule starts afresh: nothing before now is sent or counted as missed.
    schedule.active_since, schedule.updated_by, schedule.updated_at = now, by, now


def set_meeting(session: Session, spec: ScheduleSpec, *, by: str, now: datetime) -> Schedule:
    schedule = get_schedule(session, AGENDA)
    if schedule is None:
        schedule = Schedule(kind=AGENDA, updated_by=by)
        session.add(schedule)
    _apply(schedule, spec, by=by, now=now)
    schedule.channel = spec.channel
    schedule.duration_minutes = schedule.duration_minutes or 60
    session.flush()
    return schedule


def set_digest(session: Session, spec: ScheduleSpec, *, by: str, settings, now: datetime) -> Schedule:
    """The KPI digest on any cadence; it goes to the department heads."""
    ensure_defaults(session, settings, now)
    schedule = get_schedule(session, DIGEST)
    assert schedule is not None
    _apply(schedule, spec, by=by, now=now)
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
                session.add(
                    Schedule(
                        kind=DIGEST,
                        cadence="weekly",
                        day_of_week="mon",
                        hour=8,
                        minute=0,
                        timezone=settings.timezone,
                        channel=None,
                        lead_minutes=0,
                        grace_minutes=DEFAULT_DIGEST_GRACE_MINUTES,
                        duration_minutes=0,
                        enabled=True,
                        active_since=now,
                        updated_by="default",
                        updated_at=now,
                    )
                )
        except IntegrityError:
            pass  # another process created it at the same moment


# --- time ----------------------------------------------------------------------------------
def trigger_for(schedule: Schedule):
    from apscheduler.triggers.cron import CronTrigger

    zone = ZoneInfo(schedule.timezone)
    if schedule.cadence == "monthly":
        return CronTrigger(day=schedule.day_of_week, hour=schedule.hour, minute=schedule.minute, timezone=zone)
    return CronTrigger(day_of_week=schedule.day_of_week, hour=schedule.hour, minute=schedule.minute, timezone=zone)


def _in_cycle(schedule: Schedule, fire: datetime) -> bool:
    """Biweekly: only the weeks 0, 2, 4… from the anchor date (counted in local dates, so DST-proof)."""
    if schedule.cadence != "biweekly" or schedule.anchor_date is None:
        return True
    local = fire.astimezone(ZoneInfo(schedule.timezone)).date()
    return (local - schedule.anchor_date).days % 14 == 0


def occurrences(schedule: Schedule, start: datetime, end: datetime) -> Iterator[datetime]:
    """Event times (meeting start, or digest time) with start <= t <= end, DST-correct, aware."""
    trigger = trigger_for(schedule)
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire <= end:
        if _in_cycle(schedule, fire):
            yield fire
        fire = trigger.get_next_fire_time(None, fire + timedelta(seconds=1))


def next_occurrence(schedule: Schedule, after: datetime) -> datetime | None:
    """The first occurrence strictly after `after`."""
    trigger = trigger_for(schedule)
    fire = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
    while fire is not None and not _in_cycle(schedule, fire):
        fire = trigger.get_next_fire_time(None, fire + timedelta(seconds=1))
    return fire


def period_of(schedule: Schedule, event_at: datetime) -> str:
    """The delivery key's period: the ISO week (weekly, biweekly) or the local date (daily, monthly)."""
    local = event_at.astimezone(ZoneInfo(schedule.timezone))
    if schedule.cadence in ("daily", "monthly"):
        return local.date().isoformat()
    return str(week_of(local.date()))


def reported_week(schedule: Schedule, event_at: datetime) -> str:
    """The ISO week a digest reports on: that of the last full day before it (Monday → last week)."""
    return str(week_of((event_at.astimezone(ZoneInfo(schedule.timezone)) - timedelta(days=1)).date()))


def describe(schedule: Schedule) -> str:
    time = f"{schedule.hour:02d}:{schedule.minute:02d} {schedule.timezone}"
    day = schedule.day_of_week
    if schedule.cadence == "weekly":
        when = f"every {DAY_NAMES[day]}"
    elif schedule.cadence == "biweekly":
        start = f" (from {schedule.anchor_date:%Y-%m-%d})" if schedule.anchor_date else ""
        when = f"every other {DAY_NAMES[day]}{start}"
    elif schedule.cadence == "monthly":
        if day == "last":
            when = "the last day of every month"
        elif " " in day:
            ordinal, weekday = day.split()
            when = f"the {ORDINAL_NAMES[ordinal]} {DAY_NAMES[weekday]} of every month"
        else:
            when = f"the {_nth(int(day))} of every month"
    else:
        when = "every day"
    return f"{when} at {time}"


def _nth(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def format_local(moment: datetime, tz: str) -> str:
    """'2026-12-08 10:00 EST (America/New_York)': the wall-clock time where the schedule lives, named."""
    local = moment.astimezone(ZoneInfo(tz))
    abbreviation = local.tzname() or tz
    named = "" if abbreviation == tz else f" ({tz})"
    return f"{local:%Y-%m-%d %H:%M} {abbreviation}{named}"


def format_minutes(minutes: int) -> str:
    if minutes and minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes and minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
