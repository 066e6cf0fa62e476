"""The weekly digest for the department heads, as data: KPIs against targets, an 8-week trend,
the most shared content, the top unanswered objections and lead-definition changes.

Contract used by the scheduler (bot/meetings):
    build_digest(session, period, now) -> Digest          pure data (rendered by bot/render/digest.py)
    render_chart(digest) -> bytes                          PNG (matplotlib, Agg)
    send_digest(services, client, recipient, period)       see bot/meetings/digest_delivery.py
    digest_recipients(session, settings) -> list[str]      heads by role, or REVALIGN_DIGEST_CHANNEL
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import roles
from bot.content.gaps import top_gaps
from bot.content.summary import MarketingSummary, marketing_summary
from bot.kpis import catalog, periods, targets, values
from bot.kpis.chart import render_chart as render_chart  # re-exported: the digest and its chart
from bot.lead_defs.queries import changed_since, open_proposals
from bot.models import Role
from bot.models.content import ContentEvent, ContentItem

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.services import Services
    from bot.settings import Settings

TREND_PERIODS = 8
TOP_CONTENT = 5
TOP_OBJECTIONS = 5
TOP_DEFINITIONS = 6
OBJECTION_WINDOW_WEEKS = 4


@dataclass
class DigestMetric:
    key: str
    name: str
    unit: str
    owner: str
    higher_is_better: bool
    is_ratio: bool
    key_metric: bool
    label: str  # short name for chart panels
    value: float | None
    previous: float | None
    target: float | None
    value_text: str
    previous_text: str
    target_text: str
    change_text: str  # "↑ 9.1%", "↓ 2.0 pts", "" when there is nothing to compare
    improving: bool | None
    progress: float | None  # share of target reached; lower-is-better metrics: target ÷ value
    on_target: bool | None  # None when there is no target, no value, or the value is impossible
    flag: str = ""  # "MQL follow-up SLA compliance 113.0%: check the inputs (…)", plain text
    problem: str = ""  # the same without name and value: "check the inputs (… can't be over 100%)"
    trend: list[float | None] = field(default_factory=list)  # aligned with Digest.trend_periods
    trend_targets: list[float | None] = field(default_factory=list)
    source: str = ""  # "from HubSpot, synced Mon 06:00" for CRM-synced values (bot/crm), else ""


# DigestMetric's fields that are the catalog metric's and the metric line's own, by the same name.
_FROM_METRIC = ("key", "name", "unit", "owner", "higher_is_better", "is_ratio", "key_metric", "label")
_FROM_LINE = ("value", "previous", "target", "change_text", "improving", "progress", "on_target", "flag", "problem")


@dataclass
class DigestItem:
    text: str  # plain text (escaped when rendered)
    detail: str = ""  # plain text
    url: str = ""
    who: str = ""  # a Slack user ID, shown as a mention


@dataclass
class Digest:
    period: str
    period_label: str
    previous_period: str
    generated_at: datetime
    trend_periods: list[str]
    metrics: list[DigestMetric]
    shared_content: list[DigestItem]
    objections: list[DigestItem]
    definitions: list[DigestItem]
    # Marketing's part of the week: top gaps and requests, Not helpful items, unused content.
    marketing: MarketingSummary | None = None

    @property
    def recorded(self) -> int:
        return sum(1 for m in self.metrics if m.value is not None)

    @property
    def flagged(self) -> list[DigestMetric]:
        return [m for m in self.metrics if m.flag]

    def metric(self, key: str) -> DigestMetric:
        return next(m for m in self.metrics if m.key == key)


def digest_period(now: datetime, tz: str = "UTC") -> str:
    """The period a digest sent at `now` is about: the last full week."""
    return periods.previous_period(periods.current_period(now, tz))


# --- building ------------------------------------------------------------------------------
def digest_metric(
    line: values.MetricLine, *, trend: list[float | None] | None = None, trend_targets: list[float | None] | None = None
) -> DigestMetric:
    metric = line.metric
    return DigestMetric(
        **{name: getattr(metric, name) for name in _FROM_METRIC},
        **{name: getattr(line, name) for name in _FROM_LINE},
        value_text=catalog.format_value(metric, line.value),
        previous_text=catalog.format_value(metric, line.previous),
        target_text=catalog.format_value(metric, line.target) if line.target is not None else "",
        trend=trend or [],
        trend_targets=trend_targets or [],
    )


def build_digest(session: Session, period: str, now: datetime, *, tz: str = "UTC") -> Digest:
    week = periods.as_week(period)
    period = str(week)
    trend = periods.last_periods(period, TREND_PERIODS)
    previous = periods.previous_period(period)
    all_values = values.metric_values(session, trend if previous in trend else [previous, *trend], tz=tz)
    goals = targets.targets_for(session, trend)
    from bot.crm.kpi_values import sources_for  # where CRM-synced values came from

    sources = sources_for(session, period, tz)
    metrics = []
    for metric in catalog.CATALOG:
        line = values.MetricLine(
            metric,
            period,
            all_values[(metric.key, period)],
            all_values[(metric.key, previous)],
            goals[(metric.key, period)],
        )
        metrics.append(
            digest_metric(
                line,
                trend=[all_values[(metric.key, p)] for p in trend],
                trend_targets=[goals[(metric.key, p)] for p in trend],
            )
        )
        metrics[-1].source = sources.get(metric.key, "")
    start, end = week.bounds(tz)
    return Digest(
        period=period,
        period_label=week.label(),
        previous_period=previous,
        generated_at=now,
        trend_periods=trend,
        metrics=metrics,
        shared_content=shared_content(session, start, end),
        objections=objections(session, start, end, now),
        definitions=definitions(session, start, end),
        marketing=marketing_summary(session, min(now, end)),
    )


@dataclass(frozen=True)
class SharedCount:
    title: str
    url: str
    shares: int


def most_shared_between(
    session: Session, start: datetime, end: datetime, limit: int = TOP_CONTENT
) -> list[SharedCount]:
    """Items shared most with start <= time < end, most shared first.

    bot.content.usage.most_shared has no end: a digest for a past week must not count
    the shares made after it.
    """
    shares = func.count(ContentEvent.id).label("shares")
    rows = session.execute(
        select(ContentItem.title, ContentItem.url, shares)
        .join(ContentEvent, ContentEvent.item_id == ContentItem.id)
        .where(ContentEvent.kind == "share", ContentEvent.created_at >= start, ContentEvent.created_at < end)
        .group_by(ContentItem.id, ContentItem.title, ContentItem.url)
        .order_by(shares.desc(), ContentItem.title)
        .limit(limit)
    ).all()
    return [SharedCount(r.title, r.url, int(r.shares)) for r in rows]


def shared_content(session: Session, start: datetime, end: datetime) -> list[DigestItem]:
    return [
        DigestItem(row.title, f"{row.shares} share{'s' if row.shares != 1 else ''}", row.url)
        for row in most_shared_between(session, start, end)
    ]


def objections(session: Session, start: datetime, end: datetime, now: datetime) -> list[DigestItem]:
    """Open gaps seen in the four weeks up to the digest's week (none seen after it)."""
    since = start - timedelta(weeks=OBJECTION_WINDOW_WEEKS - 1)
    gaps = top_gaps(session, limit=TOP_OBJECTIONS, now=min(now, end), since=since)
    return [
        DigestItem(
            gap.objection, f"asked {gap.count}×" + (f" · {gap.requesters} requested content" if gap.requesters else "")
        )
        for gap in gaps
    ]


def definitions(session: Session, start: datetime, end: datetime) -> list[DigestItem]:
    """Definitions changed during the week, then proposals still awaiting approval."""
    items: list[DigestItem] = []
    changes = [c for c in changed_since(session, start) if c.changed_at < end]
    for change in changes[-TOP_DEFINITIONS:]:
        detail = f"changed to v{change.version}" + (f": {change.changed_fields}" if change.changed_fields else "")
        items.append(
            DigestItem(change.key, detail + (f" — “{change.summary}”" if change.summary else ""), who=change.author)
        )
    for proposal in open_proposals(session)[:TOP_DEFINITIONS]:
        waiting = proposal.waiting_for
        detail = "awaiting approval" + (f" from the {' and '.join(waiting)}" if waiting else "")
        items.append(
            DigestItem(
                proposal.key, detail + (f" — “{proposal.summary}”" if proposal.summary else ""), who=proposal.proposer
            )
        )
    return items


# --- sending ---------------------------------------------------------------------------------------
def send_digest(services: Services, client: WebClient, recipient: str, period: str) -> dict[str, str]:
    """Moved to bot/meetings/digest_delivery.py (the delivery code); kept here for its callers."""
    from bot.meetings.digest_delivery import send_digest as send

    return send(services, client, recipient, period)


def digest_recipients(session: Session, settings: Settings) -> list[str]:
    """REVALIGN_DIGEST_CHANNEL if set, otherwise every sales head and marketing head (DMs)."""
    if settings.digest_channel:
        return [settings.digest_channel]
    heads = roles.users_with_role(session, Role.sales_head) + roles.users_with_role(session, Role.marketing_head)
    return sorted(dict.fromkeys(heads))
