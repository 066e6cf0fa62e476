"""The CRM feature's pure parts: SLA text, business days, CRM timestamps, the `crm:` field."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.crm.funnel import StageMap, add_business_days, parse_sla
from bot.crm.records import DEAL, EPOCH, LEAD, build_record, parse_amount, parse_time
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


def test_build_record_normalizes_raw_crm_values_for_every_connector():
    lead = build_record(
        LEAD, "7", created=("", "1700000000000"), modified=("not a date",),
        name="  Ada \n Lovelace ", email="x" * 300, stage="s" * 200, status="Working", owner_email=" o@x.com ",
        first_activity="2026-11-17T08:00:00.000+0000", last_activity="2026-11-18",
        amount="12000", close_date="2026-11-18",
    )
    created = dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert lead.created_at == created and lead.modified_at == created   # never modified: modified when created
    assert lead.name == "Ada Lovelace" and len(lead.email) == 255 and len(lead.stage) == 128
    assert lead.status == "Working" and lead.owner_email == "o@x.com" and lead.amount == 12000
    assert lead.first_activity_at == dt.datetime(2026, 11, 17, 8, tzinfo=UTC)
    assert lead.last_activity_at == dt.datetime(2026, 11, 18, 23, 59, 59, tzinfo=UTC)
    assert lead.closed_at is None and lead.events == []   # a close date counts only once closed
    deal = build_record(DEAL, "9", created=(None,), modified=("", None), amount="NaN", close_date="2026-11-18",
                        is_closed=True, is_won=True)
    assert deal.modified_at == EPOCH and deal.created_at is None and deal.amount is None
    assert deal.closed_at == dt.datetime(2026, 11, 18, 23, 59, 59, tzinfo=UTC) and deal.is_won and deal.is_closed


def test_crm_field_in_definitions():
    assert normalize_crm({"hubspot": "marketingqualifiedlead", "salesforce": ["Working", " "]}) == {
        "hubspot": ["marketingqualifiedlead"], "salesforce": ["Working"]}
    assert normalize_crm(None) == {}
    entries, problems = parse_yaml("terms:\n- key: MQL\n  crm:\n    hubspot: [a]\n    pipedrive: [b]\n")
    assert not problems
    found = validate_content(entries[0].content)
    assert any(p.field == "crm" and "hubspot and/or salesforce" in p.message for p in found)
