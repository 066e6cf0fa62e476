"""ContentService: one entry point to the content feature, composed of one part per job.

* bot/content/embeddings.py   the embedding cache in the database
* bot/content/index_keeper.py the in-memory index: built at start-up, updated off the request
                              path, following other processes through the change log
* bot/content/catalog.py      the library: import, export, find, remove
* bot/content/search.py       /content searches, More results, content gaps
* bot/content/feedback.py     shares, Helpful / Not helpful, tags, learned phrasings, gap triage

Listeners and CLI commands call `services.content.<verb>`; each verb is one line here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from bot.content.catalog import Catalog, ImportOutcome, find_items
from bot.content.embeddings import DbEmbeddingCache
from bot.content.feedback import (
    MARKETING_ROLES,
    MAX_TAG_ITEMS,
    Feedback,
    LearnedView,
    get_item,
)
from bot.content.index_keeper import IndexKeeper
from bot.content.search import (
    ItemView,
    ResultItem,
    Searcher,
    SearchOutcome,
    validate_filters,
)
from bot.content.vocabulary import Vocabulary, load_vocabulary

if TYPE_CHECKING:
    from bot.services import Services
    from content_index import ContentIndex

__all__ = [
    "MARKETING_ROLES",
    "MAX_TAG_ITEMS",
    "ContentService",
    "ImportOutcome",
    "ItemView",
    "LearnedView",
    "ResultItem",
    "SearchOutcome",
]


class ContentService:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.db = services.db
        self.vocabulary: Vocabulary = load_vocabulary()
        self.cache = DbEmbeddingCache(self.db)
        self.keeper = IndexKeeper(self.db, lambda: services.embedder, self.cache)
        self.catalog = Catalog(self.db, self.keeper, self.vocabulary, services.now)
        self.searcher = Searcher(
            self.db,
            lambda: self.keeper.index,
            lambda: services.embedder,
            self.cache,
            self.vocabulary,
            services.now,
            services.settings.content_results,
        )
        self.feedback = Feedback(self.db, services.now, self.keeper.refresh_soon, find_items)

    # --- the index -------------------------------------------------------------------------
    def start(self, *, watch: bool = True) -> None:
        """Load the model and build the index from the database; then follow changes."""
        self.keeper.ensure_loaded()
        if watch:
            self.keeper.start_watching()

    @property
    def index(self) -> ContentIndex:
        return self.keeper.index

    @property
    def last_load_stats(self):
        return self.keeper.last_load_stats

    @property
    def poll_seconds(self) -> float:
        return self.keeper.poll_seconds

    @poll_seconds.setter
    def poll_seconds(self, seconds: float) -> None:
        self.keeper.poll_seconds = seconds

    def ensure_loaded(self, progress: Callable[[int, int], None] | None = None) -> ContentIndex:
        return self.keeper.ensure_loaded(progress)

    def sync(self) -> int:
        return self.keeper.sync()

    def refresh(self, item_ids: Iterable[int], progress: Callable[[int, int], None] | None = None):
        return self.keeper.refresh(item_ids, progress)

    def wait_for_index(self, timeout: float = 30.0) -> bool:
        """Until this process's own changes (clicks, tags) are in the index."""
        return self.keeper.wait_idle(timeout)

    def close(self) -> None:
        self.keeper.close()

    # --- the library -----------------------------------------------------------------------
    def import_parsed(self, parsed, *, skip_invalid: bool = False, progress=None) -> ImportOutcome:
        return self.catalog.import_parsed(parsed, skip_invalid=skip_invalid, progress=progress)

    def import_file(self, path, fmt: str | None = None, *, skip_invalid: bool = False, progress=None) -> ImportOutcome:
        return self.catalog.import_file(path, fmt, skip_invalid=skip_invalid, progress=progress)

    def export(self, fmt: str) -> str:
        return self.catalog.export(fmt)

    def delete_item(self, url_or_id: str) -> ItemView:
        return self.catalog.delete_item(url_or_id)

    def item_count(self) -> int:
        return self.catalog.item_count()

    def get_item(self, session, item_id: int):
        return get_item(session, item_id)

    def find_items(self, session, ref: str, limit: int = 20):
        return find_items(session, ref, limit)

    def options_for(self, typed: str, limit: int = 50) -> list[ItemView]:
        return self.catalog.options_for(typed, limit)

    # --- search ------------------------------------------------------------------------------
    def validate_filters(self, filters):
        return validate_filters(self.vocabulary, filters)

    def search(
        self, raw: str, *, user_id: str, channel_id: str = "", k: int | None = None, record: bool = True
    ) -> SearchOutcome:
        return self.searcher.search(raw, user_id=user_id, channel_id=channel_id, k=k, record=record)

    def more_results(self, *, user_id: str, search_id: int) -> SearchOutcome:
        return self.searcher.more(user_id=user_id, search_id=search_id)

    # --- feedback and marketing ----------------------------------------------------------------
    def record_share(self, *, user_id: str, channel_id: str, search_id: int | None, item_id: int) -> ItemView:
        return self.feedback.record_share(user_id=user_id, channel_id=channel_id, search_id=search_id, item_id=item_id)

    def record_feedback(
        self, *, user_id: str, channel_id: str, search_id: int | None, item_id: int, helpful: bool
    ) -> tuple[ItemView, str | None]:
        return self.feedback.record_feedback(
            user_id=user_id, channel_id=channel_id, search_id=search_id, item_id=item_id, helpful=helpful
        )

    def require_marketer(self, user_id: str, action: str) -> None:
        self.feedback.require_marketer(user_id, action)

    def tag(self, *, user_id: str, objection: str, item_ids, gap_id: int | None = None) -> list[ItemView]:
        return self.feedback.tag(user_id=user_id, objection=objection, item_ids=item_ids, gap_id=gap_id)

    def learned_for(self, user_id: str, ref: str, limit: int = 20):
        return self.feedback.learned_for(user_id, ref, limit)

    def remove_learned(self, user_id: str, learned_id: int) -> LearnedView:
        return self.feedback.remove_learned(user_id, learned_id)

    def gaps(self, user_id: str, limit: int = 15):
        return self.feedback.gaps(user_id, limit)

    def gap_objection(self, gap_id: int) -> str:
        return self.feedback.gap_objection(gap_id)

    def dismiss_gap(self, user_id: str, gap_id: int) -> str:
        return self.feedback.dismiss_gap(user_id, gap_id)
