"""Read-only queries other features use (meeting agenda, App Home)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.lead_defs.diff import describe, diff_definitions
from bot.models.lead_defs import (
    LeadDefinition,
    LeadDefinitionProposal,
    LeadDefinitionVersion,
)


@dataclass
class StaleDefinition:
    key: str
    full_name: str
    owner: str
    last_reviewed: datetime
    days_since_review: int


@dataclass
class OpenProposal:
    id: int
    key: str
    proposer: str
    created_at: datetime
    summary: str
    base_version: int
    marketing_approver: str | None
    sales_approver: str | None
    channel: str | None
    message_ts: str | None

    @property
    def waiting_for(self) -> list[str]:
        """Which heads still have to approve: 'marketing head', 'sales head'."""
        return [
            label
            for label, who in (("marketing head", self.marketing_approver), ("sales head", self.sales_approver))
            if not who
        ]


@dataclass
class DefinitionChange:
    key: str
    version: int
    author: str
    changed_at: datetime
    summary: str
    changed_fields: str  # e.g. "qualifying criteria, sla"


@dataclass
class StageSummary:
    position: int
    key: str
    full_name: str
    owner: str
    sla: str


@dataclass
class FunnelSummary:
    stages: list[StageSummary] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)  # glossary keys


def stale_definitions(session: Session, now: datetime, stale_after_days: int) -> list[StaleDefinition]:
    """Definitions not reviewed (approved, imported or marked reviewed) for `stale_after_days`, oldest first."""
    cutoff = now - timedelta(days=stale_after_days)
    rows = session.scalars(
        select(LeadDefinition)
        .where(LeadDefinition.reviewed_at <= cutoff)
        .order_by(LeadDefinition.reviewed_at, LeadDefinition.key)
    ).all()
    return [StaleDefinition(r.key, r.full_name, r.owner, r.reviewed_at, (now - r.reviewed_at).days) for r in rows]


def open_proposals(session: Session) -> list[OpenProposal]:
    """Proposals still waiting for approval, oldest first."""
    rows = session.scalars(
        select(LeadDefinitionProposal)
        .where(LeadDefinitionProposal.status == "open")
        .order_by(LeadDefinitionProposal.created_at, LeadDefinitionProposal.id)
    ).all()
    return [
        OpenProposal(
            r.id,
            r.key,
            r.proposer,
            r.created_at,
            r.summary,
            r.base_version,
            r.marketing_approver,
            r.sales_approver,
            r.channel,
            r.message_ts,
        )
        for r in rows
    ]


def changed_since(session: Session, since: datetime) -> list[DefinitionChange]:
    """Versions created after `since` (approved changes and imports; not the shipped v1), oldest first."""
    rows = session.scalars(
        select(LeadDefinitionVersion)
        .where(LeadDefinitionVersion.created_at > since, LeadDefinitionVersion.version > 1)
        .order_by(LeadDefinitionVersion.created_at, LeadDefinitionVersion.id)
    ).all()
    changes = []
    for row in rows:
        previous = session.scalar(
            select(LeadDefinitionVersion.snapshot).where(
                LeadDefinitionVersion.key == row.key, LeadDefinitionVersion.version == row.version - 1
            )
        )
        changed = describe(diff_definitions(previous, row.snapshot)) if previous else "new term"
        changes.append(DefinitionChange(row.key, row.version, row.author, row.created_at, row.summary, changed))
    return changes


def funnel_summary(session: Session) -> FunnelSummary:
    """The funnel in order (one line per stage) and the glossary keys, for App Home."""
    rows = session.scalars(select(LeadDefinition)).all()
    summary = FunnelSummary()
    for r in sorted((r for r in rows if r.kind == "stage"), key=lambda r: r.position or 0):
        summary.stages.append(StageSummary(r.position or 0, r.key, r.full_name, r.owner, r.sla))
    summary.terms = sorted((r.key for r in rows if r.kind != "stage"), key=str.casefold)
    return summary
