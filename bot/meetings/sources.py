"""What other features contribute to the agenda and App Home, as data (bot/render/agenda.py and
bot/render/home.py turn it into Block Kit).

Each section comes from its feature's own module by a plain import. A database failure while
reading one section is reported in that section ("… could not be loaded") so the rest of the
agenda still goes out; any other error is a bug and propagates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.content.gaps import GapSummary, top_gaps
from bot.kpis.digest import DigestMetric, build_digest
from bot.lead_defs.queries import (
    DefinitionChange,
    FunnelSummary,
    OpenProposal,
    StaleDefinition,
    changed_since,
    funnel_summary,
    open_proposals,
    stale_definitions,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class Section(Generic[T]):
    available: bool
    items: list[T] = field(default_factory=list)
    note: str = ""  # why it is not available


def _failed(what: str, exc: Exception) -> Section:
    log.warning("%s failed: %s", what, exc.__class__.__name__, exc_info=exc)
    return Section(False, note=f"{what} could not be loaded.")


def kpis_vs_targets(session: Session, period: str, now: datetime, tz: str = "UTC") -> Section[DigestMetric]:
    """Every KPI's value for `period` against its shared target (bot.kpis.digest)."""
    try:
        return Section(True, list(build_digest(session, period, now, tz=tz).metrics))
    except SQLAlchemyError as exc:
        return _failed("KPIs", exc)


@dataclass
class DefinitionNews:
    proposed: list[OpenProposal] = field(default_factory=list)
    changed: list[DefinitionChange] = field(default_factory=list)
    stale: list[StaleDefinition] = field(default_factory=list)


def definition_changes(session: Session, settings, since: datetime, now: datetime) -> Section[DefinitionNews]:
    """Definitions proposed (awaiting approval), changed since the last meeting, and stale."""
    try:
        news = DefinitionNews(
            open_proposals(session)[:5],
            changed_since(session, since)[:5],
            stale_definitions(session, now, settings.stale_after_days)[:5],
        )
    except SQLAlchemyError as exc:
        return _failed("Lead definitions", exc)
    return Section(True, [news])


def funnel(session: Session) -> Section[FunnelSummary]:
    try:
        return Section(True, [funnel_summary(session)])
    except SQLAlchemyError as exc:
        return _failed("Lead definitions", exc)


def content_gaps(session: Session, now: datetime, limit: int = 5, days: int = 30) -> Section[GapSummary]:
    """Open content gaps seen in the last `days` days, most asked first (bot.content.gaps)."""
    try:
        return Section(True, top_gaps(session, limit=limit, now=now, since=now - timedelta(days=days)))
    except SQLAlchemyError as exc:
        return _failed("Content gaps", exc)
