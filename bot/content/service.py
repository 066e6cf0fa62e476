"""ContentService: the library in the database, the in-memory search index, and keeping them in sync.

* The index (content_index.ContentIndex) is built from the database at start-up, with a
  database-backed embedding cache (model id + text hash -> vector), so restarts and re-imports
  only embed texts that changed, and a different model re-embeds everything.
* Every write here updates this process's index immediately and appends the item ids to
  `content_changes`; a daemon thread in every process polls that log (every POLL_SECONDS) and
  re-reads the changed items (upsert, or remove when the row is gone), so several bot
  processes on one database agree within a few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.content import gaps as gaps_mod
from bot.content import library
from bot.content.text import clean_slack_text, has_words, phrasing_of
from bot.content.vocabulary import FACETS, Vocabulary, load_vocabulary, normalize_value
from bot.db import Database
from bot.errors import InvalidInput, NotFound
from bot.models import Role
from bot.models.base import utcnow
from bot.models.content import (
    ContentChange,
    ContentEmbedding,
    ContentEvent,
    ContentItem,
    ContentLearned,
    ContentSearch,
)
from bot.roles import require_role

if TYPE_CHECKING:
    from bot.services import Services
    from content_index import ContentDoc, ContentIndex, SearchResult, UpsertStats

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
# A change-log id that is skipped (its transaction not yet committed when we polled) is looked
# for again for this long; PostgreSQL sequences can commit out of order.
GAP_RETRY_SECONDS = 60.0
MARKETING_ROLES = (Role.marketer, Role.marketing_head, Role.admin)
MAX_TAG_ITEMS = 10


def _esc(text: str) -> str:
    """User text inside a user-facing error message (shown as Slack mrkdwn)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- the embedding cache in the database ------------------------------------------------
class DbEmbeddingCache:
    """content_index's EmbeddingCache protocol over the `content_embeddings` table."""

    CHUNK = 400

    def __init__(self, db: Database) -> None:
        self.db = db

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        hashes = list(dict.fromkeys(hashes))
        with self.db.session() as session:
            for i in range(0, len(hashes), self.CHUNK):
                rows = session.execute(
                    select(ContentEmbedding.text_hash, ContentEmbedding.dim, ContentEmbedding.vector).where(
                        ContentEmbedding.model_id == model_id,
                        ContentEmbedding.text_hash.in_(hashes[i:i + self.CHUNK])))
                for text_hash, dim, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.size == dim:
                        out[text_hash] = vector.copy()
        return out

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        if not vectors:
            return
        items = list(vectors.items())
        for i in range(0, len(items), self.CHUNK):
            chunk = dict(items[i:i + self.CHUNK])
            try:
                self._insert(model_id, chunk)
            except IntegrityError:
                # Another process stored some of these meanwhile: insert only what is still missing.
                self._insert(model_id, chunk)

    def _insert(self, model_id: str, chunk: Mapping[str, np.ndarray]) -> None:
        with self.db.session() as session:
            present = set(session.scalars(select(ContentEmbedding.text_hash).where(
                ContentEmbedding.model_id == model_id, ContentEmbedding.text_hash.in_(list(chunk)))))
            for text_hash, vector in chunk.items():
                if text_hash not in present:
                    vector = np.ascontiguousarray(vector, dtype=np.float32)
                    session.add(ContentEmbedding(model_id=model_id, text_hash=text_hash, dim=int(vector.size),
                                                 vector=vector.tobytes(), created_at=utcnow()))

    def count(self, model_id: str | None = None) -> int:
        with self.db.session() as session:
            query = select(func.count()).select_from(ContentEmbedding)
            if model_id:
                query = query.where(ContentEmbedding.model_id == model_id)
            return int(session.scalar(query) or 0)


# --- results -------------------------------------------------------------------------
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
    confident: bool
    confidence: float
    gap_id: int | None = None


@dataclass
class ImportOutcome:
    report: library.ImportReport
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0


@dataclass
class LearnedView:
    id: int
    phrasing: str
    item_id: int
    item_title: str
    added_by: str


@dataclass
class _PollState:
    last_id: int = 0
    missing: dict[int, float] = field(default_factory=dict)  # change id -> monotonic time first missed


def _view(item: ContentItem) -> ItemView:
    return ItemView(item.id, item.title, item.url, item.type, item.stage, item.persona, item.summary or "")


class ContentService:
    def __init__(self, services: "Services") -> None:
        self.services = services
        self.db: Database = services.db
        self.vocabulary: Vocabulary = load_vocabulary()
        self.cache = DbEmbeddingCache(self.db)
        self._index: "ContentIndex | None" = None
        self._load_lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._poll = _PollState()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.poll_seconds = POLL_SECONDS

    # --- start-up, index and sync ------------------------------------------------------
    def start(self, *, watch: bool = True) -> None:
        """Load the model and build the index from the database; then follow changes."""
        self.ensure_loaded()
        if watch:
            self.start_watching()

    @property
    def index(self) -> "ContentIndex":
        return self._index if self._index is not None else self.ensure_loaded()

    def ensure_loaded(self, progress: Callable[[int, int], None] | None = None) -> "ContentIndex":
        with self._load_lock:
            if self._index is not None:
                return self._index
            from content_index import ContentIndex

            index = ContentIndex(self.services.embedder, cache=self.cache)
            with self.db.session() as session:
                # Read the log position first: anything changed after it is replayed by the poller.
                self._poll.last_id = int(session.scalar(select(func.max(ContentChange.id))) or 0)
                docs = [self._doc(item) for item in self._load_items(session, None)]
            started = time.perf_counter()
            stats = index.upsert(docs, progress=progress)
            log.info("content index: %d items (%d texts embedded, %d reused) in %.1fs",
                     len(docs), stats.embedded, stats.reused, time.perf_counter() - started)
            self.last_load_stats = stats
            self._index = index
            return index

    def start_watching(self) -> None:
        if self._poller is None or not self._poller.is_alive():
            self._stop.clear()
            self._poller = threading.Thread(target=self._watch, name="content-sync", daemon=True)
            self._poller.start()

    def close(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=5)

    def _watch(self) -> None:
        failures = 0
        while not self._stop.wait(self.poll_seconds * (1 + min(failures, 10))):
            try:
                self.sync()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - keep following; the database may be back soon
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("content sync failed (%s); retrying", exc.__class__.__name__)

    def sync(self) -> int:
        """Apply changes other processes logged since the last call; returns the items refreshed."""
        if self._index is None:
            return 0
        with self._poll_lock:
            state = self._poll
            now = time.monotonic()
            state.missing = {i: t for i, t in state.missing.items() if now - t < GAP_RETRY_SECONDS}
            floor = min([state.last_id, *[i - 1 for i in state.missing]])
            with self.db.session() as session:
                rows = session.execute(select(ContentChange.id, ContentChange.item_id)
                                       .where(ContentChange.id > floor).order_by(ContentChange.id)).all()
            rows = [r for r in rows if r.id > state.last_id or r.id in state.missing]
            if not rows:
                return 0
            seen = {r.id for r in rows}
            for change_id in range(state.last_id + 1, max(seen)):
                if change_id not in seen:
                    state.missing.setdefault(change_id, now)
            for change_id in seen:
                state.missing.pop(change_id, None)
            state.last_id = max(state.last_id, max(seen))
            item_ids = {r.item_id for r in rows}
        self.refresh(item_ids)
        return len(item_ids)

    def refresh(self, item_ids: Iterable[int], progress: Callable[[int, int], None] | None = None) -> "UpsertStats | None":
        """Re-read items from the database into this process's index (removing deleted ones)."""
        item_ids = {int(i) for i in item_ids}
        if not item_ids or self._index is None:
            return None
        with self.db.session() as session:
            items = self._load_items(session, item_ids)
            docs = [self._doc(item) for item in items]
        found = {int(doc.id) for doc in docs}
        stats = self._index.upsert(docs, progress=progress) if docs else None
        gone = item_ids - found
        if gone:
            self._index.remove(str(i) for i in gone)
        return stats

    def _load_items(self, session: Session, ids: set[int] | None) -> list[ContentItem]:
        query = select(ContentItem).options(selectinload(ContentItem.learned)).order_by(ContentItem.id)
        if ids is None:
            return list(session.scalars(query))
        items: list[ContentItem] = []
        id_list = sorted(ids)
        for i in range(0, len(id_list), 500):
            items.extend(session.scalars(query.where(ContentItem.id.in_(id_list[i:i + 500]))))
        return items

    @staticmethod
    def _doc(item: ContentItem) -> "ContentDoc":
        from content_index import ContentDoc

        return ContentDoc(id=str(item.id), title=item.title, summary=item.summary or "", type=item.type,
                          stage=item.stage, persona=item.persona, objections=tuple(item.objections or ()),
                          learned=tuple(entry.phrasing for entry in item.learned))

    def _changed(self, session: Session, item_ids: Iterable[int]) -> list[int]:
        ids = sorted({int(i) for i in item_ids})
        library.log_change(session, ids)
        return ids

    # --- the library ------------------------------------------------------------------
    def import_parsed(self, parsed: library.ParsedFile, *, skip_invalid: bool = False,
                      progress: Callable[[int, int], None] | None = None) -> ImportOutcome:
        started = time.perf_counter()
        with self.db.session() as session:
            report = library.upsert_items(session, parsed, skip_invalid=skip_invalid, now=self.services.now())
        outcome = ImportOutcome(report)
        # An unchanged library needs neither the model nor the index: nothing to embed or re-rank.
        if report.changed_ids:
            index_was_loaded = self._index is not None
            self.ensure_loaded(progress=progress)
            stats = self.refresh(report.changed_ids, progress=progress) if index_was_loaded else self.last_load_stats
            if stats is not None:
                outcome.embedded, outcome.reused = stats.embedded, stats.reused
        outcome.seconds = time.perf_counter() - started
        return outcome

    def import_file(self, path, fmt: str | None = None, *, skip_invalid: bool = False,
                    progress: Callable[[int, int], None] | None = None) -> ImportOutcome:
        from pathlib import Path

        path = Path(path)
        parsed = library.read_file(path, library.detect_format(path, fmt), self.vocabulary)
        return self.import_parsed(parsed, skip_invalid=skip_invalid, progress=progress)

    def export(self, fmt: str) -> str:
        with self.db.session() as session:
            return library.export_items(session, fmt)

    def delete_item(self, url_or_id: str) -> ItemView:
        with self.db.session() as session:
            item = self._find_one(session, url_or_id)
            view = _view(item)
            session.delete(item)
            session.flush()
            self._changed(session, [view.id])
        self.refresh([view.id])
        return view

    def item_count(self) -> int:
        with self.db.session() as session:
            return int(session.scalar(select(func.count(ContentItem.id))) or 0)

    def get_item(self, session: Session, item_id: int) -> ContentItem:
        item = session.get(ContentItem, item_id)
        if item is None:
            raise NotFound("That content item is no longer in the library.")
        return item

    def _find_one(self, session: Session, ref: str) -> ContentItem:
        matches = self.find_items(session, ref, limit=6)
        if not matches:
            raise NotFound(f"No content item matches '{_esc(ref.strip()[:80])}'. Give its URL or words of its title.")
        if len(matches) > 1 and not any(m.url == ref.strip() for m in matches):
            titles = "; ".join(m.title for m in matches[:5])
            raise InvalidInput(f"'{_esc(ref.strip()[:80])}' matches several items ({_esc(titles)}). Give its URL.")
        exact = [m for m in matches if m.url == ref.strip()]
        return exact[0] if exact else matches[0]

    def find_items(self, session: Session, ref: str, limit: int = 20) -> list[ContentItem]:
        """Items by exact URL, id, or all the given title words (case-insensitive)."""
        ref = clean_slack_text(ref).strip()
        if not ref:
            return []
        exact = session.scalars(select(ContentItem).where(ContentItem.url == ref)).all()
        if exact:
            return list(exact)
        if ref.isdigit():
            item = session.get(ContentItem, int(ref))
            if item:
                return [item]
        words = [w for w in ref.split() if w][:8]
        query = select(ContentItem)
        for word in words:
            escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(or_(func.lower(ContentItem.title).like(f"%{escaped}%", escape="\\"),
                                    func.lower(ContentItem.url).like(f"%{escaped}%", escape="\\")))
        return list(session.scalars(query.order_by(ContentItem.title).limit(limit)))

    def options_for(self, typed: str, limit: int = 50) -> list[ItemView]:
        """Items for the tag modal's searchable select: title/URL words, then semantic matches."""
        typed = clean_slack_text(typed)
        with self.db.session() as session:
            if not typed:
                items = session.scalars(select(ContentItem).order_by(ContentItem.title).limit(limit)).all()
                return [_view(i) for i in items]
            found = [_view(i) for i in self.find_items(session, typed, limit=limit)]
            if len(found) < limit and has_words(typed) and len(typed) >= 3:
                result = self.index.search(typed, k=min(10, limit))
                have = {v.id for v in found}
                extra_ids = [int(h.doc_id) for h in result.hits if int(h.doc_id) not in have]
                for item_id in extra_ids:
                    item = session.get(ContentItem, item_id)
                    if item is not None:
                        found.append(_view(item))
            return found[:limit]

    # --- search -------------------------------------------------------------------------
    def validate_filters(self, filters: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
        checked: dict[str, tuple[str, ...]] = {}
        for facet, values in filters.items():
            if facet not in FACETS:
                continue
            good = []
            for value in values:
                normalized = self.vocabulary.check(facet, value)
                if normalized is None:
                    allowed = ", ".join(self.vocabulary.allowed(facet))
                    raise InvalidInput(f"`{facet}:{_esc(normalize_value(value)[:40])}` is not a {facet} I know. "
                                       f"Allowed {facet} values: {allowed}.")
                good.append(normalized)
            checked[facet] = tuple(dict.fromkeys(good))
        return checked

    def search(self, raw: str, *, user_id: str, channel_id: str = "", k: int | None = None,
               record: bool = True) -> SearchOutcome:
        from content_index import parse_query

        cleaned = clean_slack_text(raw)
        parsed = parse_query(cleaned)
        filters = self.validate_filters(parsed.filters)
        text = parsed.text
        if not text or not has_words(text):
            raise InvalidInput(
                "Tell me what the prospect said, in words, e.g. `/content we're 2x the price of Vantage`"
                + (" (after the filters)." if filters else "."))
        k = k or self.services.settings.content_results
        result: SearchResult = self.index.search(text, k=k, filters=filters or None)
        outcome = SearchOutcome(None, text, filters, [], result.confident, float(result.confidence))
        now = self.services.now()
        with self.db.session() as session:
            for hit in result.hits:
                item = session.get(ContentItem, int(hit.doc_id))
                if item is not None:
                    outcome.results.append(ResultItem(_view(item), hit.score, hit.reason, hit.reason_kind))
            if not record:
                return outcome
            if not outcome.confident:
                outcome.gap_id = self._record_gap(session, text, now)
            search = ContentSearch(user_id=user_id, channel_id=channel_id or "", query=text,
                                   filters={k_: list(v) for k_, v in filters.items()},
                                   result_ids=[r.item.id for r in outcome.results],
                                   confident=outcome.confident, confidence=outcome.confidence,
                                   gap_id=outcome.gap_id, created_at=now)
            session.add(search)
            session.flush()
            outcome.search_id = search.id
        return outcome

    def _record_gap(self, session: Session, text: str, now) -> int:
        from content_index import text_hash

        embedder = self.services.embedder
        objection = phrasing_of(text, 500)
        query_vector = embedder.encode([objection])[0]
        gaps = gaps_mod.open_gaps(session)
        phrasings = [gaps_mod.gap_phrasings(session, g) for g in gaps]
        vectors = self._vectors([t for group in phrasings for t in group])
        gap = gaps_mod.nearest_gap(gaps, [np.stack([vectors[t] for t in group]) for group in phrasings],
                                   query_vector)
        self.cache.put_many(embedder.model_id, {text_hash(objection): query_vector})
        return gaps_mod.add_to_gap(session, gap, objection, now).id

    def _vectors(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Embeddings of texts through the database cache."""
        from content_index import text_hash

        embedder = self.services.embedder
        texts = list(dict.fromkeys(texts))
        hashes = {t: text_hash(t) for t in texts}
        cached = self.cache.get_many(embedder.model_id, list(hashes.values()))
        missing = [t for t in texts if hashes[t] not in cached]
        if missing:
            encoded = embedder.encode(missing)
            fresh = {hashes[t]: encoded[i] for i, t in enumerate(missing)}
            self.cache.put_many(embedder.model_id, fresh)
            cached.update(fresh)
        return {t: cached[hashes[t]] for t in texts}

    # --- usage: shares and feedback ----------------------------------------------------
    def _search_row(self, session: Session, search_id: int | None) -> ContentSearch | None:
        return session.get(ContentSearch, search_id) if search_id else None

    def record_share(self, *, user_id: str, channel_id: str, search_id: int | None, item_id: int) -> ItemView:
        with self.db.session() as session:
            item = self.get_item(session, item_id)
            session.add(ContentEvent(kind="share", user_id=user_id, channel_id=channel_id or "",
                                     search_id=search_id, item_id=item_id, created_at=self.services.now()))
            return _view(item)

    def record_feedback(self, *, user_id: str, channel_id: str, search_id: int | None, item_id: int,
                        helpful: bool) -> tuple[ItemView, str | None]:
        """Record a Helpful / Not helpful click; Helpful makes the query a learned phrasing.

        Returns the item and the phrasing learned (None when nothing new was learned).
        """
        learned: str | None = None
        with self.db.session() as session:
            item = self.get_item(session, item_id)
            search = self._search_row(session, search_id)
            session.add(ContentEvent(kind="helpful" if helpful else "not_helpful", user_id=user_id,
                                     channel_id=channel_id or "", search_id=search_id, item_id=item_id,
                                     created_at=self.services.now()))
            if helpful and search is not None and has_words(search.query):
                phrasing = phrasing_of(search.query)
                exists = session.scalar(select(ContentLearned.id).where(
                    ContentLearned.item_id == item_id, ContentLearned.phrasing == phrasing))
                tags = {t.lower() for t in item.objections or ()}
                if exists is None and phrasing.lower() not in tags and phrasing.lower() != item.title.lower():
                    session.add(ContentLearned(item_id=item_id, phrasing=phrasing, added_by=user_id,
                                               search_id=search.id, created_at=self.services.now()))
                    self._changed(session, [item_id])
                    learned = phrasing
            view = _view(item)
        if learned:
            self.refresh([item_id])
        return view, learned

    # --- marketing: tagging, learned phrasings, gaps -----------------------------------
    def require_marketer(self, user_id: str, action: str) -> None:
        with self.db.session() as session:
            require_role(session, user_id, MARKETING_ROLES, action)

    def tag(self, *, user_id: str, objection: str, item_ids: Sequence[int], gap_id: int | None = None) -> list[ItemView]:
        objection = " ".join(clean_slack_text(objection).split())
        if not objection or not has_words(objection):
            raise InvalidInput("Write the objection in words, e.g. “we already use Vantage”.")
        if len(objection) > library.MAX_OBJECTION:
            raise InvalidInput(f"Keep the objection under {library.MAX_OBJECTION} characters: "
                               "the short way a prospect would say it.")
        if not item_ids:
            raise InvalidInput("Pick at least one content item.")
        if len(item_ids) > MAX_TAG_ITEMS:
            raise InvalidInput(f"Pick at most {MAX_TAG_ITEMS} items at a time.")
        now = self.services.now()
        with self.db.session() as session:
            require_role(session, user_id, MARKETING_ROLES, "tag content with objections")
            views = []
            changed = []
            for item_id in dict.fromkeys(int(i) for i in item_ids):
                item = self.get_item(session, item_id)
                tags = list(item.objections or [])
                if objection.lower() not in (t.lower() for t in tags):
                    item.objections = tags + [objection]
                    item.updated_at = now
                    changed.append(item_id)
                views.append(_view(item))
            if gap_id is not None:
                gap = session.get(gaps_mod.ContentGap, gap_id)
                if gap is not None:
                    gap.status, gap.resolved_by, gap.resolved_at = "tagged", user_id, now
            self._changed(session, changed)
        self.refresh(changed)
        return views

    def learned_for(self, user_id: str, ref: str, limit: int = 20) -> tuple[list[ItemView], list[LearnedView]]:
        """Learned phrasings of the items matching `ref` (URL or title words), or the latest ones."""
        with self.db.session() as session:
            require_role(session, user_id, MARKETING_ROLES, "see and remove learned phrasings")
            query = select(ContentLearned, ContentItem).join(ContentItem, ContentLearned.item_id == ContentItem.id)
            items: list[ItemView] = []
            if ref.strip():
                found = self.find_items(session, ref, limit=limit)
                if not found:
                    raise NotFound(f"No content item matches '{_esc(clean_slack_text(ref)[:80])}'. "
                                   "Give its URL or words of its title.")
                items = [_view(i) for i in found]
                query = query.where(ContentItem.id.in_([i.id for i in found]))
            rows = session.execute(query.order_by(ContentLearned.created_at.desc(), ContentLearned.id.desc())
                                   .limit(limit)).all()
            return items, [LearnedView(lrn.id, lrn.phrasing, it.id, it.title, lrn.added_by) for lrn, it in rows]

    def remove_learned(self, user_id: str, learned_id: int) -> LearnedView:
        with self.db.session() as session:
            require_role(session, user_id, MARKETING_ROLES, "remove learned phrasings")
            row = session.get(ContentLearned, learned_id)
            if row is None:
                raise NotFound("That learned phrasing was already removed.")
            view = LearnedView(row.id, row.phrasing, row.item_id, row.item.title, row.added_by)
            session.execute(delete(ContentLearned).where(ContentLearned.id == learned_id))
            self._changed(session, [view.item_id])
        self.refresh([view.item_id])
        return view

    def gaps(self, user_id: str, limit: int = 15) -> list[gaps_mod.GapSummary]:
        with self.db.session() as session:
            require_role(session, user_id, MARKETING_ROLES, "see content gaps")
            return gaps_mod.top_gaps(session, limit)

    def gap_objection(self, gap_id: int) -> str:
        with self.db.session() as session:
            return gaps_mod.get_gap(session, gap_id).objection

    def dismiss_gap(self, user_id: str, gap_id: int) -> str:
        with self.db.session() as session:
            require_role(session, user_id, MARKETING_ROLES, "dismiss content gaps")
            gap = gaps_mod.resolve_gap(session, gap_id, "dismissed", user_id, self.services.now())
            return gap.objection
