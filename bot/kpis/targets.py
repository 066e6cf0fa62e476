"""Shared targets: the catalog default, overridden from a period onwards by `/kpi target`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import InvalidInput
from bot.kpis import catalog
from bot.kpis.catalog import Metric
from bot.models.kpis import KpiTarget


@dataclass
class TargetChange:
    metric: Metric
    effective_from: str
    value: float
    previous: float | None


def targets_for(session: Session, periods: list[str]) -> dict[tuple[str, str], float | None]:
    """{(metric_key, period): target} for every catalog metric and each period."""
    rows = list(session.scalars(select(KpiTarget).order_by(KpiTarget.metric, KpiTarget.effective_from)))
    by_metric: dict[str, list[KpiTarget]] = {}
    for row in rows:
        by_metric.setdefault(row.metric, []).append(row)
    result: dict[tuple[str, str], float | None] = {}
    for metric in catalog.CATALOG:
        history = by_metric.get(metric.key, [])
        for period in periods:
            target = metric.default_target
            for row in history:
                if row.effective_from <= period:
                    target = row.value
            result[(metric.key, period)] = target
    return result


def target_for(session: Session, metric: Metric, period: str) -> float | None:
    return targets_for(session, [period])[(metric.key, period)]


def set_target(
    session: Session, metric: Metric, value: float, effective_from: str, *, by: str, now: datetime
) -> TargetChange:
    """Set the shared target of `metric` from `effective_from` on. Percent targets are fractions (0.33)."""
    if not math.isfinite(value) or value < 0 or value > catalog.MAX_VALUE:
        raise InvalidInput("A target must be a number, zero or more.")
    if metric.unit == catalog.PERCENT and value > 1:
        raise InvalidInput(f"A {metric.name} target is a percentage between 0% and 100%.")
    previous = target_for(session, metric, effective_from)
    row = session.scalars(
        select(KpiTarget).where(KpiTarget.metric == metric.key, KpiTarget.effective_from == effective_from)
    ).first()
    if row is None:
        session.add(KpiTarget(metric=metric.key, effective_from=effective_from, value=value, set_by=by, set_at=now))
    else:
        row.value, row.set_by, row.set_at = value, by, now
    session.flush()
    return TargetChange(metric, effective_from, value, previous)


def parse_target(metric: Metric, text: str) -> float:
    """'150', '$400k', '33%' or '0.33' (percent metrics), '45 days'."""
    value = catalog.parse_number(text)
    if metric.unit == catalog.PERCENT and (text.strip().endswith("%") or value > 1):
        value = value / 100
    return value
