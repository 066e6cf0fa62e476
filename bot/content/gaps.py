"""Content gaps: objections reps searched that nothing answered, grouped by similarity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import NotFound
from bot.models.content import ContentGap, ContentSearch

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


def open_gaps(session: Session, limit: int = 200) -> list[ContentGap]:
    """The most recently seen open gaps (a new objection is compared with these)."""
    return list(session.scalars(select(ContentGap).where(ContentGap.status == "open")
                                .order_by(ContentGap.last_seen.desc(), ContentGap.id.desc()).limit(limit)))


def gap_phrasings(session: Session, gap: ContentGap, limit: int = 5) -> list[str]:
    """The gap's objection and its latest distinct phrasings (a new query joins on any of them)."""
    recent = session.scalars(select(ContentSearch.query).where(ContentSearch.gap_id == gap.id)
                             .order_by(ContentSearch.id.desc()).limit(limit * 3)).all()
    return list(dict.fromkeys([gap.objection, *recent]))[: limit + 1]


def nearest_gap(gaps: list[ContentGap], gap_vectors: list[np.ndarray], query_vector: np.ndarray,
                threshold: float = GROUP_THRESHOLD) -> ContentGap | None:
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


def top_gaps(session: Session, limit: int = 10, now: datetime | None = None,
             since: datetime | None = None) -> list[GapSummary]:
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
    gaps = session.scalars(query.order_by(ContentGap.count.desc(), ContentGap.last_seen.desc(),
                                          ContentGap.id).limit(limit)).all()
    summaries = []
    for gap in gaps:
        examples = session.scalars(
            select(ContentSearch.query).where(ContentSearch.gap_id == gap.id)
            .order_by(ContentSearch.created_at.desc(), ContentSearch.id.desc()).limit(8)).all()
        distinct = tuple(dict.fromkeys(e for e in examples if e.lower() != gap.objection.lower()))[:3]
        summaries.append(GapSummary(gap.id, gap.objection, gap.count, gap.last_seen, gap.first_seen, distinct))
    return summaries


def get_gap(session: Session, gap_id: int) -> ContentGap:
    gap = session.get(ContentGap, gap_id)
    if gap is None:
        raise NotFound("That content gap no longer exists.")
    return gap


def resolve_gap(session: Session, gap_id: int, status: str, user_id: str, now: datetime) -> ContentGap:
    gap = get_gap(session, gap_id)
    gap.status, gap.resolved_by, gap.resolved_at = status, user_id, now
    return gap
