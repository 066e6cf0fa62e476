"""KPI values and shared targets. Metrics themselves live in code (bot/kpis/catalog.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, utcnow


class KpiValue(Base):
    """One base metric's value for one period (ISO week, '2026-W47'); ratios are never stored."""

    __tablename__ = "kpi_values"
    __table_args__ = (UniqueConstraint("metric", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16), index=True)
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))  # slack, csv, api, demo, hubspot, salesforce
    updated_by: Mapped[str] = mapped_column(String(64))  # Slack user ID, "cli", "api"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # CRM provenance (bot/crm): when the sync wrote the value, and the typed value it replaced.
    synced_at: Mapped[datetime | None] = mapped_column(nullable=True)
    overridden_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    overridden_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    overridden_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class KpiTarget(Base):
    """A shared target per period for a metric, in force from `effective_from` until the next one."""

    __tablename__ = "kpi_targets"
    __table_args__ = (UniqueConstraint("metric", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(64))
    effective_from: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
