"""Models for /lead-def: the current definitions, every past version, and change proposals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, utcnow


class LeadDefinition(Base):
    """The current, agreed definition of one funnel stage or glossary term."""

    __tablename__ = "lead_definitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    aliases: Mapped[list[Any]] = mapped_column(JSON, default=list)
    kind: Mapped[str] = mapped_column(String(16))  # "stage" or "term"
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    definition: Mapped[str] = mapped_column(Text)
    criteria: Mapped[list[Any]] = mapped_column(JSON, default=list)
    disqualifiers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    owner: Mapped[str] = mapped_column(String(16))  # marketing / sales / shared
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
    # Set when an admin applied this version without the two heads' approval (an explicit override).
    override_by: Mapped[str | None] = mapped_column(String(32), nullable=True)


class LeadDefinitionProposal(Base):
    """A proposed change; applied only after a marketing head and a sales head approve."""

    __tablename__ = "lead_definition_proposals"
    # Two different people approve, neither of them the proposer: also when a role changed in between.
    __table_args__ = (
        CheckConstraint(
            "marketing_approver IS NULL OR sales_approver IS NULL OR marketing_approver <> sales_approver",
            name="two_people",
        ),
        CheckConstraint(
            "(marketing_approver IS NULL OR marketing_approver <> proposer) "
            "AND (sales_approver IS NULL OR sales_approver <> proposer)",
            name="not_the_proposer",
        ),
    )

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


class LeadDefinitionReview(Base):
    """A head confirming a definition is still right, without changing it.

    A definition counts as reviewed when a marketing head and a sales head both confirmed the
    same version, or when one head confirmed with a note saying why.
    """

    __tablename__ = "lead_definition_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    reviewer: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(16))  # "marketing" or "sales"
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When this confirmation made the definition reviewed (None: still waiting for the other head).
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
