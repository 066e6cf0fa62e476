"""The in-memory search index of this process, and keeping it in sync with the database.

* Built from the database at start-up, through the database embedding cache (bot/content/embeddings.py).
* Every write appends the changed item ids to `content_changes`. A daemon thread applies them:
  right away for this process's own writes (`refresh_soon`: a Helpful click or a tag is
  acknowledged first and reaches the index a moment later, off the request path), and by
  polling the log every POLL_SECONDS for other processes' writes, so several bot processes on
  one database agree within a few seconds.
* An update re-embeds only the changed items' new texts; the index swaps in a new immutable
  snapshot, so searches never wait for it.

The keeper is a process-wide resource (held by `services.content`), not domain logic: domain
functions take it to log their changes (`note_changes`), and it applies them once the caller's
transaction commits, never before (the index would re-read the old rows) and never for a rollback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, selectinload

from bot.content import library
from bot.content.embeddings import DbEmbeddingCache
from bot.db import Database
from bot.models.content import ContentChange, ContentEvent, ContentItem, ContentSearch

if TYPE_CHECKING:
    from content_index import ContentDoc, ContentIndex, UpsertStats

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
# A change-log id that is skipped (its transaction not yet committed when we polled) is looked
# for again for this long; PostgreSQL sequences can commit out of order.
GAP_RETRY_SECONDS = 60.0
# Not-helpful phrasings kept per item (the latest ones): enough to demote, bounded in memory.
MAX_REJECTED = 20
# session.info key: the item ids a transaction changed, applied to the index after it commits.
_CHANGED = "revalign.content_changed"


@dataclass
class _PollState:
    last_id: int = 0
    missing: dict[int, float] = field(default_factory=dict)  # change id -> monotonic time first missed


class EmbeddingProgress:
    """A progress bar on stderr for (done, total) texts embedded; silent when nothing is embedded."""

    def __init__(self, description: str) -> None:
        self.description = description
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        if self._bar is None:
            from tqdm import tqdm  # type: ignore[import-untyped]  # sentence-transformers' own dependency

            self._bar = tqdm(total=total, desc=self.description, unit="text", mininterval=1.0)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def load_items(session: Session, ids: set[int] | None) -> list[ContentItem]:
    query = select(ContentItem).options(selectinload(ContentItem.learned)).order_by(ContentItem.id)
    if ids is None:
        return list(session.scalars(query))
    items: list[ContentItem] = []
    id_list = sorted(ids)
    for i in range(0, len(id_list), 500):
        items.extend(session.scalars(query.where(ContentItem.id.in_(id_list[i : i + 500]))))
    return items


def rejected_phrasings(session: Session, ids: set[int] | None) -> dict[int, list[str]]:
    """Queries reps marked Not helpful, per item (latest first)."""
    query = (
        select(ContentEvent.item_id, ContentSearch.query)
        .join(ContentSearch, ContentSearch.id == ContentEvent.search_id)
        .where(ContentEvent.kind == "not_helpful")
        .order_by(ContentEvent.id.desc())
    )
    out: dict[int, list[str]] = {}
    chunks = [None] if ids is None else [sorted(ids)[i : i + 500] for i in range(0, len(ids), 500)]
    for chunk in chunks:
        q = query if chunk is None else query.where(ContentEvent.item_id.in_(chunk))
        for item_id, text in session.execute(q):
            bucket = out.setdefault(item_id, [])
            if text not in bucket and len(bucket) < MAX_REJECTED:
                bucket.append(text)
    return out


def to_doc(item: ContentItem, rejected: Iterable[str] = ()) -> ContentDoc:
    from content_index import ContentDoc

    return ContentDoc(
        id=str(item.id),
        title=item.title,
        summary=item.summary or "",
        type=item.type,
        stage=item.stage,
        persona=item.persona,
        objections=tuple(item.objections or ()),
        learned=tuple(entry.phrasing for entry in item.learned),
        rejected=tuple(rejected),
    )


class IndexKeeper:
    def __init__(self, db: Database, embedder_of: Callable[[], object], cache: DbEmbeddingCache) -> None:
        self.db = db
        self._embedder_of = embedder_of
        self.cache = cache
        self._index: ContentIndex | None = None
        self._load_lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._poll = _PollState()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._pending: set[int] = set()
        self._pending_lock = threading.Lock()
        self._idle = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self.poll_seconds = POLL_SECONDS
        self.watching = False
        self.last_load_stats: UpsertStats | None = None

    # --- loading -----------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._index is not None

    @property
    def index(self) -> ContentIndex:
        return self._index if self._index is not None else self.ensure_loaded()

    def ensure_loaded(self, progress: Callable[[int, int], None] | None = None) -> ContentIndex:
        with self._load_lock:
            if self._index is not None:
                return self._index
            from content_index import ContentIndex

            index = ContentIndex(self._embedder_of(), cache=self.cache)
            with self.db.session() as session:
                # Read the log position first: anything changed after it is replayed by the poller.
                self._poll.last_id = int(session.scalar(select(func.max(ContentChange.id))) or 0)
                rejected = rejected_phrasings(session, None)
                docs = [to_doc(item, rejected.get(item.id, ())) for item in load_items(session, None)]
            started = time.perf_counter()
            bar = None
            if progress is None:  # a new model (REVALIGN_EMBEDDING_MODEL) re-embeds everything: show it
                bar = EmbeddingProgress(f"embedding the content library with {index.embedder.model_id}")
                progress = bar
            try:
                stats = index.upsert(docs, progress=progress)
            finally:
                if bar is not None:
                    bar.close()
            log.info(
                "content index: %d items (%d texts embedded, %d reused) in %.1fs",
                len(docs),
                stats.embedded,
                stats.reused,
                time.perf_counter() - started,
            )
            self.last_load_stats = stats
            self._index = index
            return index

    # --- applying changes ----------------------------------------------------------------
    def refresh(
        self, item_ids: Iterable[int], progress: Callable[[int, int], None] | None = None
    ) -> UpsertStats | None:
        """Re-read items from the database into this process's index now (removing deleted ones)."""
        item_ids = {int(i) for i in item_ids}
        if not item_ids or self._index is None:
            return None
        with self.db.session() as session:
            rejected = rejected_phrasings(session, item_ids)
            docs = [to_doc(item, rejected.get(item.id, ())) for item in load_items(session, item_ids)]
        found = {int(doc.id) for doc in docs}
        stats = self._index.upsert(docs, progress=progress) if docs else None
        gone = item_ids - found
        if gone:
            self._index.remove(str(i) for i in gone)
        return stats

    def note_changes(self, session: Session, item_ids: Iterable[int]) -> list[int]:
        """Log these items as changed (other processes follow the log) and apply them to this
        process's index in the background once `session`'s transaction commits."""
        ids = sorted({int(i) for i in item_ids})
        library.log_change(session, ids)
        if ids:
            pending = session.info.get(_CHANGED)
            if pending is None:
                pending = session.info[_CHANGED] = set()
                event.listen(session, "after_commit", self._committed)
                event.listen(session, "after_soft_rollback", _rolled_back)
            pending.update(ids)
        return ids

    def _committed(self, session: Session) -> None:
        if session.in_nested_transaction():  # a savepoint released: the outer transaction may still roll back
            return
        pending: set[int] = session.info.get(_CHANGED, set())
        ids = set(pending)
        pending.clear()
        self.refresh_soon(ids)

    def refresh_soon(self, item_ids: Iterable[int]) -> None:
        """Apply these items' changes in the background: the caller (a Slack listener) returns now."""
        ids = {int(i) for i in item_ids}
        if not ids or self._index is None:
            return
        with self._pending_lock:
            self._pending |= ids
        self._ensure_thread()
        self._wake.set()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every refresh_soon so far is in the index (CLI, tests); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy or self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
        return True

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
                rows = session.execute(
                    select(ContentChange.id, ContentChange.item_id)
                    .where(ContentChange.id > floor)
                    .order_by(ContentChange.id)
                ).all()
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

    # --- the background thread -------------------------------------------------------------
    def start_watching(self) -> None:
        """Also follow other processes' changes (poll the change log)."""
        self.watching = True
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="content-index", daemon=True)
                self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds * (1 + min(failures, 10)))
            self._wake.clear()
            if self._stop.is_set():
                break
            with self._idle:
                self._busy = True
            pending: set[int] = set()
            try:
                with self._pending_lock:
                    pending, self._pending = self._pending, set()
                if pending:
                    self.refresh(pending)
                if self.watching:
                    self.sync()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - keep going; the database may be back soon
                failures += 1
                with self._pending_lock:  # nothing is lost: try these again next round
                    self._pending |= pending
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("content index update failed (%s); retrying", exc.__class__.__name__)
            finally:
                with self._idle:
                    self._busy = False
                    self._idle.notify_all()


def _rolled_back(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction: nothing it changed is kept
        session.info.get(_CHANGED, set()).clear()
