"""The embedding cache in the database: (model id, sha256 of the text) -> vector.

Restarts and re-imports only embed texts that changed; a different model re-embeds everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.db import Database
from bot.models.base import utcnow
from bot.models.content import ContentEmbedding

if TYPE_CHECKING:
    from content_index import EmbeddingCache


class DbEmbeddingCache:
    """content_index's EmbeddingCache protocol over the `content_embeddings` table.

    A process-wide resource (held by `services.content`), like the model: it opens its own short
    transactions, so a vector stored for one request is kept even if that request fails."""

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
                        ContentEmbedding.text_hash.in_(hashes[i : i + self.CHUNK]),
                    )
                )
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
            chunk = dict(items[i : i + self.CHUNK])
            try:
                self._insert(model_id, chunk)
            except IntegrityError:
                # Another process stored some of these meanwhile: insert only what is still missing.
                self._insert(model_id, chunk)

    def _insert(self, model_id: str, chunk: Mapping[str, np.ndarray]) -> None:
        with self.db.session() as session:
            present = set(
                session.scalars(
                    select(ContentEmbedding.text_hash).where(
                        ContentEmbedding.model_id == model_id, ContentEmbedding.text_hash.in_(list(chunk))
                    )
                )
            )
            for text_hash, vector in chunk.items():
                if text_hash not in present:
                    vector = np.ascontiguousarray(vector, dtype=np.float32)
                    session.add(
                        ContentEmbedding(
                            model_id=model_id,
                            text_hash=text_hash,
                            dim=int(vector.size),
                            vector=vector.tobytes(),
                            created_at=utcnow(),
                        )
                    )

    def count(self, model_id: str | None = None) -> int:
        with self.db.session() as session:
            query = select(func.count()).select_from(ContentEmbedding)
            if model_id:
                query = query.where(ContentEmbedding.model_id == model_id)
            return int(session.scalar(query) or 0)


def embed_cached(embedder, cache: EmbeddingCache, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Embeddings of texts through the database cache (only missing ones reach the model)."""
    from content_index import text_hash

    texts = list(dict.fromkeys(texts))
    hashes = {t: text_hash(t) for t in texts}
    cached = cache.get_many(embedder.model_id, list(hashes.values())) if texts else {}
    missing = [t for t in texts if hashes[t] not in cached]
    if missing:
        encoded = embedder.encode(missing)
        fresh = {hashes[t]: encoded[i] for i, t in enumerate(missing)}
        cache.put_many(embedder.model_id, fresh)
        cached.update(fresh)
    return {t: cached[hashes[t]] for t in texts}
