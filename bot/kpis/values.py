"""Recording KPI values (idempotent upsert on metric + period) and reading them back with ratios."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from bot.content.usage import share_count
from bot.crm.kpi_values import CRM_SOURCES
from bot.errors import InvalidInput
from bot.kpis import catalog, periods, targets
from bot.kpis.catalog import Metric
from bot.models.kpis import KpiValue

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Entry:
    metric: Metric
    period: str
    value: float


@dataclass(frozen=True)
class EntryError:
    index: int  # position in the request, or the CSV line number
    field: str  # "period", "metric", "value" or "entry"
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass
class Outcome:
    entry: Entry
    previous: float | None
    status: str  # "stored" (new), "updated", "unchanged", "overridden" (a CRM-synced value stays)


@dataclass
class RecordReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def stored(self) -> int:
        return self.count("stored")

    @property
    def updated(self) -> int:
        return self.count("updated")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    def as_dict(self) -> dict[str, int]:
        return {"stored": self.stored, "updated": self.updated, "unchanged": self.unchanged}


# --- validation -------------------------------------------------------------------------
def _missing(raw: Any) -> bool:
    """A field left out, null, or only whitespace."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _text_field(
    item: dict, name: str, index: int, errors: list[EntryError], *, missing: str, not_text: str
) -> str | None:
    """`item[name]` if it is non-blank text; otherwise None, with the reason added to `errors`."""
    raw = item.get(name)
    if _missing(raw):
        errors.append(EntryError(index, name, missing))
        return None
    if not isinstance(raw, str):
        errors.append(EntryError(index, name, not_text))
        return None
    return raw


def validate_entries(
    raw: Iterable[Any], *, now: datetime, tz: str = "UTC", first_index: int = 0, allow_future: bool = False
) -> tuple[list[Entry], list[EntryError]]:
    """Check every `{"period", "metric", "value"}` item; nothing is stored if any is wrong.

    Weeks after the current one are refused unless `allow_future`. Items repeating an
    earlier (metric, period) with the same value are folded into one; with a different
    value they are an error (which one should win?).
    """
    entries: dict[tuple[str, str], tuple[int, Entry]] = {}
    errors: list[EntryError] = []
    for offset, item in enumerate(raw):
        index = first_index + offset
        if len(entries) + len(errors) >= MAX_ENTRIES:
            errors.append(EntryError(index, "entry", f"at most {MAX_ENTRIES} values at a time"))
            break
        if not isinstance(item, dict):
            errors.append(EntryError(index, "entry", "must be an object with period, metric and value"))
            continue
        item_errors: list[EntryError] = []
        metric: Metric | None = None
        period: str | None = None
        value: float | None = None
        # metric
        raw_metric = _text_field(
            item, "metric", index, item_errors, missing="is required", not_text='must be a metric name such as "MQLs"'
        )
        if raw_metric is not None:
            metric = catalog.find_metric(raw_metric)
            if metric is None:
                hint = catalog.suggest(raw_metric)
                item_errors.append(
                    EntryError(
                        index,
                        "metric",
                        f"'{raw_metric.strip()[:60]}' is not a KPI" + (f" (did you mean {hint.name}?)" if hint else ""),
                    )
                )
            elif metric.is_ratio:
                item_errors.append(EntryError(index, "metric", catalog.ratio_refusal(metric)))
                metric = None
        # period
        raw_period = _text_field(
            item,
            "period",
            index,
            item_errors,
            missing="is required (an ISO week such as 2026-W47)",
            not_text='must be an ISO week such as "2026-W47"',
        )
        if raw_period is not None:
            try:
                period = periods.parse_period(raw_period, now, tz)
                periods.refuse_future(period, now, tz, allow_future=allow_future)
            except InvalidInput as exc:
                period = None
                item_errors.append(EntryError(index, "period", str(exc)))
        # value
        raw_value = item.get("value")
        if _missing(raw_value):
            item_errors.append(EntryError(index, "value", "is required"))
        elif isinstance(raw_value, bool) or not isinstance(raw_value, (int, float, str)):
            item_errors.append(EntryError(index, "value", "must be a number"))
        else:
            try:
                value = float(raw_value) if not isinstance(raw_value, str) else catalog.parse_number(raw_value)
            except (InvalidInput, OverflowError):
                item_errors.append(EntryError(index, "value", f"'{str(raw_value)[:30]}' is not a number"))
            if value is not None and metric is not None:
                problem = catalog.check_value(metric, value)
                if problem:
                    item_errors.append(EntryError(index, "value", problem))
                    value = None
        unknown = sorted(set(item) - {"metric", "period", "value"})
        if unknown:
            item_errors.append(EntryError(index, "entry", "unknown field(s): " + ", ".join(map(str, unknown))[:100]))
        if item_errors or metric is None or period is None or value is None:
            errors.extend(item_errors)
            continue
        key = (metric.key, period)
        earlier = entries.get(key)
        if earlier is not None:
            if earlier[1].value != value:
                errors.append(
                    EntryError(
                        index,
                        "value",
                        f"{metric.name} for {period} is also given as "
                        f"{catalog.format_value(metric, earlier[1].value)} at {earlier[0]}",
                    )
                )
            continue
        entries[key] = (index, Entry(metric, period, value))
    return [entry for _, entry in entries.values()], errors


# --- recording ---------------------------------------------------------------------------
def record(
    session: Session,
    entries: Iterable[Entry],
    *,
    source: str,
    by: str,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> RecordReport:
    """Upsert each entry on (metric, period). Re-sending the same value changes nothing."""
    entries = list(entries)
    report = RecordReport()
    wanted_periods = sorted({e.period for e in entries})
    existing: dict[tuple[str, str], KpiValue] = {}
    for start in range(0, len(wanted_periods), 500):
        chunk = wanted_periods[start : start + 500]
        for stored in session.scalars(select(KpiValue).where(KpiValue.period.in_(chunk))):
            existing[(stored.metric, stored.period)] = stored
    for done, entry in enumerate(entries, 1):
        found = existing.get((entry.metric.key, entry.period))
        row = found if found is not None else _insert_or_get(session, entry, source=source, by=by, now=now)
        if row is None:
            report.outcomes.append(Outcome(entry, None, "stored"))
            if progress:
                progress(done)
            continue
        previous = row.value
        if row.source in CRM_SOURCES and source not in CRM_SOURCES:
            # The CRM sync wins (bot/crm/kpi_values.py): the typed value is kept beside it, marked overridden.
            row.overridden_value, row.overridden_source, row.overridden_by = entry.value, source, by
            report.outcomes.append(Outcome(entry, previous, "overridden"))
            if progress:
                progress(done)
            continue
        if previous == entry.value:
            report.outcomes.append(Outcome(entry, previous, "unchanged"))
        else:
            row.value, row.source, row.updated_by, row.updated_at = entry.value, source, by, now
            report.outcomes.append(Outcome(entry, previous, "updated"))
        if progress:
            progress(done)
    session.flush()
    return report


def _insert_or_get(session: Session, entry: Entry, *, source: str, by: str, now: datetime) -> KpiValue | None:
    """INSERT … ON CONFLICT DO NOTHING (both SQLite and PostgreSQL); None if we inserted.

    If another request stored the same (metric, period) a moment ago, its row is returned
    and treated as the previous value, instead of failing on the unique constraint.
    """
    dialect = session.get_bind().dialect.name
    row = {
        "metric": entry.metric.key,
        "period": entry.period,
        "value": entry.value,
        "source": source,
        "updated_by": by,
        "created_at": now,
        "updated_at": now,
    }
    unique = ["metric", "period"]
    statement: Executable
    if dialect == "postgresql":
        statement = (
            postgresql.insert(KpiValue).values(row).on_conflict_do_nothing(index_elements=unique).returning(KpiValue.id)
        )
    else:
        statement = (
            sqlite.insert(KpiValue).values(row).on_conflict_do_nothing(index_elements=unique).returning(KpiValue.id)
        )
    # RETURNING gives a row only if we inserted (rowcount is -1 with psycopg here; SQLite ≥ 3.35).
    if session.execute(statement).first() is not None:
        return None
    query = select(KpiValue).where(KpiValue.metric == entry.metric.key, KpiValue.period == entry.period)
    if dialect == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one()


def set_value(
    session: Session, metric: Metric, value: float, period: str, *, by: str, source: str, now: datetime
) -> Outcome:
    problem = catalog.check_value(metric, value)
    if problem:
        raise InvalidInput(
            problem if metric.is_ratio else f"Can't store {catalog.format_value(metric, value)}: {problem}."
        )
    return record(session, [Entry(metric, period, value)], source=source, by=by, now=now).outcomes[0]


# --- reading -------------------------------------------------------------------------------
def stored_values(session: Session, period_list: list[str]) -> dict[tuple[str, str], float]:
    rows = session.execute(
        select(KpiValue.metric, KpiValue.period, KpiValue.value).where(KpiValue.period.in_(period_list))
    )
    return {(metric, period): value for metric, period, value in rows}


def all_values(session: Session) -> list[KpiValue]:
    return list(session.scalars(select(KpiValue).order_by(KpiValue.period, KpiValue.metric)))


def metric_values(session: Session, period_list: list[str], *, tz: str = "UTC") -> dict[tuple[str, str], float | None]:
    """Every catalog metric for every period: stored base values, content shares, derived ratios."""
    values: dict[tuple[str, str], float | None] = dict(stored_values(session, period_list))
    for period in period_list:
        for metric in catalog.BASE_METRICS:
            key = (metric.key, period)
            if key not in values and metric.counted_from_content:
                start, end = periods.as_week(period).bounds(tz)
                values[key] = float(share_count(session, start, end))
            values.setdefault(key, None)
        for metric in catalog.RATIO_METRICS:
            values[(metric.key, period)] = ratio_value(metric, {k: values.get((k, period)) for k in metric.parts})
    return values


def ratio_value(metric: Metric, parts: dict[str, float | None]) -> float | None:
    known = {key: value for key, value in parts.items() if value is not None}
    if any(k not in known for k in metric.parts):
        return None
    denominator = sum(known[k] for k in metric.denominator)
    if not denominator:
        return None
    return sum(known[k] for k in metric.numerator) / denominator


# --- a period against its targets ------------------------------------------------------------
@dataclass
class MetricLine:
    metric: Metric
    period: str
    value: float | None
    previous: float | None
    target: float | None

    @property
    def arrow(self) -> str:
        if self.value is None or self.previous is None:
            return ""
        return "↑" if self.value > self.previous else "↓" if self.value < self.previous else "→"

    @property
    def change_text(self) -> str:
        """'↑ 9.1%', '↓ 2.3 pts' (percent metrics), '→ 0%', or '' with nothing to compare."""
        if self.value is None or self.previous is None:
            return ""
        if self.metric.unit == catalog.PERCENT:
            return f"{self.arrow} {abs(self.value - self.previous) * 100:.1f} pts"
        if self.previous == 0:
            return f"{self.arrow} new" if self.value else "→ 0%"
        return f"{self.arrow} {abs(self.value - self.previous) / abs(self.previous) * 100:.1f}%"

    @property
    def improving(self) -> bool | None:
        if self.value is None or self.previous is None or self.value == self.previous:
            return None
        return (self.value > self.previous) == self.metric.higher_is_better

    @property
    def flag(self) -> str:
        """Why this week's figure can't be right ('' when it can): it is never counted as on target."""
        return catalog.range_flag(self.metric, self.value)

    @property
    def problem(self) -> str:
        """The flag without the metric's name and value, for a line that shows them already."""
        return catalog.range_problem(self.metric, self.value)

    @property
    def progress(self) -> float | None:
        """Share of the target reached (1.0 = on target); for lower-is-better metrics target ÷ value.

        A target of 0 is a real target ("no deals lost"): reached by any value of a
        higher-is-better metric, and by 0 only for a lower-is-better one.
        """
        if self.value is None or self.target is None or self.flag:
            return None
        if self.metric.higher_is_better:
            return 1.0 if self.target <= 0 else self.value / self.target
        return 1.0 if self.value <= 0 else self.target / self.value

    @property
    def on_target(self) -> bool | None:
        if self.value is None or self.target is None or self.flag:
            return None
        return self.value >= self.target if self.metric.higher_is_better else self.value <= self.target


def period_lines(session: Session, period: str, *, tz: str = "UTC") -> list[MetricLine]:
    previous = periods.previous_period(period)
    values = metric_values(session, [previous, period], tz=tz)
    goal = targets.targets_for(session, [period])
    return [
        MetricLine(m, period, values[(m.key, period)], values[(m.key, previous)], goal[(m.key, period)])
        for m in catalog.CATALOG
    ]
