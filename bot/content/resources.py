"""The content feature's process-wide resources, held by `services.content`.

* the vocabulary of facets (types, stages, personas), loaded once
* the embedding cache in the database (bot/content/embeddings.py)
* the in-memory index and its keeper (bot/content/index_keeper.py): built at start-up, updated
  off the request path, following other processes through the change log

Like the embedding model, these live as long as the process and are not domain logic. The
domain is plain functions that take the caller's Session and the resources they use:

* bot/content/catalog.py   the library: find, count, offer, remove, index an import
* bot/content/search.py    /content searches, More results, content gaps
* bot/content/feedback.py  shares, Helpful / Not helpful, tags, learned phrasings, gap triage
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.content.embeddings import DbEmbeddingCache
from bot.content.index_keeper import IndexKeeper
from bot.content.vocabulary import Vocabulary, load_vocabulary

if TYPE_CHECKING:
    from bot.services import Services
    from content_index import ContentIndex


class ContentResources:
    def __init__(self, services: Services) -> None:
        self.vocabulary: Vocabulary = load_vocabulary()
        self.cache = DbEmbeddingCache(services.db)
        self.keeper = IndexKeeper(services.db, lambda: services.embedder, self.cache)

    def start(self, *, watch: bool = True) -> None:
        """Load the model and build the index from the database; then follow changes."""
        self.keeper.ensure_loaded()
        if watch:
            self.keeper.start_watching()

    @property
    def index(self) -> ContentIndex:
        """The index (built on first use)."""
        return self.keeper.index

    def wait_for_index(self, timeout: float = 30.0) -> bool:
        """Until this process's own changes (clicks, tags) are in the index."""
        return self.keeper.wait_idle(timeout)

    def close(self) -> None:
        self.keeper.close()
