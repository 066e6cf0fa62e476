"""Models for /lead-def: the current definitions, every past version, and change proposals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, utcnow


class LeadDefinition(Base):
    """The current, agreed definition of one funnel stage or glossary term."""

    __tablename__ = "lead_definitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    aliases: Mapped[list[Any]] = mapped_column(JSON, default=list)
    kind: Mapped[str] = mapped_column(String(16))               # "stage" or "term"
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    definition: Mapped[str] = mapped_column(Text)
    criteria: Mapped[list[Any]] = mapped_column(JSON, default=list)
    disqualifiers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    owner: Mapped[str] = mapped_column(String(16))              # marketing / sales / shared
    next_action: Mapped[str] = mapped_column(Text, default="")
    sla: Mapped[str] = mapped_column(Text, default="")
    handoff: Mapped[str] = mapped_column(Text, default="")
    example: Mapped[str] = mapped_column(Text, default="")
    # CRM counterparts of a stage, {"hubspot": [...], "salesforce": [...]} (bot/crm reads them).
    crm: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow)


class LeadDefinitionVersion(Base):
    """A full snapshot of a definition as it was at one version."""

    __tablename__ = "lead_definition_versions"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_lead_definition_versions_key_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    summary: Mapped[str] = mapped_column(Text, default="")
    approved_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


class LeadDefinitionProposal(Base):
    """A proposed change; applied only after a marketing head and a sales head approve."""

    __tablename__ = "lead_definition_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), index=True)
    base_version: Mapped[int] = mapped_column(Integer)
    proposed: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text, default="")
    proposer: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # open / approved / rejected / outdated
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    marketing_approver: Mapped[str | None] = mapped_column(String(32), nullable=True)
    marketing_approved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    sales_approver: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sales_approved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    rejected_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    rejection_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resulting_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
