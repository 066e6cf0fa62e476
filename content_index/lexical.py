"""A small incremental BM25 (numpy, CSC postings) with query-coverage normalisation.

Per-document term ids are kept so a new snapshot can be assembled with a few
vectorised numpy operations (no Python loop over postings).
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np

__all__ = ["tokenize", "Vocabulary", "BM25Snapshot", "build_bm25"]

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours yourself yourselves s t don doesn didn isn aren wasn
weren won wouldn shouldn couldn ll re ve d m o y also get got us via w etc
""".split())
# "too", "no", "not" carry little topical signal for BM25; negation is the
# embedding model's job.

_TOKEN = re.compile(r"[a-z0-9]+")
_ALNUM_SPLIT = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")


def _stem(w: str) -> str:
    """Very light English suffix stripping (plural / -ing / -ed / -ly)."""
    if len(w) <= 3 or w.isdigit():
        return w
    for suf, rep, min_len in (("ies", "y", 5), ("sses", "ss", 5), ("ing", "", 6), ("ed", "", 5),
                              ("ly", "", 6), ("es", "e", 5), ("s", "", 4)):
        if w.endswith(suf) and len(w) >= min_len:
            if suf == "s" and (w.endswith("ss") or w.endswith("us") or w.endswith("is")):
                return w
            return w[: len(w) - len(suf)] + rep
    return w


def tokenize(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text or "").lower()
    out: list[str] = []
    for tok in _TOKEN.findall(text):
        # "soc2" -> "soc", "2"; "2x" -> "2", "x"
        parts = _ALNUM_SPLIT.split(tok) if any(c.isdigit() for c in tok) else [tok]
        for p in parts:
            if p in STOPWORDS or (len(p) == 1 and not p.isdigit()):
                continue
            out.append(_stem(p))
    return out


class Vocabulary:
    """Grows monotonically; shared by successive snapshots (append-only)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def encode(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
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


@dataclass
class BM25Snapshot:
    n_docs: int
    indptr: np.ndarray  # CSC: per term -> slice into doc_idx / weights
    doc_idx: np.ndarray
    weights: np.ndarray  # precomputed idf * tf*(k1+1)/(tf + k1*(1-b+b*dl/avgdl))
    idf: np.ndarray  # per term id (len = vocab size at build time)
    k1: float
    max_idf: float

    def scores(self, term_ids: list[int]) -> tuple[np.ndarray, float]:
        """Raw BM25 per doc and the query's upper bound (sum idf*(k1+1)).

        Unknown terms count in the bound with the idf of an unseen term, so the
        normalised score measures how much of the query the document covers.
        """
        out = np.zeros(self.n_docs, dtype=np.float32)
        bound = 0.0
        for tid in term_ids:
            if 0 <= tid < len(self.idf) and self.indptr[tid + 1] > self.indptr[tid]:
                s, e = self.indptr[tid], self.indptr[tid + 1]
                out[self.doc_idx[s:e]] += self.weights[s:e]
                bound += float(self.idf[tid]) * (self.k1 + 1.0)
            else:
                bound += self.max_idf * (self.k1 + 1.0)
        return out, bound


def build_bm25(doc_terms: list[tuple[np.ndarray, np.ndarray]], vocab_size: int,
               k1: float = 1.2, b: float = 0.75) -> BM25Snapshot:
    n = len(doc_terms)
    if n == 0:
        return BM25Snapshot(0, np.zeros(vocab_size + 1, np.int64), np.zeros(0, np.int32),
                            np.zeros(0, np.float32), np.zeros(vocab_size, np.float32), k1,
                            float(np.log(2.0)))
    lens = np.fromiter((len(t) for t, _ in doc_terms), dtype=np.int64, count=n)
    rows = np.repeat(np.arange(n, dtype=np.int32), lens)
    cols = np.concatenate([t for t, _ in doc_terms]) if lens.sum() else np.zeros(0, np.int32)
    tfs = np.concatenate([f for _, f in doc_terms]) if lens.sum() else np.zeros(0, np.float32)
    dl = np.bincount(rows, weights=tfs, minlength=n).astype(np.float32)
    avgdl = float(dl.mean()) or 1.0
    df = np.bincount(cols, minlength=vocab_size).astype(np.float64)
    idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)  # BM25+ style, always > 0
    norm = tfs + k1 * (1.0 - b + b * dl[rows] / avgdl)
    weights = (idf[cols] * tfs * (k1 + 1.0) / norm).astype(np.float32)
    order = np.argsort(cols, kind="stable")
    cols_sorted = cols[order]
    indptr = np.zeros(vocab_size + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols_sorted, minlength=vocab_size), out=indptr[1:])
    max_idf = float(np.log1p((n + 0.5) / 0.5))
    return BM25Snapshot(n, indptr, rows[order], weights[order], idf, k1, max_idf)
