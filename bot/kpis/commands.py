"""What `/kpi` does, without Slack: parse the words, check the role, store, and report back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot import roles
from bot.errors import InvalidInput
from bot.kpis import catalog, periods, targets, values
from bot.kpis.catalog import Metric
from bot.kpis.digest import DigestMetric, digest_metric
from bot.models import Role

HEADS = (Role.sales_head, Role.marketing_head, Role.admin)
SET_USAGE = "/kpi set METRIC VALUE [week 2026-W47 | last week] [--allow-future]"
TARGET_USAGE = "/kpi target METRIC VALUE [from 2026-W47]"


def setters_for(metric: Metric) -> list[Role]:
    """Heads and admins set any KPI; marketers also set marketing-owned ones."""
    allowed = list(HEADS)
    if metric.owner == catalog.MARKETING:
        allowed.append(Role.marketer)
    return allowed


def split_metric_value(words: list[str], usage: str) -> tuple[str, str, str]:
    """['Pipeline', 'created', '$120k', 'week', '2026-W47'] → ('Pipeline created', '$120k', 'week 2026-W47')."""
    for index in range(1, len(words)):
        if catalog.looks_like_number(words[index]):
            return " ".join(words[:index]), words[index], " ".join(words[index + 1 :])
    if words and catalog.find_metric(" ".join(words)) is not None:
        raise InvalidInput(f"Give the value too. Usage: `{usage}`")
    raise InvalidInput(f"Usage: `{usage}`, e.g. `/kpi set MQLs 120 week 2026-W47`.")


@dataclass
class SetResult:
    metric: Metric
    period: str
    outcome: values.Outcome
    ratios: list[tuple[Metric, float | None]]  # derived metrics that use this one, with new values
    future: bool = False  # a week after the current one, with --allow-future


def take_flag(words: list[str], flag: str) -> tuple[list[str], bool]:
    """(words without `flag`, whether it was there); any case, anywhere in the command."""
    kept = [w for w in words if w.lower() != flag]
    return kept, len(kept) != len(words)


def set_kpi(session: Session, user_id: str, words: list[str], *, now: datetime, tz: str) -> SetResult:
    words, allow_future = take_flag(words, periods.ALLOW_FUTURE_FLAG)
    metric_text, value_text, period_text = split_metric_value(words, SET_USAGE)
    metric = catalog.get_metric(metric_text)
    if metric.is_ratio:
        raise InvalidInput(catalog.ratio_refusal(metric))
    roles.require_role(session, user_id, setters_for(metric), f"record {metric.name}")
    value = catalog.parse_number(value_text)
    period = periods.parse_period(period_text, now, tz)
    periods.refuse_future(period, now, tz, allow_future=allow_future)
    outcome = values.set_value(session, metric, value, period, by=user_id, source="slack", now=now)
    derived = values.metric_values(session, [period], tz=tz)
    ratios = [(m, derived[(m.key, period)]) for m in catalog.users_of(metric.key)]
    return SetResult(metric, period, outcome, ratios, future=period > periods.current_period(now, tz))


def set_target_from_words(
    session: Session, user_id: str, words: list[str], *, now: datetime, tz: str
) -> targets.TargetChange:
    metric_text, value_text, period_text = split_metric_value(words, TARGET_USAGE)
    metric = catalog.get_metric(metric_text)
    roles.require_role(session, user_id, HEADS, "set shared KPI targets")
    value = targets.parse_target(metric, value_text)
    cleaned = period_text.strip()
    if cleaned.lower().startswith("from "):
        cleaned = cleaned[5:]
    period = periods.parse_period(cleaned, now, tz)
    return targets.set_target(session, metric, value, period, by=user_id, now=now)


@dataclass
class MetricHistory:
    metric: Metric
    rows: list[tuple[str, float | None, float | None]]  # (period, value, target), oldest first


def metric_history(session: Session, metric: Metric, period: str, *, tz: str, weeks: int = 8) -> MetricHistory:
    span = periods.last_periods(period, weeks)
    found = values.metric_values(session, span, tz=tz)
    goals = targets.targets_for(session, span)
    return MetricHistory(metric, [(p, found[(metric.key, p)], goals[(metric.key, p)]) for p in span])


@dataclass
class WeekSummary:
    period: str
    label: str  # '2026-W48 (Nov 23–29)'
    previous_period: str
    metrics: list[DigestMetric]
    in_progress: bool  # the current week: numbers so far
    note: str = ""  # plain text, e.g. why another week is shown

    @property
    def recorded(self) -> int:
        return sum(1 for m in self.metrics if m.value is not None)


def week_summary(session: Session, period: str, *, now: datetime, tz: str, fall_back: bool = False) -> WeekSummary:
    """Every KPI of `period` against its target; with `fall_back`, last week if nothing is recorded yet."""
    note = ""
    if fall_back and not values.stored_values(session, [period]):
        note = f"Nothing is recorded for {period} yet, so here is last week."
        period = periods.previous_period(period)
    metrics = [digest_metric(line) for line in values.period_lines(session, period, tz=tz)]
    from bot.crm.kpi_values import sources_for  # "from HubSpot, synced Mon 06:00" (bot/crm)

    synced = sources_for(session, period, tz)
    for m in metrics:
        m.source = synced.get(m.key, "")
    in_progress = period == periods.current_period(now, tz) and not note
    return WeekSummary(
        period, periods.as_week(period).label(), periods.previous_period(period), metrics, in_progress, note
    )


def current_targets(session: Session, period: str) -> dict[str, float]:
    """{metric key: target} for the metrics that have one in `period`."""
    goals = targets.targets_for(session, [period])
    return {m.key: goal for m in catalog.CATALOG if (goal := goals[(m.key, period)]) is not None}
