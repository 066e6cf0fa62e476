"""CRM sync state: the records pulled from HubSpot/Salesforce, when each entered a stage,
the resumable cursors, and the exactly-once SLA alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, utcnow


class CrmRecord(Base):
    """One contact/lead or deal/opportunity as last seen in the CRM (plain text, never rendered raw)."""

    __tablename__ = "crm_records"
    __table_args__ = (UniqueConstraint("connector", "object_type", "external_id", name="uq_crm_records_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector: Mapped[str] = mapped_column(String(16))  # hubspot / salesforce
    object_type: Mapped[str] = mapped_column(String(16))  # lead (contacts, leads) / deal (deals, opportunities)
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    stage: Mapped[str] = mapped_column(String(128), default="")  # lifecycle stage / status / deal stage
    status: Mapped[str] = mapped_column(String(128), default="")  # HubSpot lead status (contacts only)
    owner_id: Mapped[str] = mapped_column(String(64), default="")
    owner_email: Mapped[str] = mapped_column(String(255), default="")
    amount: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime | None] = mapped_column(nullable=True)
    modified_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    is_won: Mapped[bool] = mapped_column(Boolean, default=False)
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    first_activity_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_activity_at: Mapped[datetime | None] = mapped_column(nullable=True)
    url: Mapped[str] = mapped_column(String(512), default="")
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class CrmStageEvent(Base):
    """A record entered a CRM stage (first time seen wins): the basis of weekly counts and SLAs."""

    __tablename__ = "crm_stage_events"
    __table_args__ = (
        UniqueConstraint("connector", "object_type", "external_id", "stage", name="uq_crm_stage_events_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connector: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(160))  # "lifecyclestage:marketingqualifiedlead", "status:Working"
    entered_at: Mapped[datetime] = mapped_column(index=True)


class CrmCursor(Base):
    """Where the last sync of one object got to (modified-at of the last stored record)."""

    __tablename__ = "crm_cursors"
    __table_args__ = (UniqueConstraint("connector", "object_type", name="uq_crm_cursors_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(16))
    modified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CrmSyncRun(Base):
    """One sync: the daily scheduled one is claimed once per day through the UNIQUE run_key."""

    __tablename__ = "crm_sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_key: Mapped[str] = mapped_column(String(64), unique=True)  # "daily:hubspot:2026-11-24" or "manual:<uuid>"
    connector: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # running / done / failed / stopped
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    records: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str] = mapped_column(Text, default="")


class CrmAlert(Base):
    """An SLA-breach alert or a daily summary: UNIQUE alert_key + recipient makes each go out once."""

    __tablename__ = "crm_alerts"
    __table_args__ = (UniqueConstraint("alert_key", name="uq_crm_alerts_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_key: Mapped[str] = mapped_column(String(255))  # "breach:hubspot:lead:123:MQL" / "summary:2026-11-24:U…"
    kind: Mapped[str] = mapped_column(String(16))  # breach / summary
    recipient: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # sending / sent / failed
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
