"""Gaps that know when they are answered.

After content changes (tagging, an import, an edit), every open gap's phrasings are searched
again through the public search API. A gap closes itself ("answered by …") when its own
objection and at least half of its phrasings now find confident content; the item found most
often at the top is what answers it, and what its requesters are sent. Items the reps were
already shown by a confident search and still asked for content about do not count: they are
what the rep said does not fit. Dismissing a gap stays manual.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.content import gaps as gaps_mod
from bot.content import requests as content_requests
from bot.models.content import ContentGap, ContentItem, ContentSearch

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlalchemy.engine import CursorResult

    from bot.services import Services

log = logging.getLogger(__name__)

PHRASINGS_PER_GAP = 3  # the objection and its two latest other phrasings
MAX_GAPS = 200  # the most recently seen open gaps are re-checked


@dataclass(frozen=True)
class ClosedGap:
    gap_id: int
    objection: str
    item_id: int
    item_title: str
    item_url: str


@dataclass(frozen=True)
class _GapToCheck:
    id: int
    objection: str
    phrasings: tuple[str, ...]
    rejected: frozenset[int]


def _gaps_to_check(session: Session, limit: int) -> list[_GapToCheck]:
    gaps = gaps_mod.open_gaps(session, limit)
    if not gaps:
        return []
    ids = [g.id for g in gaps]
    phrasings: dict[int, list[str]] = defaultdict(list)
    rejected: dict[int, set[int]] = defaultdict(set)
    rows = session.execute(
        select(ContentSearch.gap_id, ContentSearch.query, ContentSearch.confident, ContentSearch.result_ids)
        .where(ContentSearch.gap_id.in_(ids))
        .order_by(ContentSearch.id.desc())
    )
    for gap_id, query, confident, result_ids in rows:
        phrasings[gap_id].append(query)
        if confident:
            rejected[gap_id].update(int(i) for i in result_ids or ())
    out = []
    for gap in gaps:
        seen = {gap.objection.lower()}
        texts = [gap.objection]
        for text in phrasings[gap.id]:
            if len(texts) >= PHRASINGS_PER_GAP:
                break
            if text.lower() not in seen:
                seen.add(text.lower())
                texts.append(text)
        out.append(_GapToCheck(gap.id, gap.objection, tuple(texts), frozenset(rejected[gap.id])))
    return out


def answering_item(services: Services, gap: _GapToCheck) -> int | None:
    """The item that now answers this gap, or None. The objection is searched first: most open
    gaps stay unanswered, and this way they cost one search each (~20 ms of CPU)."""
    index = services.content.index

    def top(text: str) -> int | None:
        result = index.search(text, k=1)
        hit = int(result.hits[0].doc_id) if result.confident and result.hits else None
        return hit if hit not in gap.rejected else None

    tops = [top(gap.phrasings[0])]
    if tops[0] is None:
        return None
    needed = -(-len(gap.phrasings) // 2)  # at least half of the phrasings, the objection included
    for text in gap.phrasings[1:]:
        if sum(t is not None for t in tops) >= needed:
            break
        tops.append(top(text))
    if sum(t is not None for t in tops) < needed:
        return None
    counts = Counter(t for t in tops if t is not None)
    best = max(counts.values())
    return next(t for t in tops if t is not None and counts[t] == best)  # ties: the objection's own top


def close_answered_gaps(
    services: Services, *, by: str, limit: int = MAX_GAPS, progress: Callable[[int, int], None] | None = None
) -> list[ClosedGap]:
    """Re-run open gaps' phrasings against the index and close the answered ones."""
    # The change that calls this (a tag, an import) reaches the index off the request path:
    # search only once it is there, or the gap it answers would stay open.
    services.content.wait_for_index()
    with services.db.session() as session:
        to_check = _gaps_to_check(session, limit)
    found: list[tuple[_GapToCheck, int]] = []
    for done, gap in enumerate(to_check, 1):
        item_id = answering_item(services, gap)
        if item_id is not None:
            found.append((gap, item_id))
        if progress:
            progress(done, len(to_check))
    closed = []
    now = services.now()
    with services.db.session() as session:
        for gap, item_id in found:
            item = session.get(ContentItem, item_id)
            if item is None:
                continue
            # Conditional: a marketer dismissing or tagging it meanwhile wins.
            answered = (
                update(ContentGap)
                .where(ContentGap.id == gap.id, ContentGap.status == "open")
                .values(status="answered", resolved_by=by, resolved_at=now, answered_item_id=item_id)
            )
            result = cast("CursorResult[Any]", session.execute(answered))
            if result.rowcount:
                closed.append(ClosedGap(gap.id, gap.objection, item.id, item.title, item.url))
    if closed:
        log.info("%d content gap(s) answered by new content", len(closed))
    return closed


def record_tagged_answer(session: Session, gap_id: int, item_id: int) -> None:
    """A gap tagged from its own button: remember which item answers it (for its requesters)."""
    session.execute(
        update(ContentGap)
        .where(ContentGap.id == gap_id, ContentGap.answered_item_id.is_(None))
        .values(answered_item_id=item_id)
    )


@dataclass(frozen=True)
class AfterChange:
    closed: list[ClosedGap]
    notified: int


def after_content_change(
    services: Services, client: WebClient | None, *, by: str, progress: Callable[[int, int], None] | None = None
) -> AfterChange:
    """What every listener and CLI command that changes content calls afterwards: close the
    gaps that are now answered, then tell their requesters (and retry earlier failed DMs)."""
    closed = close_answered_gaps(services, by=by, progress=progress)
    notified = content_requests.notify_requesters(services, client) if client is not None else 0
    return AfterChange(closed, notified)
