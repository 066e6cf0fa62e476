"""Reporting periods: ISO weeks written "2026-W47", in the workspace's time zone.

ISO-week strings of this shape sort in time order, so they are stored and
compared as plain strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import InvalidInput

_WEEK = re.compile(r"^(\d{4})-?w(\d{1,2})$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Week:
    year: int
    week: int

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def shift(self, weeks: int) -> Week:
        return week_of(self.monday + timedelta(weeks=weeks))

    def label(self) -> str:
        """'2026-W47 (Nov 16–22)'"""
        start, end = self.monday, self.monday + timedelta(days=6)
        if start.month == end.month:
            span = f"{start:%b} {start.day}–{end.day}"
        else:
            span = f"{start:%b} {start.day}–{end:%b} {end.day}"
        return f"{self} ({span})"

    def bounds(self, tz: str = "UTC") -> tuple[datetime, datetime]:
        """[start, end) of the week in UTC, where weeks begin Monday 00:00 in `tz`."""
        zone = ZoneInfo(tz)
        start = datetime.combine(self.monday, time(0), tzinfo=zone)
        end = datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)


def week_of(day: date) -> Week:
    iso = day.isocalendar()
    return Week(iso[0], iso[1])


def current_week(now: datetime, tz: str = "UTC") -> Week:
    return week_of(now.astimezone(ZoneInfo(tz)).date())


def current_period(now: datetime, tz: str = "UTC") -> str:
    return str(current_week(now, tz))


def previous_period(period: str, weeks: int = 1) -> str:
    return str(as_week(period).shift(-weeks))


def last_periods(period: str, count: int) -> list[str]:
    """`count` periods ending with `period`, oldest first."""
    week = as_week(period)
    return [str(week.shift(-i)) for i in range(count - 1, -1, -1)]


def as_week(period: str) -> Week:
    """A stored/canonical period string → Week (raises InvalidInput)."""
    match = _WEEK.match(period.strip().lower())
    if not match:
        raise InvalidInput(f"'{period[:30]}' is not a week; write it like 2026-W47.")
    year, number = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        raise InvalidInput(f"{year} has no week {number}.") from None
    return Week(year, number)


ALLOW_FUTURE_FLAG = "--allow-future"


def refuse_future(period: str, now: datetime, tz: str = "UTC", *, allow_future: bool = False) -> None:
    """Values are facts about weeks that have started: a later week is a typo unless asked for."""
    current = current_period(now, tz)
    if period > current and not allow_future:
        raise InvalidInput(
            f"{period} is after this week ({current}), so nothing can have happened in it yet. "
            f"If you really mean a future week (a plan), add {ALLOW_FUTURE_FLAG}."
        )


def parse_period(text: str | None, now: datetime, tz: str = "UTC") -> str:
    """'2026-W47', 'week 2026-W47', 'W47', 'this week', 'last week', '2026-11-18' → '2026-W47'.

    Empty means the current week.
    """
    cleaned = " ".join((text or "").lower().split())
    for prefix in ("for ", "in ", "of "):
        cleaned = cleaned.removeprefix(prefix)
    if cleaned in ("", "this week", "current", "now", "week"):
        return current_period(now, tz)
    if cleaned in ("last week", "previous week", "prev week"):
        return str(current_week(now, tz).shift(-1))
    if cleaned.startswith("week "):
        cleaned = cleaned[len("week ") :].strip()
    match = re.match(r"^w(\d{1,2})$", cleaned)
    if match:
        cleaned = f"{current_week(now, tz).year}-w{match.group(1)}"
    date_match = _DATE.match(cleaned)
    if date_match:
        try:
            return str(week_of(date.fromisoformat(cleaned)))
        except ValueError:
            raise InvalidInput(f"'{cleaned[:30]}' is not a date.") from None
    if _WEEK.match(cleaned):
        return str(as_week(cleaned))
    raise InvalidInput(
        f"'{(text or '').strip()[:30]}' is not a period. Use an ISO week such as 2026-W47, "
        "'week 2026-W47' or 'last week'."
    )
