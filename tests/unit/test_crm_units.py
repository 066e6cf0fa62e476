"""The CRM feature's pure parts: SLA text, business days, CRM timestamps, the `crm:` field."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.crm.funnel import StageMap, add_business_days, parse_sla
from bot.crm.records import parse_amount, parse_time
from bot.lead_defs.schema import normalize_crm, parse_yaml, validate_content

UTC = dt.UTC


@pytest.mark.parametrize(("text", "expected"), [
    ("An SDR contacts it within 1 business day", (dt.timedelta(days=1), True)),
    ("Accepted or rejected within 2 business days of becoming an MQL", (dt.timedelta(days=2), True)),
    ("Followed up within 24 h", (dt.timedelta(hours=24), False)),
    ("within 4 hours", (dt.timedelta(hours=4), False)),
    ("within 3 days", (dt.timedelta(days=3), False)),
    ("Enrolled in nurture promptly", (None, False)),
])
def test_sla_text(text, expected):
    assert parse_sla(text) == expected


def test_business_days_skip_the_weekend():
    friday = dt.datetime(2026, 11, 20, 16, tzinfo=UTC)
    assert add_business_days(friday, 1) == dt.datetime(2026, 11, 23, 16, tzinfo=UTC)   # Monday
    saturday = dt.datetime(2026, 11, 21, 10, tzinfo=UTC)
    assert add_business_days(saturday, 1).weekday() == 0


def test_stage_values_match_with_or_without_their_kind():
    stage = StageMap("MQL", 2, "marketing", "", None, False, ("marketingqualifiedlead", "status:working"), "mqls")
    assert stage.matches("lifecyclestage:marketingqualifiedlead")
    assert stage.matches("status:Working") and not stage.matches("stage:working - contacted")


@pytest.mark.parametrize(("raw", "expected"), [
    ("1700000000000", dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ("2026-11-17T08:00:00.000Z", dt.datetime(2026, 11, 17, 8, tzinfo=UTC)),
    ("2026-11-17T08:00:00.000+0000", dt.datetime(2026, 11, 17, 8, tzinfo=UTC)),
    ("2026-11-18", dt.datetime(2026, 11, 18, 23, 59, 59, tzinfo=UTC)),
    ("", None), (None, None), ("not a date", None),
])
def test_crm_timestamps(raw, expected):
    assert parse_time(raw) == expected


def test_amounts():
    assert parse_amount("12000.50") == 12000.5
    assert parse_amount("") is None and parse_amount("NaN") is None and parse_amount("abc") is None


def test_crm_field_in_definitions():
    assert normalize_crm({"hubspot": "marketingqualifiedlead", "salesforce": ["Working", " "]}) == {
        "hubspot": ["marketingqualifiedlead"], "salesforce": ["Working"]}
    assert normalize_crm(None) == {}
    entries, problems = parse_yaml("terms:\n- key: MQL\n  crm:\n    hubspot: [a]\n    pipedrive: [b]\n")
    assert not problems
    found = validate_content(entries[0].content)
    assert any(p.field == "crm" and "hubspot and/or salesforce" in p.message for p in found)
