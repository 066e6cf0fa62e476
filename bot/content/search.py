"""`/content <objection>`: searching the library, More results, and recording content gaps.

Domain only: returns dataclasses (bot/render/content_search.py turns them into Block Kit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import gaps as gaps_mod
from bot.content.embeddings import DbEmbeddingCache, embed_cached
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
class ItemView:
    id: int
    title: str
    url: str
    type: str
    stage: str
    persona: str
    summary: str


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


def item_view(item: ContentItem) -> ItemView:
    return ItemView(item.id, item.title, item.url, item.type, item.stage, item.persona, item.summary or "")


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


class Searcher:
    def __init__(
        self, db, index_of, embedder_of, cache: DbEmbeddingCache, vocabulary: Vocabulary, now, results: int
    ) -> None:
        self.db = db
        self._index_of = index_of
        self._embedder_of = embedder_of
        self.cache = cache
        self.vocabulary = vocabulary
        self.now = now
        self.page = results

    @property
    def index(self) -> ContentIndex:
        return self._index_of()

    def search(
        self, raw: str, *, user_id: str, channel_id: str = "", k: int | None = None, record: bool = True
    ) -> SearchOutcome:
        from content_index import parse_query

        parsed = parse_query(clean_slack_text(raw))
        filters = validate_filters(self.vocabulary, parsed.filters)
        text = parsed.text
        if not text or not has_words(text):
            raise InvalidInput(
                "Tell me what the prospect said, in words, e.g. `/content we're 2x the price of Vantage`"
                + (" (after the filters)." if filters else ".")
            )
        k = k or self.page
        # one more than shown: tells whether More results has anything to show
        result: SearchResult = self.index.search(text, k=k + 1, filters=filters or None)
        outcome = SearchOutcome(None, text, filters, [], result.confident, float(result.confidence), weak=result.weak)
        now = self.now()
        with self.db.session() as session:
            outcome.results = self._results(session, [h for h in result.hits][:k], result)
            outcome.has_more = len(result.hits) > k and k < MAX_RESULTS
            if not record:
                return outcome
            if not outcome.confident:
                outcome.gap_id = self._record_gap(session, text, result.query_vector, now)
            search = ContentSearch(
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
            session.add(search)
            session.flush()
            outcome.search_id = search.id
        return outcome

    def more(self, *, user_id: str, search_id: int) -> SearchOutcome:
        """The same search with the next page of results added below the ones already shown."""
        with self.db.session() as session:
            search = owned_search(session, search_id, user_id, "see more results")
            shown = [int(i) for i in search.result_ids or []]
            filters = {k: tuple(v) for k, v in (search.filters or {}).items()}
            want = min(len(shown) + self.page, MAX_RESULTS)
            result = self.index.search(search.query, k=want + 1, filters=filters or None)
            by_id = {int(h.doc_id): h for h in result.hits}
            new = [int(h.doc_id) for h in result.hits if int(h.doc_id) not in shown][: max(want - len(shown), 0)]
            ordered = shown + new
            items = {i.id: i for i in session.scalars(select(ContentItem).where(ContentItem.id.in_(ordered)))}
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
            search.result_ids = [r.item.id for r in results]  # what this search has now shown
            extra = len([h for h in result.hits if int(h.doc_id) not in set(ordered)])
            return SearchOutcome(
                search.id,
                search.query,
                filters,
                results,
                search.confident,
                search.confidence,
                gap_id=search.gap_id,
                weak=bool(result.weak),
                has_more=extra > 0 and len(results) < MAX_RESULTS,
            )

    def _results(self, session: Session, hits, result) -> list[ResultItem]:
        ids = [int(h.doc_id) for h in hits]
        items = {i.id: i for i in session.scalars(select(ContentItem).where(ContentItem.id.in_(ids)))} if ids else {}
        return [
            ResultItem(item_view(items[int(h.doc_id)]), h.score, h.reason, h.reason_kind)
            for h in hits
            if int(h.doc_id) in items
        ]

    def _record_gap(self, session: Session, text: str, query_vector, now) -> int:
        """Join the most similar open gap, or open a new one. The query's vector comes from the
        search (embedded once); the open gaps' phrasings come in one query and from the cache."""
        objection = phrasing_of(text, 500)
        if query_vector is None:
            query_vector = self._embedder_of().encode([objection])[0]
        gaps = gaps_mod.open_gaps(session)
        phrasings = open_gap_phrasings(session, gaps)
        vectors = embed_cached(self._embedder_of(), self.cache, [t for group in phrasings for t in group])
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
