"""What App Home shows one person, as data: their role, the funnel, this week's KPIs, the next
meeting, gaps for marketers, and for department heads their own work (proposals waiting for
them, stale definitions, overdue actions they own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.content import requests as content_requests
from bot.content.gaps import GapSummary
from bot.content.requests import GapRequests
from bot.kpis.digest import DigestMetric
from bot.kpis.periods import current_week
from bot.lead_defs.queries import (
    FunnelSummary,
    OpenProposal,
    StaleDefinition,
    open_proposals,
    stale_definitions,
)
from bot.meetings import agenda as ag
from bot.meetings import sources
from bot.models import Role
from bot.models.scheduling import ActionItem
from bot.roles import role_of

HEADS = (Role.marketing_head, Role.sales_head)


@dataclass
class HeadsWork:
    side: str  # "marketing" or "sales"
    waiting: list[OpenProposal] = field(default_factory=list)
    stale: list[StaleDefinition] = field(default_factory=list)
    overdue: list[ActionItem] = field(default_factory=list)
    stale_after_days: int = 90


@dataclass
class HomeData:
    role: Role
    week: str
    funnel: sources.Section[FunnelSummary]
    kpis: sources.Section[DigestMetric]
    agenda: ag.Agenda
    gaps: sources.Section[GapSummary] | None = None
    requests: list[GapRequests] | None = None  # what reps asked marketing for (marketers)
    heads: HeadsWork | None = None


def waiting_for(proposals: list[OpenProposal], user_id: str, role: Role) -> list[OpenProposal]:
    """Open proposals this head can approve: their side still missing, not theirs, not already approved by them."""
    side_missing = (
        (lambda p: not p.marketing_approver) if role == Role.marketing_head else (lambda p: not p.sales_approver)
    )
    return [
        p
        for p in proposals
        if side_missing(p) and p.proposer != user_id and user_id not in (p.marketing_approver, p.sales_approver)
    ]


def home_data(session: Session, services, user_id: str, now: datetime) -> HomeData:
    role = role_of(session, user_id)
    tz = services.settings.timezone
    week = str(current_week(now, tz))
    agenda = ag.build_agenda(session, services, now, full=False)
    data = HomeData(role, week, sources.funnel(session), sources.kpis_vs_targets(session, week, now, tz=tz), agenda)
    if role in (Role.marketer, Role.marketing_head):
        data.gaps = sources.content_gaps(session, now)
        data.requests = content_requests.open_requests(session)
    if role in HEADS:
        days = services.settings.stale_after_days
        data.heads = HeadsWork(
            "marketing" if role == Role.marketing_head else "sales",
            waiting_for(open_proposals(session), user_id, role),
            stale_definitions(session, now, days),
            ag.overdue_actions_of(session, user_id, agenda.today),
            days,
        )
    return data
