"""Lexical half of the hybrid search: tokenizer + BM25 via ``bm25s``.

* Scoring: ``bm25s.BM25(method="lucene")`` (Lucene idf ``ln(1 + (N - df + 0.5) / (df + 0.5))``,
  always > 0; term-frequency part ``tf / (tf + k1 (1 - b + b dl / avgdl))``), k1 = 1.2, b = 0.75.
  One static bm25s index per (immutable) snapshot, built from pre-tokenised term ids.
* Stopwords: bm25s's English list (``STOPWORDS_EN_PLUS``) plus a few chatty words.
  Stemming: PyStemmer's English (Snowball/Porter2) stemmer.
* Kept here because no library does them: ``soc2 -> soc 2`` splitting, single
  letters dropped, and the query-coverage normalisation (:meth:`BM25Snapshot.scores`).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

__all__ = ["tokenize", "Vocabulary", "BM25Snapshot", "build_bm25"]

# nltk's English list (as shipped by bm25s) plus words that carry no topic in
# sales questions. Negation ("no", "not") is the embedding model's job.
STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | frozenset("also could etc get got us via would".split())

_TOKEN = re.compile(r"[a-z0-9]+")
_ALNUM_SPLIT = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")
_LOCAL = threading.local()  # PyStemmer objects must not be shared between threads
# bm25s sets its logger to DEBUG ("Building index from IDs" on every snapshot).
logging.getLogger("bm25s").setLevel(logging.WARNING)

METHOD = "lucene"  # bm25s scoring variant (tf part and idf)


def tokenize(text: str) -> list[str]:
    """Lowercase, split letters from digits ("soc2" -> "soc", "2"), drop
    stopwords and single letters, stem (Snowball English)."""
    text = unicodedata.normalize("NFKD", text or "").lower()
    out: list[str] = []
    for tok in _TOKEN.findall(text):
        # "soc2" -> "soc", "2"; "2x" -> "2", "x"
        parts = _ALNUM_SPLIT.split(tok) if any(c.isdigit() for c in tok) else [tok]
        for p in parts:
            if p in STOPWORDS or (len(p) == 1 and not p.isdigit()):
                continue
            out.append(p)
    if not out:
        return out
    stemmer = getattr(_LOCAL, "stemmer", None)
    if stemmer is None:
        stemmer = _LOCAL.stemmer = Stemmer.Stemmer("english")
    return stemmer.stemWords(out)


class Vocabulary:
    """Term -> id. Grows monotonically; shared by successive snapshots (append-only)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def encode(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(distinct term ids, their counts) of one document."""
        counts = Counter(tokens)
        ids = np.empty(len(counts), dtype=np.int32)
        tfs = np.empty(len(counts), dtype=np.float32)
        for i, (t, c) in enumerate(counts.items()):
            tid = self.ids.get(t)
            if tid is None:
                tid = self.ids[t] = len(self.ids)
            ids[i] = tid
            tfs[i] = c
        return ids, tfs

    def lookup(self, tokens: list[str]) -> list[int]:
        """Ids for known tokens; -1 for unknown ones."""
        return [self.ids.get(t, -1) for t in tokens]


def lucene_idf(df: np.ndarray, n: int) -> np.ndarray:
    """bm25s's ``lucene`` idf (``bm25s.scoring._score_idf_lucene``), vectorised;
    a unit test checks it against bm25s's own scores."""
    return np.log1p((n - df + 0.5) / (df + 0.5))


@dataclass
class BM25Snapshot:
    n_docs: int
    model: bm25s.BM25 | None  # None when nothing is indexed
    idf: np.ndarray  # per term id (len = vocab size at build time); 0 for absent terms
    max_idf: float  # idf of a term no document contains
    avgdl: float = 1.0  # mean document length in terms (for scoring documents outside the index)
    k1: float = 1.2
    b: float = 0.75

    @property
    def indptr(self) -> np.ndarray:
        """CSC column pointers of bm25s's score matrix (per term id)."""
        if self.model is None:
            return np.zeros(len(self.idf) + 1, dtype=np.int64)
        return self.model.scores["indptr"]

    @property
    def nbytes(self) -> int:
        if self.model is None:
            return self.idf.nbytes
        s = self.model.scores
        return s["data"].nbytes + s["indices"].nbytes + s["indptr"].nbytes + self.idf.nbytes

    def scores(self, term_ids: list[int]) -> tuple[np.ndarray, float]:
        """Raw BM25 (bm25s, Lucene) per doc and the query's upper bound.

        The bound is ``sum_t idf_t`` (Lucene's tf part is below 1), the same
        ratio as ``sum_t idf_t (k1 + 1)`` for the ``(k1 + 1)``-scaled form.
        Unknown terms (id -1 or absent) count in the bound with the idf of an
        unseen term, so the normalised score measures how much of the query
        the document covers.
        """
        known: list[int] = []
        bound = 0.0
        n_terms = len(self.idf)
        for tid in term_ids:
            if 0 <= tid < n_terms and self.idf[tid] > 0:
                known.append(tid)
                bound += float(self.idf[tid])
            else:
                bound += self.max_idf
        if not known or self.model is None:
            return np.zeros(self.n_docs, dtype=np.float32), bound
        return self.model.get_scores_from_ids(known), bound

    def score_terms(self, term_ids: list[int], doc_ids: np.ndarray, doc_tfs: np.ndarray) -> float:
        """Raw BM25 of one document given as (term ids, counts) — not necessarily indexed — with
        this index's idf and average length; a term no indexed document has counts with the idf
        of an unseen term. Equals :meth:`scores` for an indexed document (unit test)."""
        if not len(doc_ids):
            return 0.0
        tf_of = dict(zip(doc_ids.tolist(), doc_tfs.tolist(), strict=True))
        norm = self.k1 * (1 - self.b + self.b * float(doc_tfs.sum()) / max(self.avgdl, 1e-9))
        total = 0.0
        n_terms = len(self.idf)
        for tid in term_ids:
            tf = tf_of.get(tid, 0.0)
            if tf:
                idf = float(self.idf[tid]) if 0 <= tid < n_terms and self.idf[tid] > 0 else self.max_idf
                total += idf * tf / (tf + norm)
        return total


def build_bm25(
    doc_terms: list[tuple[np.ndarray, np.ndarray]], vocab_size: int, k1: float = 1.2, b: float = 0.75
) -> BM25Snapshot:
    """A static bm25s index over documents given as (term ids, counts) from
    :class:`Vocabulary` (ids < ``vocab_size``)."""
    n = len(doc_terms)
    max_idf = float(lucene_idf(np.zeros(1), n)[0]) if n else float(np.log(2.0))
    df = (
        np.bincount(np.concatenate([t for t, _ in doc_terms]), minlength=vocab_size)
        if n
        else np.zeros(vocab_size, np.int64)
    )
    if n == 0 or not df.any():
        return BM25Snapshot(n, None, np.zeros(vocab_size, np.float32), max_idf)
    # bm25s counts term frequencies itself: give it each document's ids repeated tf times
    tfs = np.concatenate([f for _, f in doc_terms]).astype(np.int64)
    flat = np.repeat(np.concatenate([t for t, _ in doc_terms]), tfs).tolist()
    ends = np.cumsum(np.fromiter((f.sum() for _, f in doc_terms), dtype=np.int64, count=n)).tolist()
    corpus = [flat[a:e] for a, e in zip([0, *ends[:-1]], ends, strict=True)]
    # bm25s only needs the id range from the vocabulary (ids 0..vocab_size-1).
    vocab = {i: i for i in range(vocab_size)}
    model = bm25s.BM25(k1=k1, b=b, method=METHOD)
    model.index((corpus, vocab), create_empty_token=False, show_progress=False)
    idf = np.where(df > 0, lucene_idf(df.astype(np.float64), n), 0.0).astype(np.float32)
    return BM25Snapshot(n, model, idf, max_idf, float(tfs.sum()) / n, k1, b)
