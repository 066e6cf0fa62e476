"""What `/kpi` does, without Slack: parse the words, check the role, store, and report back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot import roles
from bot.errors import InvalidInput
from bot.kpis import catalog, periods, targets, values
from bot.kpis.catalog import Metric
from bot.models import Role

HEADS = (Role.sales_head, Role.marketing_head, Role.admin)
SET_USAGE = "/kpi set METRIC VALUE [week 2026-W47 | last week]"
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
            return " ".join(words[:index]), words[index], " ".join(words[index + 1:])
    if words and catalog.find_metric(" ".join(words)) is not None:
        raise InvalidInput(f"Give the value too. Usage: `{usage}`")
    raise InvalidInput(f"Usage: `{usage}`, e.g. `/kpi set MQLs 120 week 2026-W47`.")


@dataclass
class SetResult:
    metric: Metric
    period: str
    outcome: values.Outcome
    ratios: list[tuple[Metric, float | None]]   # derived metrics that use this one, with new values


def set_kpi(session: Session, user_id: str, words: list[str], *, now: datetime, tz: str) -> SetResult:
    metric_text, value_text, period_text = split_metric_value(words, SET_USAGE)
    metric = catalog.get_metric(metric_text)
    if metric.is_ratio:
        raise InvalidInput(catalog.ratio_refusal(metric))
    roles.require_role(session, user_id, setters_for(metric), f"record {metric.name}")
    value = catalog.parse_number(value_text)
    period = periods.parse_period(period_text, now, tz)
    outcome = values.set_value(session, metric, value, period, by=user_id, source="slack", now=now)
    derived = values.metric_values(session, [period], tz=tz)
    ratios = [(m, derived[(m.key, period)]) for m in catalog.users_of(metric.key)]
    return SetResult(metric, period, outcome, ratios)


def set_target_from_words(session: Session, user_id: str, words: list[str], *, now: datetime,
                          tz: str) -> targets.TargetChange:
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
    rows: list[tuple[str, float | None, float | None]]   # (period, value, target), oldest first


def metric_history(session: Session, metric: Metric, period: str, *, tz: str, weeks: int = 8) -> MetricHistory:
    span = periods.last_periods(period, weeks)
    found = values.metric_values(session, span, tz=tz)
    goals = targets.targets_for(session, span)
    return MetricHistory(metric, [(p, found[(metric.key, p)], goals[(metric.key, p)]) for p in span])
