"""Marketing's weekly summary: the top gaps and the reps' requests on them, the items reps
marked Not helpful, and content nobody shared. Rendered by bot.render.content.summary_blocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.content import gaps as gaps_mod
from bot.content import report as report_mod
from bot.content import requests as content_requests
from bot.models.content import ContentGap


@dataclass(frozen=True)
class MarketingSummary:
    period_label: str
    gaps: list[gaps_mod.GapSummary]  # top open gaps seen this week
    requests: dict[int, content_requests.GapRequests]  # requests on those gaps (and other requested gaps)
    not_helpful: list[report_mod.ItemUsage]
    unused: list[report_mod.ItemUsage]  # a few never-shared items, never-shown first
    unused_count: int


def marketing_summary(session: Session, now: datetime, *, days: int = 7, top: int = 5) -> MarketingSummary:
    start = now - timedelta(days=days)
    period = report_mod.Period(start, now, f"{start:%b %-d} – {now:%b %-d, %Y}")
    report = report_mod.build_report(session, period)
    gaps = gaps_mod.top_gaps(session, top, now, since=start)
    requested = content_requests.open_requests(session, top, since=start)
    requests = content_requests.requests_by_gap(session, [g.id for g in gaps])
    requests.update({r.gap_id: r for r in requested})
    listed = {g.id for g in gaps}
    # Gaps reps asked content for come first even when asked about less often.
    extra = []
    for r in requested:
        gap = session.get(ContentGap, r.gap_id) if r.gap_id not in listed else None
        if gap is not None:
            extra.append(
                gaps_mod.GapSummary(
                    gap.id, gap.objection, gap.count, gap.last_seen, gap.first_seen, requesters=r.requesters
                )
            )
    unused = [i for g in report.unused for i in (*g.never_shown, *g.never_shared)]
    unused.sort(key=lambda i: (i.shown, i.title.lower()))
    return MarketingSummary(
        period.label,
        (extra + list(gaps))[:top],
        requests,
        report.most_not_helpful[:top],
        unused[:top],
        report.unused_count,
    )
