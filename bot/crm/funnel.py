"""From CRM records to the shared vocabulary: which records entered which /lead-def stage in
which week, stage-to-stage conversion, pipeline and revenue, and who missed a stage's SLA.

A stage names its CRM counterparts in its definition (`crm: {hubspot: [...], salesforce: [...]}`);
a value matches a stage event with the same value ("marketingqualifiedlead" matches
"lifecyclestage:marketingqualifiedlead") or the exact "kind:value" ("status:Working").
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.crm.records import DEAL, LEAD
from bot.kpis import catalog, periods
from bot.models.crm import CrmRecord, CrmStageEvent

_SLA = re.compile(
    r"(\d+(?:\.\d+)?)\s*(business\s+days?|working\s+days?|days?|hours?|hrs?|h\b|minutes?|mins?)", re.IGNORECASE
)


@dataclass(frozen=True)
class StageMap:
    key: str
    position: int
    owner: str  # marketing / sales / shared
    sla_text: str
    sla: timedelta | None
    business_days: bool
    values: tuple[str, ...]  # lower-cased CRM values
    metric_key: str | None  # the catalog's count metric for this stage (MQL → mqls), if any

    def matches(self, event_stage: str) -> bool:
        event = event_stage.lower()
        return event in self.values or event.split(":", 1)[-1] in self.values

    def deadline(self, entered: datetime) -> datetime | None:
        if self.sla is None:
            return None
        if not self.business_days:
            return entered + self.sla
        return add_business_days(entered, self.sla.total_seconds() / 86400)


def add_business_days(start: datetime, days: float) -> datetime:
    """start + days, skipping Saturdays and Sundays (a lead that arrives on Friday is due Monday)."""
    moment = start
    whole = int(days)
    while whole > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            whole -= 1
    moment += timedelta(days=days - int(days))
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment


def parse_sla(text: str) -> tuple[timedelta | None, bool]:
    """'An SDR contacts it within 1 business day' → (1 day, business days); '24 h' → 24 hours."""
    match = _SLA.search(text or "")
    if not match:
        return None, False
    amount, unit = float(match.group(1)), match.group(2).lower()
    if unit.startswith(("business", "working")):
        return timedelta(days=amount), True
    if unit.startswith("day"):
        return timedelta(days=amount), False
    if unit.startswith(("min",)):
        return timedelta(minutes=amount), False
    return timedelta(hours=amount), False


def stage_maps(session: Session, connector: str) -> list[StageMap]:
    from bot.lead_defs.service import all_definitions

    maps = []
    for d in all_definitions(session):
        if d.kind != "stage":
            continue
        values = tuple(v.lower() for v in (d.crm or {}).get(connector, []))
        if not values:
            continue
        metric = catalog.find_metric(d.key)
        metric_key = metric.key if metric and not metric.is_ratio and metric.unit == catalog.COUNT else None
        sla, business = parse_sla(d.sla)
        maps.append(StageMap(d.key, d.position or 0, d.owner, d.sla, sla, business, values, metric_key))
    return sorted(maps, key=lambda m: m.position)


# --- weekly numbers ------------------------------------------------------------------------------
@dataclass
class StageEntry:
    external_id: str
    object_type: str
    stage: str  # the /lead-def key
    entered_at: datetime
    deadline: datetime | None
    followed_up_at: datetime | None

    def within_sla(self) -> bool:
        return self.deadline is not None and self.followed_up_at is not None and self.followed_up_at <= self.deadline


@dataclass
class WeekNumbers:
    period: str
    stage_counts: dict[str, int] = field(default_factory=dict)  # /lead-def key → records that entered
    followed_up: dict[str, int] = field(default_factory=dict)  # within the stage's SLA
    metrics: dict[str, float] = field(default_factory=dict)  # catalog key → value


def follow_up_time(entered: datetime, first: datetime | None, last: datetime | None) -> datetime | None:
    """The owner's first activity at or after `entered`, as far as the CRM tells (first or last activity)."""
    candidates = [t for t in (first, last) if t is not None and t >= entered]
    return min(candidates) if candidates else None


def stage_entries(
    session: Session, connector: str, maps: list[StageMap], start: datetime, end: datetime
) -> list[StageEntry]:
    """Every (record, stage) that entered a mapped stage in [start, end): the earliest matching event."""
    if not maps:
        return []
    rows = session.execute(
        select(
            CrmStageEvent.object_type,
            CrmStageEvent.external_id,
            CrmStageEvent.stage,
            CrmStageEvent.entered_at,
            CrmRecord.first_activity_at,
            CrmRecord.last_activity_at,
        )
        .join(
            CrmRecord,
            (CrmRecord.connector == CrmStageEvent.connector)
            & (CrmRecord.object_type == CrmStageEvent.object_type)
            & (CrmRecord.external_id == CrmStageEvent.external_id),
        )
        .where(CrmStageEvent.connector == connector, CrmStageEvent.entered_at >= start, CrmStageEvent.entered_at < end)
    )
    earliest: dict[tuple[str, str, str], StageEntry] = {}
    for object_type, external_id, event_stage, entered, first, last in rows:
        for m in maps:
            if not m.matches(event_stage):
                continue
            key = (object_type, external_id, m.key)
            known = earliest.get(key)
            if known is None or entered < known.entered_at:
                earliest[key] = StageEntry(
                    external_id, object_type, m.key, entered, m.deadline(entered), follow_up_time(entered, first, last)
                )
    return list(earliest.values())


def week_numbers(
    session: Session, connector: str, period_list: list[str], *, tz: str = "UTC", maps: list[StageMap] | None = None
) -> dict[str, WeekNumbers]:
    maps = stage_maps(session, connector) if maps is None else maps
    if not period_list:
        return {}
    weeks = {p: periods.as_week(p).bounds(tz) for p in period_list}
    start, end = min(b[0] for b in weeks.values()), max(b[1] for b in weeks.values())
    result = {p: WeekNumbers(p) for p in period_list}

    def period_of(moment: datetime) -> str | None:
        p = periods.current_period(moment, tz)
        return p if p in result else None

    by_key = {m.key: m for m in maps}
    for entry in stage_entries(session, connector, maps, start, end):
        p = period_of(entry.entered_at)
        if p is None:
            continue
        numbers = result[p]
        numbers.stage_counts[entry.stage] = numbers.stage_counts.get(entry.stage, 0) + 1
        if entry.within_sla():
            numbers.followed_up[entry.stage] = numbers.followed_up.get(entry.stage, 0) + 1
    # Deals: pipeline created, won/lost, revenue, cycle.
    deals = session.execute(
        select(
            CrmRecord.amount, CrmRecord.created_at, CrmRecord.closed_at, CrmRecord.is_won, CrmRecord.is_closed
        ).where(
            CrmRecord.connector == connector,
            CrmRecord.object_type == DEAL,
            ((CrmRecord.created_at >= start) & (CrmRecord.created_at < end))
            | ((CrmRecord.closed_at >= start) & (CrmRecord.closed_at < end)),
        )
    ).all()
    cycles: dict[str, list[float]] = defaultdict(list)
    for p in result:
        result[p].metrics.update({"pipeline_created": 0.0, "revenue_closed": 0.0, "deals_won": 0.0, "deals_lost": 0.0})
    for amount, created, closed, won, is_closed in deals:
        if created is not None and (p := period_of(created)) and created >= start:
            result[p].metrics["pipeline_created"] += amount or 0.0
        if is_closed and closed is not None and (p := period_of(closed)):
            if won:
                result[p].metrics["revenue_closed"] += amount or 0.0
                result[p].metrics["deals_won"] += 1
                if created is not None:
                    cycles[p].append(max((closed - created).total_seconds() / 86400, 0.0))
            else:
                result[p].metrics["deals_lost"] += 1
    for p, numbers in result.items():
        if cycles[p]:
            numbers.metrics["sales_cycle_days"] = round(sum(cycles[p]) / len(cycles[p]), 1)
        for stage_key, count in numbers.stage_counts.items():
            m = by_key[stage_key]
            if m.metric_key:
                numbers.metrics[m.metric_key] = float(count)
                if m.metric_key == "mqls":
                    numbers.metrics["mqls_followed_up"] = float(numbers.followed_up.get(stage_key, 0))
        for m in maps:  # a mapped stage nobody entered is a real zero, not a missing number
            if m.metric_key and m.metric_key not in numbers.metrics:
                numbers.metrics[m.metric_key] = 0.0
                if m.metric_key == "mqls":
                    numbers.metrics["mqls_followed_up"] = 0.0
        for key, value in list(numbers.metrics.items()):
            metric = catalog.BY_KEY.get(key)
            if metric is None or catalog.check_value(metric, round(value, 2)) is not None:
                numbers.metrics.pop(key)
            else:
                numbers.metrics[key] = round(value, 2)
    return result


def conversions(maps: list[StageMap], numbers: WeekNumbers) -> list[tuple[str, str, float | None]]:
    """Stage-to-next-stage ratios of the week's entries (MQL→SAL 0.42, …)."""
    out = []
    for earlier, later in pairwise(maps):
        a, b = numbers.stage_counts.get(earlier.key, 0), numbers.stage_counts.get(later.key, 0)
        out.append((earlier.key, later.key, b / a if a else None))
    return out


LEAD_TYPES = (LEAD,)
