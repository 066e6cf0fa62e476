"""Writing CRM-computed KPI values, and saying where each value came from.

Which value wins: the CRM sync. A value typed in Slack, a CSV or the API for the same
metric and week is kept on the row (overridden_value/_source/_by) and shown as overridden;
the next sync writes the CRM's number again. Only base metrics are stored; ratios
(MQL→SQL, SLA compliance, win rate) are derived from them as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.crm.records import LABELS
from bot.models.kpis import KpiValue

CRM_SOURCES = tuple(LABELS)
SYNC_USER = "crm-sync"


@dataclass
class WriteReport:
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    overridden: list[str] = field(default_factory=list)  # "MQLs 2026-W47: typed 130 (slack) → 124"


def write_synced(
    session: Session, values: dict[tuple[str, str], float], *, connector: str, now: datetime
) -> WriteReport:
    from bot.kpis import catalog

    report = WriteReport()
    wanted = sorted({p for _, p in values})
    existing = {(r.metric, r.period): r for r in session.scalars(select(KpiValue).where(KpiValue.period.in_(wanted)))}
    for (metric_key, period), value in sorted(values.items()):
        row = existing.get((metric_key, period))
        if row is None:
            row = KpiValue(metric=metric_key, period=period, created_at=now)
            session.add(row)
            report.stored += 1
        else:
            if row.source not in CRM_SOURCES:
                if row.value != value:
                    metric = catalog.BY_KEY[metric_key]
                    report.overridden.append(
                        f"{metric.name} {period}: {catalog.format_value(metric, row.value)} "
                        f"({row.source}) → {catalog.format_value(metric, value)}"
                    )
                row.overridden_value, row.overridden_source, row.overridden_by = row.value, row.source, row.updated_by
            if row.value == value and row.source == connector:
                report.unchanged += 1
            else:
                report.updated += 1
        # A new row and an existing one take the synced value the same way.
        row.value, row.source, row.updated_by, row.updated_at, row.synced_at = value, connector, SYNC_USER, now, now
    session.flush()
    return report


def source_text(row: KpiValue, tz: str = "UTC") -> str:
    """'from HubSpot, synced Mon 06:00' (plus the typed value it replaced), or '' for typed values."""
    if row.source not in CRM_SOURCES or row.synced_at is None:
        return ""
    local = row.synced_at.astimezone(ZoneInfo(tz))
    text = f"from {LABELS[row.source]}, synced {local:%a %H:%M}"
    if row.overridden_value is not None:
        from bot.kpis import catalog

        metric = catalog.BY_KEY.get(row.metric)
        shown = catalog.format_value(metric, row.overridden_value) if metric else f"{row.overridden_value:g}"
        text += f"; overrides {shown} typed via {row.overridden_source}"
    return text


def sources_for(session: Session, period: str, tz: str = "UTC") -> dict[str, str]:
    """metric key → source text for the CRM-synced values of one period."""
    rows = session.scalars(select(KpiValue).where(KpiValue.period == period, KpiValue.source.in_(CRM_SOURCES)))
    return {row.metric: text for row in rows if (text := source_text(row, tz))}
