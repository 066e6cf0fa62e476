"""Pure parts of meetings: schedule parsing, DST-correct occurrences, periods, backoff, action parsing."""

from datetime import date, datetime, timedelta, timezone

import pytest

from bot.errors import InvalidInput
from bot.meetings import schedules as sch
from bot.meetings.agenda import parse_action, parse_number
from bot.meetings.delivery import backoff
from bot.models.scheduling import Schedule

UTC = timezone.utc


def meeting(day="tue", hour=10, minute=0, tz="America/New_York", cadence="weekly"):
    return Schedule(kind="agenda", cadence=cadence, day_of_week=day, hour=hour, minute=minute, timezone=tz,
                    channel="C0SALESMKT", lead_minutes=120, grace_minutes=60, duration_minutes=60, enabled=True,
                    active_since=datetime(2026, 1, 1, tzinfo=UTC), updated_by="t")


def test_parse_schedule_full_form():
    spec = sch.parse_schedule("weekly Tuesday 10:00 America/New_York <#C0SALES01|sales-marketing> --agenda-lead 90m".split())
    assert (spec.cadence, spec.day_of_week, spec.hour, spec.minute) == ("weekly", "tue", 10, 0)
    assert (spec.timezone, spec.channel, spec.lead_minutes, spec.grace_minutes) == ("America/New_York", "C0SALES01", 90, 60)
    spec = sch.parse_schedule("daily 2:30pm Europe/Berlin #standup --grace=2h".split())
    assert (spec.day_of_week, spec.hour, spec.minute, spec.channel, spec.grace_minutes) == ("*", 14, 30, "#standup", 120)


@pytest.mark.parametrize("text, message", [
    ("", "monthly or daily"),
    ("weekly tue 10:00 Mars/Olympus #x", "not a time zone"),
    ("weekly tuesdayish 25:00 UTC #x", "not a time"),
    ("weekly xyz 10:00 UTC #x", "not a weekday"),
    ("weekly tue 10:00 UTC nowhere", "channel"),
    ("weekly tue 10:00 UTC #x --agenda-lead forever", "--agenda-lead"),
    ("weekly tue 10:00 UTC #x --bogus 1", "Unknown option"),
    # cadence mistakes are explained
    ("monthly 31 10:00 UTC #x", "Not every month has a 31th"),
    ("monthly fifth tue 10:00 UTC #x", "not a day of the month"),
    ("monthly first 10:00 UTC #x", "not a weekday"),
    ("biweekly tue 10:00 UTC #x --from 2026-10-21", "is a Wednesday, not a Tuesday"),
    ("weekly tue 10:00 UTC #x --from 2026-10-20", "only applies to biweekly"),
    ("fortnightly tue 10:00 UTC", "Usage"),
])
def test_parse_schedule_rejects_bad_input(text, message):
    with pytest.raises(InvalidInput, match=message):
        sch.parse_schedule(text.split())


def test_occurrences_follow_wall_clock_across_dst_autumn_and_spring():
    schedule = meeting()
    # US DST ends Sun 2026-11-01 and starts Sun 2027-03-14: 10:00 New York is 14:00 UTC before, 15:00 after.
    autumn = list(sch.occurrences(schedule, datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC)))
    assert [o.astimezone(UTC).strftime("%m-%d %H:%M") for o in autumn] == [
        "10-20 14:00", "10-27 14:00", "11-03 15:00", "11-10 15:00"]
    spring = list(sch.occurrences(schedule, datetime(2027, 3, 8, tzinfo=UTC), datetime(2027, 3, 17, tzinfo=UTC)))
    assert [o.astimezone(UTC).strftime("%m-%d %H:%M") for o in spring] == ["03-09 15:00", "03-16 14:00"]


def test_nonexistent_local_time_on_spring_forward_day_still_fires_once():
    schedule = meeting(day="sun", hour=2, minute=30)  # 02:30 does not exist on 2027-03-14 in New York
    found = list(sch.occurrences(schedule, datetime(2027, 3, 13, tzinfo=UTC), datetime(2027, 3, 22, tzinfo=UTC)))
    assert len(found) == 2 and len({sch.period_of(schedule, o) for o in found}) == 2


def test_period_is_local_iso_week_and_digest_reports_previous_week():
    schedule = meeting(day="mon", hour=8, tz="Pacific/Auckland")
    monday = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)  # Mon 2026-11-23 08:00 in Auckland, still Sunday in UTC
    assert sch.period_of(schedule, monday) == "2026-W48"
    assert sch.reported_week(schedule, monday) == "2026-W47"
    assert sch.period_of(meeting(cadence="daily", day="*"), monday) == "2026-11-22"


def test_backoff_doubles_and_caps():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 7, 8, 20)] == [60, 120, 240, 3600, 3600, 3600]


def test_parse_action_and_numbers():
    assert parse_action("<@U0OWNER1|ana> 2026-12-01 Send   the deck") == ("U0OWNER1", date(2026, 12, 1), "Send the deck")
    with pytest.raises(InvalidInput, match="not a date"):
        parse_action("<@U0OWNER1> tomorrow send it")
    with pytest.raises(InvalidInput, match="not a real date"):
        parse_action("<@U0OWNER1> 2026-02-30 send it")
    with pytest.raises(InvalidInput, match="owner"):
        parse_action("<@U0OWNER1> 2026-12-01")
    assert parse_number("#12", "x") == 12
    with pytest.raises(InvalidInput):
        parse_number("twelve", "x")
    assert sch.parse_duration("2h", "x") == 120 and sch.format_minutes(120) == "2h" and sch.format_minutes(90) == "90m"
    assert timedelta(minutes=sch.parse_duration("1d", "x")) == timedelta(days=1)


def _utc(found):
    return [o.astimezone(UTC).strftime("%Y-%m-%d %H:%M") for o in found]


def schedule_of(words: str, now=datetime(2026, 10, 1, tzinfo=UTC)) -> Schedule:
    spec = sch.parse_schedule(words.split(), now=now)
    return Schedule(kind="agenda", cadence=spec.cadence, day_of_week=spec.day_of_week, hour=spec.hour,
                    minute=spec.minute, timezone=spec.timezone, channel=spec.channel, lead_minutes=spec.lead_minutes,
                    grace_minutes=spec.grace_minutes, duration_minutes=60, enabled=True, anchor_date=spec.anchor_date,
                    active_since=datetime(2026, 1, 1, tzinfo=UTC), updated_by="t")


def test_monthly_by_weekday_and_by_date_keep_wall_clock_across_dst():
    first_tue = schedule_of("monthly first tue 10:00 America/New_York #x")
    assert sch.describe(first_tue) == "the first Tuesday of every month at 10:00 America/New_York"
    found = sch.occurrences(first_tue, datetime(2026, 9, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))
    assert _utc(found) == ["2026-09-01 14:00", "2026-10-06 14:00", "2026-11-03 15:00", "2026-12-01 15:00",
                           "2027-01-05 15:00", "2027-02-02 15:00", "2027-03-02 15:00"]
    last_thu = schedule_of("last Thursday 09:00 Europe/Berlin #x")       # "monthly" is implied
    assert last_thu.cadence == "monthly" and sch.describe(last_thu).startswith("the last Thursday of every month")
    # Berlin leaves summer time on Sun 2026-10-25: 09:00 is 07:00 UTC before, 08:00 after.
    assert _utc(sch.occurrences(last_thu, datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))) == [
        "2026-09-24 07:00", "2026-10-29 08:00", "2026-11-26 08:00"]
    on_15th = schedule_of("monthly 15th 08:30 America/New_York #x")
    assert _utc(sch.occurrences(on_15th, datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 4, 30, tzinfo=UTC))) == [
        "2027-02-15 13:30", "2027-03-15 12:30", "2027-04-15 12:30"]
    assert sch.period_of(on_15th, datetime(2027, 3, 15, 12, 30, tzinfo=UTC)) == "2027-03-15"
    last_day = schedule_of("monthly last day 17:00 UTC #x")
    assert _utc(sch.occurrences(last_day, datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 3, 31, tzinfo=UTC))) == [
        "2027-01-31 17:00", "2027-02-28 17:00"]


def test_biweekly_meets_every_other_week_from_its_anchor_across_dst():
    every_other = schedule_of("every 2 weeks tue 10:00 America/New_York #x --from 2026-10-20")
    assert every_other.cadence == "biweekly" and every_other.anchor_date == date(2026, 10, 20)
    found = list(sch.occurrences(every_other, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)))
    assert _utc(found) == ["2026-10-06 14:00", "2026-10-20 14:00", "2026-11-03 15:00", "2026-11-17 15:00"]
    assert sch.next_occurrence(every_other, datetime(2026, 10, 20, 15, tzinfo=UTC)) == found[2]
    assert len({sch.period_of(every_other, o) for o in found}) == 4
    # Without --from: the next such weekday from when it is set.
    assert schedule_of("biweekly wed 09:00 UTC #x", now=datetime(2026, 10, 1, tzinfo=UTC)).anchor_date == date(2026, 10, 7)
    assert "every other Tuesday (from 2026-10-20)" in sch.describe(every_other)


def test_local_times_are_named():
    moment = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
    assert sch.format_local(moment, "America/New_York") == "2026-12-08 10:00 EST (America/New_York)"
    assert sch.format_local(moment, "UTC") == "2026-12-08 15:00 UTC"
