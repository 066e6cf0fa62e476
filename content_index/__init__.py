"""Pure search engine for `/content <objection>` (no Slack, no SQL)."""

from .documents import ContentDoc
from .embedding import BUNDLED_MODEL, Embedder, EmbeddingCache, InMemoryEmbeddingCache, text_hash
from .index import DEFAULT_TUNING, ContentIndex, Hit, SearchResult, UpsertStats
from .query import ParsedQuery, parse_query

__all__ = [
    "BUNDLED_MODEL",
    "ContentDoc",
    "ContentIndex",
    "DEFAULT_TUNING",
    "Embedder",
    "EmbeddingCache",
    "Hit",
    "InMemoryEmbeddingCache",
    "ParsedQuery",
    "SearchResult",
    "UpsertStats",
    "parse_query",
    "text_hash",
]
