"""Pure parts of KPIs: periods, metric names, numbers, ratios, change and progress, CSV validation."""

from datetime import UTC, datetime
from importlib import resources

import pytest

from bot.errors import InvalidInput
from bot.kpis import catalog, csv_io, periods, values
from bot.kpis.digest import digest_metric
from bot.render.kpis import metric_line, progress_bar

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)   # Tuesday of 2026-W48


@pytest.mark.parametrize("text,expected", [
    ("", "2026-W48"), ("this week", "2026-W48"), ("last week", "2026-W47"), ("2026-W47", "2026-W47"),
    ("week 2026-W47", "2026-W47"), ("2026-w7", "2026-W07"), ("W47", "2026-W47"), ("for last week", "2026-W47"),
    ("2026-11-18", "2026-W47"), ("2020-W53", "2020-W53"), ("2027-01-01", "2026-W53"),
])
def test_parse_period(text, expected):
    assert periods.parse_period(text, NOW) == expected


@pytest.mark.parametrize("text,message", [
    ("2025-W53", "2025 has no week 53"), ("2026-W00", "has no week 0"), ("next month", "is not a period"),
    ("2026-13-01", "is not a date"),
])
def test_parse_period_rejects(text, message):
    with pytest.raises(InvalidInput, match=message):
        periods.parse_period(text, NOW)


def test_weeks_follow_the_workspace_time_zone():
    sunday_night_new_york = datetime(2026, 11, 30, 3, 30, tzinfo=UTC)   # Sun 22:30 in New York
    assert periods.current_period(sunday_night_new_york, "UTC") == "2026-W49"
    assert periods.current_period(sunday_night_new_york, "America/New_York") == "2026-W48"
    start, end = periods.as_week("2026-W48").bounds("America/New_York")
    assert start == datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


def test_period_arithmetic_crosses_years():
    assert periods.previous_period("2027-W01") == "2026-W53"
    assert periods.last_periods("2026-W02", 3) == ["2025-W52", "2026-W01", "2026-W02"]
    assert periods.as_week("2026-W47").label() == "2026-W47 (Nov 16–22)"
    assert periods.as_week("2026-W49").label() == "2026-W49 (Nov 30–Dec 6)"


@pytest.mark.parametrize("text,key", [
    ("MQLs", "mqls"), ("mqls", "mqls"), ("MQL", "mqls"), ("mql", "mqls"), ("SQL", "sqls"),
    ("MQL→SQL conversion", "mql_to_sql"), ("mql -> sql conversion", "mql_to_sql"), ("MQL to SQL", "mql_to_sql"),
    ("win rate", "win_rate"), ("Win Rates", "win_rate"), ("CAC", "cpa"), ("pipeline", "pipeline_created"),
    ("Average sales cycle (days)", "sales_cycle_days"), ("sla compliance", "mql_sla"),
])
def test_metric_names_and_aliases(text, key):
    assert catalog.get_metric(text).key == key


def test_unknown_metric_suggests_the_closest():
    with pytest.raises(InvalidInput, match=r"Did you mean \*Pipeline created\*"):
        catalog.get_metric("pipline created")


def test_catalog_has_every_required_kpi_and_ratios_name_known_parts():
    names = {m.name for m in catalog.CATALOG}
    assert {"MQLs", "SQLs", "MQL→SQL conversion", "SQL→won conversion", "Win rate", "Pipeline created",
            "Revenue closed", "Cost per acquisition", "Average sales cycle", "MQL follow-up SLA compliance",
            "Content shares"} <= names
    for metric in catalog.RATIO_METRICS:
        assert metric.parts and all(not catalog.BY_KEY[k].is_ratio for k in metric.parts)
    assert all(m.period == "weekly" for m in catalog.CATALOG)


def test_catalog_file_loads_with_unique_keys():
    shipped = (resources.files("bot.kpis") / catalog.CATALOG_FILE).read_text(encoding="utf-8")
    assert catalog.parse_catalog(shipped) == catalog.CATALOG
    assert len(catalog.CATALOG) == len(catalog.BY_KEY) == 16
    assert catalog.BASE_METRICS + catalog.RATIO_METRICS == tuple(sorted(catalog.CATALOG, key=lambda m: m.is_ratio))
    assert all(m.unit in (catalog.COUNT, catalog.CURRENCY, catalog.PERCENT, catalog.DAYS) for m in catalog.CATALOG)
    assert all(m.owner in catalog.TEAM_LABELS for m in catalog.CATALOG)


_GOOD = """
[[metric]]
key = "mqls"
name = "MQLs"
unit = "count"
owner = "marketing"
description = "MQLs created"
default_target = 120

[[metric]]
key = "sqls"
name = "SQLs"
unit = "count"
owner = "sales"
description = "SQLs accepted"

[[metric]]
key = "mql_to_sql"
name = "MQL→SQL conversion"
unit = "percent"
owner = "shared"
description = "SQLs ÷ MQLs"
aliases = ["mql to sql"]
numerator = ["sqls"]
denominator = ["mqls"]
"""


def test_parse_catalog_builds_frozen_metrics_with_defaults():
    mqls, sqls, conversion = catalog.parse_catalog(_GOOD)
    assert mqls == catalog.Metric("mqls", "MQLs", catalog.COUNT, catalog.MARKETING, "MQLs created", default_target=120)
    assert sqls.default_target is None and sqls.higher_is_better and sqls.period == "weekly" and not sqls.is_ratio
    assert conversion.aliases == ("mql to sql",) and conversion.parts == ("sqls", "mqls") and conversion.is_ratio
    with pytest.raises(AttributeError):
        conversion.key = "other"


@pytest.mark.parametrize("old,new,message", [
    ('key = "sqls"', 'key = sqls', r"catalog\.toml: Invalid value \(at line 11"),
    ("default_target = 120", 'default_target = "120"', r"metric 1 \('mqls'\): field 'default_target' must be a number"),
    ("default_target = 120", "default_target = true", r"metric 1 \('mqls'\): field 'default_target' must be a number"),
    ("default_target = 120", "target = 120", r"metric 1 \('mqls'\): unknown field 'target'"),
    ('description = "SQLs accepted"', "", r"metric 2 \('sqls'\): field 'description' is missing"),
    ('name = "SQLs"', 'name = " "', r"metric 2 \('sqls'\): field 'name' is empty"),
    ('aliases = ["mql to sql"]', 'aliases = "mql to sql"', r"\('mql_to_sql'\): field 'aliases' must be a list"),
    ('unit = "percent"', 'unit = "ratio"', r"metric 3 \('mql_to_sql'\): field 'unit' must be one of count, currency"),
    ('owner = "sales"', 'owner = "ops"', r"metric 2 \('sqls'\): field 'owner' must be one of marketing, sales, shared"),
    ('key = "sqls"', 'key = "mqls"', r"metric 2 \('mqls'\): field 'key' repeats"),
    ('numerator = ["sqls"]', 'numerator = ["sql"]', r"\('mql_to_sql'\): field 'numerator' names 'sql', which is not"),
    ('denominator = ["mqls"]', 'denominator = ["mql_to_sql"]', r"field 'denominator' names 'mql_to_sql', a ratio"),
    ('denominator = ["mqls"]\n', "", r"metric 3 \('mql_to_sql'\): field 'numerator' needs a 'denominator'"),
    ("[[metric]]", "[metrics]", r"expected only \[\[metric\]\] tables"),
])
def test_parse_catalog_names_the_metric_and_field_that_is_wrong(old, new, message):
    text = _GOOD.replace(old, new, 1)
    assert text != _GOOD
    with pytest.raises(catalog.CatalogError, match=message):
        catalog.parse_catalog(text)


@pytest.mark.parametrize("text,value", [
    ("120", 120), ("1,200", 1200), ("$12.5k", 12500), ("1.2M", 1_200_000), ("41 days", 41), ("0.5", 0.5),
])
def test_parse_number(text, value):
    assert catalog.parse_number(text) == value


@pytest.mark.parametrize("text", ["lots", "1,20", "", "k", "12..5", "1e5"])
def test_parse_number_rejects(text):
    with pytest.raises(InvalidInput):
        catalog.parse_number(text)


def test_ratios_are_derived_and_never_divide_by_zero():
    win_rate = catalog.BY_KEY["win_rate"]
    assert values.ratio_value(win_rate, {"deals_won": 3, "deals_lost": 9}) == 0.25
    assert values.ratio_value(win_rate, {"deals_won": 0, "deals_lost": 0}) is None
    assert values.ratio_value(win_rate, {"deals_won": 3, "deals_lost": None}) is None
    assert "Record Deals won and Deals lost instead" in catalog.check_value(win_rate, 0.3)


def test_change_and_progress_respect_direction():
    mqls, cpa, conv = catalog.BY_KEY["mqls"], catalog.BY_KEY["cpa"], catalog.BY_KEY["mql_to_sql"]
    up = values.MetricLine(mqls, "2026-W47", 132, 120, 150)
    assert up.change_text == "↑ 10.0%" and up.improving and up.progress == pytest.approx(0.88) and not up.on_target
    cheaper = values.MetricLine(cpa, "2026-W47", 5000, 6000, 6000)
    assert cheaper.change_text == "↓ 16.7%" and cheaper.improving and cheaper.on_target
    assert cheaper.progress == pytest.approx(1.2)
    assert values.MetricLine(conv, "2026-W47", 0.35, 0.30, 0.33).change_text == "↑ 5.0 pts"
    assert values.MetricLine(mqls, "2026-W47", 10, None, None).change_text == ""
    assert progress_bar(0.8) == "▓▓▓▓▓▓▓▓░░"


def test_validate_entries_reports_every_problem_with_its_index():
    entries, errors = values.validate_entries([
        {"period": "2026-W47", "metric": "MQLs", "value": 120},
        {"period": "2026-W47", "metric": "MQLs", "value": 120},          # same again: folded
        {"period": "2026-W47", "metric": "mqls", "value": 121},          # conflicting
        {"period": "2026-W47", "metric": "SQLs", "value": 1e13},
        {"period": "2026-W47", "metric": "SQLs", "value": 3, "note": "x"},
    ], now=NOW)
    assert [(e.metric.key, e.period, e.value) for e in entries] == [("mqls", "2026-W47", 120.0)]
    assert [(e.index, e.field) for e in errors] == [(2, "value"), (3, "value"), (4, "entry")]


def test_validate_entries_says_what_each_blank_or_non_text_field_should_be():
    _, errors = values.validate_entries([
        {"metric": 5, "period": "  ", "value": 1},
        {"metric": " ", "period": 7, "value": ""},
    ], now=NOW)
    assert [(e.index, e.field, e.message) for e in errors] == [
        (0, "metric", 'must be a metric name such as "MQLs"'),
        (0, "period", "is required (an ISO week such as 2026-W47)"),
        (1, "metric", "is required"),
        (1, "period", 'must be an ISO week such as "2026-W47"'),
        (1, "value", "is required"),
    ]


def test_csv_requires_the_header_and_numbers_lines():
    with pytest.raises(InvalidInput, match="missing: value"):
        csv_io.parse_csv("period,metric\n2026-W47,MQLs\n", now=NOW)
    with pytest.raises(InvalidInput, match="empty"):
        csv_io.parse_csv("", now=NOW)
    entries, errors = csv_io.parse_csv("metric,value,period\nMQLs,120,2026-W47\n\nSQLs,x,2026-W47\n", now=NOW)
    assert len(entries) == 1 and [(e.index, e.field) for e in errors] == [(4, "value")]


def test_a_zero_target_is_a_real_target_in_both_directions():
    lost, won = catalog.BY_KEY["deals_lost"], catalog.BY_KEY["deals_won"]
    none_lost = values.MetricLine(lost, "2026-W47", 0, 2, 0)
    assert none_lost.progress == 1.0 and none_lost.on_target is True
    some_lost = values.MetricLine(lost, "2026-W47", 3, 2, 0)
    assert some_lost.progress == 0.0 and some_lost.on_target is False and some_lost.improving is False
    any_won = values.MetricLine(won, "2026-W47", 4, 0, 0)
    assert any_won.progress == 1.0 and any_won.on_target is True and any_won.change_text == "↑ new"
    assert metric_line(digest_metric(none_lost)) == "• *Deals lost*: 0  ·  ↓ 100.0% (better) vs 2  ·  target 0 ✅"
    assert metric_line(digest_metric(some_lost)) == "• *Deals lost*: 3  ·  ↑ 50.0% (worse) vs 2  ·  target 0 ⚠️"


def test_impossible_percentages_are_flagged_never_met():
    sla, cpa = catalog.BY_KEY["mql_sla"], catalog.BY_KEY["cpa"]
    line = values.MetricLine(sla, "2026-W47", 1.13, 0.88, 0.90)
    assert line.flag == ("MQL follow-up SLA compliance 113.0%: check the inputs "
                         "(MQLs followed up within SLA ÷ MQLs can't be over 100.0%)")
    assert line.on_target is None and line.progress is None
    assert metric_line(digest_metric(line)) == (
        "• *MQL follow-up SLA compliance*: 113.0%  ·  ⚠️ check the inputs (MQLs followed up within SLA ÷ MQLs "
        "can't be over 100.0%)  ·  ↑ 25.0 pts vs 88.0%  ·  target 90.0%")
    assert values.MetricLine(sla, "2026-W47", 1.0, None, 0.9).flag == ""       # 100% is possible
    assert values.MetricLine(cpa, "2026-W47", 80_000, None, 6000).flag == ""   # money has no ceiling


def test_weeks_after_the_current_one_are_refused_unless_allowed():
    with pytest.raises(InvalidInput, match=r"2027-W10 is after this week \(2026-W48\).*--allow-future"):
        periods.refuse_future("2027-W10", NOW)
    periods.refuse_future("2027-W10", NOW, allow_future=True)
    periods.refuse_future("2026-W48", NOW)
    entries, errors = values.validate_entries([{"period": "2026-W49", "metric": "MQLs", "value": 1}], now=NOW)
    assert entries == [] and [(e.field, e.message[:22]) for e in errors] == [("period", "2026-W49 is after this")]
    entries, errors = values.validate_entries([{"period": "2026-W49", "metric": "MQLs", "value": 1}], now=NOW,
                                              allow_future=True)
    assert errors == [] and entries[0].period == "2026-W49"
