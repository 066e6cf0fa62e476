"""Content gaps: objections reps searched that nothing answered, grouped by similarity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.errors import NotFound
from bot.models import Role
from bot.models.content import ContentGap, ContentRequest, ContentSearch

# Who may read gaps, requests and the content report (both department heads), and who may
# change them (tag, dismiss): marketing.
READ_ROLES = (Role.marketer, Role.marketing_head, Role.sales_head, Role.admin)
CHANGE_ROLES = (Role.marketer, Role.marketing_head, Role.admin)

# Cosine similarity (all-MiniLM-L6-v2) above which two objections count as the same gap.
GROUP_THRESHOLD = 0.5  # paraphrases score ~0.5-0.6, other objections < 0.35


@dataclass(frozen=True)
class GapSummary:
    id: int
    objection: str
    count: int
    last_seen: datetime
    first_seen: datetime
    examples: tuple[str, ...] = ()
    requesters: int = 0  # reps who asked marketing for content on this gap (/content request)


def open_gaps(session: Session, limit: int = 200) -> list[ContentGap]:
    """The most recently seen open gaps (a new objection is compared with these)."""
    return list(
        session.scalars(
            select(ContentGap)
            .where(ContentGap.status == "open")
            .order_by(ContentGap.last_seen.desc(), ContentGap.id.desc())
            .limit(limit)
        )
    )


def gap_phrasings(session: Session, gap: ContentGap, limit: int = 5) -> list[str]:
    """The gap's objection and its latest distinct phrasings (a new query joins on any of them)."""
    recent = session.scalars(
        select(ContentSearch.query)
        .where(ContentSearch.gap_id == gap.id)
        .order_by(ContentSearch.id.desc())
        .limit(limit * 3)
    ).all()
    return list(dict.fromkeys([gap.objection, *recent]))[: limit + 1]


def nearest_gap(
    gaps: list[ContentGap], gap_vectors: list[np.ndarray], query_vector: np.ndarray, threshold: float = GROUP_THRESHOLD
) -> ContentGap | None:
    """The open gap with the most similar phrasing (single link); gap_vectors[i] is (n_i, dim)."""
    if not gaps:
        return None
    sims = [float(np.max(np.atleast_2d(v) @ query_vector)) for v in gap_vectors]
    best = int(np.argmax(sims))
    return gaps[best] if sims[best] >= threshold else None


def add_to_gap(session: Session, gap: ContentGap | None, objection: str, now: datetime) -> ContentGap:
    if gap is None:
        gap = ContentGap(objection=objection[:500], count=1, first_seen=now, last_seen=now, status="open")
        session.add(gap)
    else:
        gap.count += 1
        gap.last_seen = max(gap.last_seen, now)
    session.flush()
    return gap


def top_gaps(
    session: Session, limit: int = 10, now: datetime | None = None, since: datetime | None = None
) -> list[GapSummary]:
    """Open gaps, most asked first (then most recent): objection, count, last_seen.

    `now` is accepted for callers that pass the clock (agenda, App Home, digest); gaps seen
    after `now` are left out so a frozen clock gives stable answers. `since` limits to gaps
    seen since then.
    """
    query = select(ContentGap).where(ContentGap.status == "open")
    if now is not None:
        query = query.where(ContentGap.first_seen <= now)
    if since is not None:
        query = query.where(ContentGap.last_seen >= since)
    gaps = session.scalars(
        query.order_by(ContentGap.count.desc(), ContentGap.last_seen.desc(), ContentGap.id).limit(limit)
    ).all()
    ids = [g.id for g in gaps]
    examples = _recent_queries(session, ids, 8)
    requesters = _requester_counts(session, ids)
    summaries = []
    for gap in gaps:
        distinct = tuple(dict.fromkeys(e for e in examples.get(gap.id, ()) if e.lower() != gap.objection.lower()))[:3]
        summaries.append(
            GapSummary(
                gap.id, gap.objection, gap.count, gap.last_seen, gap.first_seen, distinct, requesters.get(gap.id, 0)
            )
        )
    return summaries


def _recent_queries(session: Session, gap_ids: list[int], per_gap: int) -> dict[int, list[str]]:
    """The latest `per_gap` queries of each gap, in one query (a window function)."""
    if not gap_ids:
        return {}
    ranked = (
        select(
            ContentSearch.gap_id,
            ContentSearch.query,
            func.row_number()
            .over(
                partition_by=ContentSearch.gap_id, order_by=(ContentSearch.created_at.desc(), ContentSearch.id.desc())
            )
            .label("n"),
        )
        .where(ContentSearch.gap_id.in_(gap_ids))
        .subquery()
    )
    out: dict[int, list[str]] = {}
    for gap_id, text in session.execute(
        select(ranked.c.gap_id, ranked.c.query).where(ranked.c.n <= per_gap).order_by(ranked.c.gap_id, ranked.c.n)
    ):
        out.setdefault(gap_id, []).append(text)
    return out


def _requester_counts(session: Session, gap_ids: list[int]) -> dict[int, int]:
    if not gap_ids:
        return {}
    rows = session.execute(
        select(ContentRequest.gap_id, func.count(func.distinct(ContentRequest.user_id)))
        .where(ContentRequest.gap_id.in_(gap_ids))
        .group_by(ContentRequest.gap_id)
    )
    return {gap_id: int(n) for gap_id, n in rows}


def get_gap(session: Session, gap_id: int) -> ContentGap:
    gap = session.get(ContentGap, gap_id)
    if gap is None:
        raise NotFound("That content gap no longer exists.")
    return gap


def resolve_gap(session: Session, gap_id: int, status: str, user_id: str, now: datetime) -> ContentGap:
    gap = get_gap(session, gap_id)
    gap.status, gap.resolved_by, gap.resolved_at = status, user_id, now
    return gap
