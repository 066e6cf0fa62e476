"""`/content <objection>`: searching the library, More results, and recording content gaps.

Domain only: functions take the caller's Session and return dataclasses (bot/render/content_search.py
turns them into Block Kit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import gaps as gaps_mod
from bot.content.embeddings import embed_cached
from bot.content.items import ItemView, item_view
from bot.content.text import clean_slack_text, has_words, phrasing_of
from bot.content.vocabulary import FACETS, Vocabulary, normalize_value
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.models.content import ContentGap, ContentItem, ContentSearch
from bot.render.blocks import escape

if TYPE_CHECKING:
    from content_index import ContentIndex, SearchResult

# Results a search can show in all, through More results (the first page is REVALIGN_CONTENT_RESULTS).
MAX_RESULTS = 10


@dataclass(frozen=True)
class ResultItem:
    item: ItemView
    score: float
    reason: str
    reason_kind: str


@dataclass
class SearchOutcome:
    search_id: int | None
    text: str
    filters: dict[str, tuple[str, ...]]
    results: list[ResultItem]
    confident: bool  # False: "no good match" (a content gap was recorded)
    confidence: float
    gap_id: int | None = None
    weak: bool = False  # a match, but possibly a weak one
    has_more: bool = False  # More results would show more
    missing_terms: tuple[str, ...] = ()  # acronyms the rep named that no item mentions ("FERPA")


def validate_filters(vocabulary: Vocabulary, filters: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    checked: dict[str, tuple[str, ...]] = {}
    for facet, values in filters.items():
        if facet not in FACETS:
            continue
        good = []
        for value in values:
            normalized = vocabulary.check(facet, value)
            if normalized is None:
                allowed = ", ".join(vocabulary.allowed(facet))
                raise InvalidInput(
                    f"`{facet}:{escape(normalize_value(value)[:40])}` is not a {facet} I know. "
                    f"Allowed {facet} values: {allowed}."
                )
            good.append(normalized)
        checked[facet] = tuple(dict.fromkeys(good))
    return checked


def search(
    session: Session,
    index: ContentIndex,
    vocabulary: Vocabulary,
    raw: str,
    *,
    user_id: str,
    channel_id: str = "",
    k: int,
    now: datetime,
    record: bool = True,
) -> SearchOutcome:
    """Search for what the prospect said: k results, and the search recorded (a content gap
    too, when nothing matches) unless `record` is False.

    Call it before anything else the transaction writes: a new gap's phrasings are stored in the
    embedding cache's own short transaction, which on SQLite waits for the caller's writes."""
    from content_index import parse_query

    parsed = parse_query(clean_slack_text(raw))
    filters = validate_filters(vocabulary, parsed.filters)
    text = parsed.text
    if not text or not has_words(text):
        raise InvalidInput(
            "Tell me what the prospect said, in words, e.g. `/content we're 2x the price of Vantage`"
            + (" (after the filters)." if filters else ".")
        )
    # one more than shown: tells whether More results has anything to show
    result: SearchResult = index.search(text, k=k + 1, filters=filters or None)
    outcome = SearchOutcome(
        None,
        text,
        filters,
        [],
        result.confident,
        float(result.confidence),
        weak=result.weak,
        missing_terms=result.missing_terms,
    )
    outcome.results = _results(session, result.hits[:k])
    outcome.has_more = len(result.hits) > k and k < MAX_RESULTS
    if not record:
        return outcome
    if not outcome.confident:
        outcome.gap_id = _record_gap(session, index, text, result.query_vector, now)
    search_row = ContentSearch(
        user_id=user_id,
        channel_id=channel_id or "",
        query=text,
        filters={k_: list(v) for k_, v in filters.items()},
        result_ids=[r.item.id for r in outcome.results],
        confident=outcome.confident,
        confidence=outcome.confidence,
        gap_id=outcome.gap_id,
        created_at=now,
    )
    session.add(search_row)
    session.flush()
    outcome.search_id = search_row.id
    return outcome


def more_results(session: Session, index: ContentIndex, *, user_id: str, search_id: int, page: int) -> SearchOutcome:
    """The same search with the next page of results added below the ones already shown."""
    search_row = owned_search(session, search_id, user_id, "see more results")
    shown = [int(i) for i in search_row.result_ids or []]
    filters = {k: tuple(v) for k, v in (search_row.filters or {}).items()}
    want = min(len(shown) + page, MAX_RESULTS)
    result = index.search(search_row.query, k=want + 1, filters=filters or None)
    by_id = {int(h.doc_id): h for h in result.hits}
    new = [int(h.doc_id) for h in result.hits if int(h.doc_id) not in shown][: max(want - len(shown), 0)]
    ordered = shown + new
    items = _items(session, ordered)
    results = []
    for item_id in ordered:
        item = items.get(item_id)
        if item is None:
            continue  # removed from the library since
        hit = by_id.get(item_id)
        results.append(
            ResultItem(
                item_view(item),
                hit.score if hit else 0.0,
                hit.reason if hit else "",
                hit.reason_kind if hit else "title",
            )
        )
    search_row.result_ids = [r.item.id for r in results]  # what this search has now shown
    extra = len([h for h in result.hits if int(h.doc_id) not in set(ordered)])
    return SearchOutcome(
        search_row.id,
        search_row.query,
        filters,
        results,
        search_row.confident,
        search_row.confidence,
        gap_id=search_row.gap_id,
        weak=bool(result.weak),
        has_more=extra > 0 and len(results) < MAX_RESULTS,
        missing_terms=result.missing_terms if not search_row.confident else (),
    )


def _items(session: Session, ids: list[int]) -> dict[int, ContentItem]:
    """The items by id, in one query (none when there are no ids)."""
    if not ids:
        return {}
    return {i.id: i for i in session.scalars(select(ContentItem).where(ContentItem.id.in_(ids)))}


def _results(session: Session, hits) -> list[ResultItem]:
    items = _items(session, [int(h.doc_id) for h in hits])
    return [
        ResultItem(item_view(items[int(h.doc_id)]), h.score, h.reason, h.reason_kind)
        for h in hits
        if int(h.doc_id) in items
    ]


def _record_gap(session: Session, index: ContentIndex, text: str, query_vector, now: datetime) -> int:
    """Join the most similar open gap, or open a new one. The query's vector comes from the
    search (embedded once); the open gaps' phrasings come in one query and from the cache.
    The index's own model and cache embed them, so they compare with the query's vector."""
    objection = phrasing_of(text, 500)
    gaps = gaps_mod.open_gaps(session)
    phrasings = open_gap_phrasings(session, gaps)
    texts = [t for group in phrasings for t in group]
    # The index returns no vector when it did not embed the query (an empty library, say):
    # the objection is then embedded with the phrasings, in the same call.
    vectors = embed_cached(index.embedder, index.cache, texts if query_vector is not None else [objection, *texts])
    if query_vector is None:
        query_vector = vectors[objection]
    gap = gaps_mod.nearest_gap(
        gaps,
        [np.stack([vectors[t] for t in group]) for group in phrasings],
        np.asarray(query_vector, dtype=np.float32),
    )
    return gaps_mod.add_to_gap(session, gap, objection, now).id


def open_gap_phrasings(session: Session, gaps: list[ContentGap], limit: int = 5) -> list[list[str]]:
    """Per gap, its objection and latest distinct phrasings — for all gaps in one query."""
    if not gaps:
        return []
    ids = [g.id for g in gaps]
    rows = session.execute(
        select(ContentSearch.gap_id, ContentSearch.query)
        .where(ContentSearch.gap_id.in_(ids))
        .order_by(ContentSearch.id.desc())
    ).all()
    recent: dict[int, list[str]] = {}
    for gap_id, query in rows:
        if gap_id is None:
            continue
        bucket = recent.setdefault(gap_id, [])
        if len(bucket) < limit * 3:
            bucket.append(query)
    return [list(dict.fromkeys([g.objection, *recent.get(g.id, [])]))[: limit + 1] for g in gaps]


def owned_search(session: Session, search_id: int | None, user_id: str, action: str) -> ContentSearch:
    """The search row, if this user ran it: results belong to the rep who searched."""
    search = session.get(ContentSearch, search_id) if search_id else None
    if search is None:
        raise NotFound("That search is no longer available; run /content again.")
    if search.user_id != user_id:
        raise PermissionDenied(
            f"Only <@{search.user_id}>, who ran this search, can {action} on it. "
            "Run /content yourself to get your own results."
        )
    return search
