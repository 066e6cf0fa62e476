"""Hybrid multi-vector + BM25 content index with calibrated abstention.

Representation (per item)
  * ``doc``      one vector of ``title. summary`` (the pooled vector: first stage)
  * ``title``    the title
  * ``sentence`` each summary sentence
  * ``tag``      each objection tag
  * ``learned``  each learned phrasing (queries reps marked Helpful)
  * BM25 (bm25s, Lucene variant) over title (twice) + summary + tags + learned phrasings

Scoring (per query ``q``, all cosine similarities of L2-normalised vectors)
  best   = max-sim over all views (doc, title, sentences, tags, learned)
  dense  = alpha * best + (1 - alpha) * doc_sim          (alpha = 1: pure max-sim)
  lex    = BM25(q, d) / sum_t idf_t                (share of the query covered, 0..1;
           BM25 = bm25s "lucene": sum_t idf_t tf / (tf + k1 (1 - b + b dl/avgdl)), whose
           per-term maximum is idf_t, i.e. the same ratio as / sum_t idf_t (k1 + 1) for the
           (k1 + 1)-scaled form; unknown query terms count at the largest idf)
  score  = (1 - w_lex) * dense + w_lex * lex
  agreement  = ((best + doc_sim) / 2 + lex) / 2 of the top hit: the best view, the whole
               item and the words must all agree (a single short fragment such as a
               one-word tag can match spuriously; that is fine for ranking, not for
               confidence)
  confidence = sigmoid((agreement - threshold) / temperature); confident iff >= 0.5

Retrieval: when the (filtered) library is larger than ``candidates``, a first
stage takes the top ``candidates`` by doc vector, the top ``candidates`` by BM25
and every item with a learned phrasing at cosine >= ``learned_min_sim``; only those are re-scored
with all their fragment vectors.

Concurrency: every upsert/remove builds a new immutable snapshot and swaps a
single reference, so searches never block on writers and never see a
half-built index. Writers are serialised with a lock.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from .documents import ContentDoc, normalize_ws, split_sentences
from .embedding import EmbeddingCache, InMemoryEmbeddingCache, text_hash
from .lexical import BM25Snapshot, Vocabulary, build_bm25, tokenize

__all__ = ["Hit", "SearchResult", "UpsertStats", "ContentIndex", "DEFAULT_TUNING"]

KINDS = ("title", "sentence", "tag", "learned")
_KIND_CODE = {k: i for i, k in enumerate(KINDS)}

# Chosen on half of the dev set and checked on the other half (see
# benchmarks/README.md). Few, smooth parameters on purpose.
DEFAULT_TUNING: dict = {
    "method": "hybrid",       # "hybrid" | "bm25" | "dense" | "rrf"
    "alpha": 1.0,             # dense = alpha * best view + (1 - alpha) * whole-doc vector
    "w_lex": 0.3,             # weight of the normalised BM25 coverage
    "threshold": 0.20,        # agreement at which confidence = 0.5
    "temperature": 0.03,      # width of the confidence sigmoid
    "candidates": 300,        # first-stage size per retriever at scale
    "learned_min_sim": 0.5,   # learned phrasings this close to the query always reach the rerank
    "rrf_k": 60,              # only for method="rrf"
    "max_query_chars": 1000,  # long pastes are truncated
    "max_query_terms": 64,
    "filter_keys": ("type", "stage", "persona"),
    "frag_dtype": "float16",  # fragment vectors (re-scored per candidate); the doc vectors stay float32
    "blas_threads": 1,        # numpy BLAS threads during search (None: leave as is)
    "fuzzy": True,            # typo-tolerant lexical matching of unknown query terms
    "fuzzy_cutoff": 85.0,     # rapidfuzz ratio (0..100)
}


@dataclass(frozen=True)
class Hit:
    doc_id: str
    score: float  # fused ranking score
    reason: str  # the matched tag, sentence, title or learned phrasing (the text itself)
    reason_kind: str  # "tag" | "sentence" | "title" | "learned" | "keywords"


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    confident: bool  # False => "no good match"
    confidence: float  # calibrated 0..1
    agreement: float = 0.0  # raw evidence behind `confidence` (see ContentIndex.search)


@dataclass(frozen=True)
class UpsertStats:
    embedded: int  # texts embedded by the model
    reused: int  # texts taken from the cache / unchanged docs
    docs: int  # docs in the upsert call


@dataclass
class _Record:
    doc: ContentDoc
    frag_texts: list[str]
    frag_kinds: np.ndarray  # int8
    frag_vecs: np.ndarray  # (n, dim) float32
    doc_vec: np.ndarray  # (dim,)
    term_ids: np.ndarray
    term_tfs: np.ndarray
    n_texts: int


@dataclass
class _Snapshot:
    ids: list[str]
    row_of: dict[str, int]
    records: list[_Record]
    doc_mat: np.ndarray  # (N, dim) float32
    frag_mat: np.ndarray  # (F, dim) float16 by default
    frag_start: np.ndarray  # (N+1,) int64 offsets: doc i owns rows [start[i], start[i+1])
    frag_kind: np.ndarray  # (F,) int8
    learned_rows: np.ndarray  # fragment rows of kind "learned"
    learned_mat: np.ndarray  # their vectors, float32 (checked exhaustively in the first stage)
    bm25: BM25Snapshot
    facet_codes: dict[str, np.ndarray] = field(default_factory=dict)
    facet_vocab: dict[str, dict[str, int]] = field(default_factory=dict)
    fuzzy_buckets: dict | None = None
    fuzzy_cutoff: float = 85.0

    def __len__(self) -> int:
        return len(self.ids)

    def fuzzy_lookup(self, tok: str) -> int:
        """Closest indexed term (same first letter, similar length), or -1."""
        if self.fuzzy_buckets is None:
            return -1
        from rapidfuzz import fuzz, process

        bucket = self.fuzzy_buckets.get(tok[0])
        if not bucket:
            return -1
        terms, ids = bucket
        m = process.extractOne(tok, terms, scorer=fuzz.ratio, score_cutoff=self.fuzzy_cutoff)
        return -1 if m is None else ids[m[2]]


def _doc_text(doc: ContentDoc) -> str:
    title = normalize_ws(doc.title)
    summary = normalize_ws(doc.summary)
    if title and summary:
        return f"{title}. {summary}" if title[-1] not in ".!?:" else f"{title} {summary}"
    return title or summary or doc.id


def _fragments(doc: ContentDoc) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(kind: str, text: str) -> None:
        text = normalize_ws(text)
        if text and (kind, text.lower()) not in seen:
            seen.add((kind, text.lower()))
            out.append((kind, text))

    add("title", doc.title)
    for s in split_sentences(doc.summary):
        add("sentence", s)
    for t in doc.objections:
        add("tag", t)
    for t in doc.learned:
        add("learned", t)
    if not out:
        add("title", doc.id)
    return out


def _lexical_text(doc: ContentDoc) -> str:
    # title counts twice (a cheap field boost)
    return " ".join([doc.title, doc.title, doc.summary or "", *doc.objections, *doc.learned])


def _sigmoid(x: float) -> float:
    if x < -60:
        return 0.0
    if x > 60:
        return 1.0
    return 1.0 / (1.0 + math.exp(-x))


class ContentIndex:
    def __init__(self, embedder, cache: EmbeddingCache | None = None, **tuning) -> None:
        unknown = set(tuning) - set(DEFAULT_TUNING)
        if unknown:
            raise TypeError(f"unknown tuning parameter(s): {sorted(unknown)}")
        self.embedder = embedder
        self.cache = cache if cache is not None else InMemoryEmbeddingCache()
        self.tuning = {**DEFAULT_TUNING, **tuning}
        self._records: dict[str, _Record] = {}
        self._vocab = Vocabulary()
        self._write_lock = threading.RLock()
        self._frag_dtype = np.dtype(self.tuning["frag_dtype"])
        self._snap = self._build_snapshot({})
        self._blas = None
        if self.tuning["blas_threads"]:
            try:  # numpy's BLAS threads spin after each matmul and starve torch on small machines
                from threadpoolctl import ThreadpoolController

                self._blas = ThreadpoolController()
            except Exception:  # pragma: no cover - threadpoolctl is a scikit-learn dependency
                self._blas = None

    # ------------------------------------------------------------------ write
    def upsert(self, docs: Iterable[ContentDoc],
               progress: Callable[[int, int], None] | None = None) -> UpsertStats:
        """Add or replace items. Texts already in the cache are not re-embedded.

        ``progress(done, total)`` is called with the number of texts embedded so far.
        """
        docs_by_id: dict[str, ContentDoc] = {}
        for d in docs:
            docs_by_id[str(d.id)] = d
        n_docs = len(docs_by_id)
        with self._write_lock:
            changed: list[ContentDoc] = []
            reused = 0
            for did, d in docs_by_id.items():
                old = self._records.get(did)
                if old is not None and old.doc == d:
                    reused += old.n_texts
                else:
                    changed.append(d)
            if not changed:
                if progress:
                    progress(0, 0)
                return UpsertStats(embedded=0, reused=reused, docs=n_docs)

            plans = []
            needed: dict[str, str] = {}
            for d in changed:
                frags = _fragments(d)
                dtext = _doc_text(d)
                texts = [t for _, t in frags] + [dtext]
                hashes = [text_hash(t) for t in texts]
                for h, t in zip(hashes, texts):
                    needed.setdefault(h, t)
                plans.append((d, frags, hashes))
            model_id = self.embedder.model_id
            vecs: dict[str, np.ndarray] = {}
            wanted = list(needed)
            for i in range(0, len(wanted), 1000):  # modest batches for SQL-backed caches
                vecs.update(self.cache.get_many(model_id, wanted[i:i + 1000]))
            missing = [h for h in needed if h not in vecs]
            total_texts = sum(len(h) for _, _, h in plans)
            embedded = len(missing)
            reused += total_texts - embedded
            if missing:
                batch = 512
                done = 0
                for i in range(0, len(missing), batch):
                    chunk = missing[i:i + batch]
                    out = self.embedder.encode([needed[h] for h in chunk])
                    new = {h: out[j] for j, h in enumerate(chunk)}
                    self.cache.put_many(model_id, new)
                    vecs.update(new)
                    done += len(chunk)
                    if progress:
                        progress(done, len(missing))
            elif progress:
                progress(0, 0)

            records = dict(self._records)
            for d, frags, hashes in plans:
                fv = np.stack([np.asarray(vecs[h], dtype=np.float32) for h in hashes[:-1]])
                tids, tfs = self._vocab.encode(tokenize(_lexical_text(d)))
                records[d.id] = _Record(
                    doc=d,
                    frag_texts=[t for _, t in frags],
                    frag_kinds=np.array([_KIND_CODE[k] for k, _ in frags], dtype=np.int8),
                    frag_vecs=fv,
                    doc_vec=np.asarray(vecs[hashes[-1]], dtype=np.float32),
                    term_ids=tids,
                    term_tfs=tfs,
                    n_texts=len(hashes),
                )
            self._swap(records)
        return UpsertStats(embedded=embedded, reused=reused, docs=n_docs)

    def remove(self, doc_ids: Iterable[str]) -> None:
        with self._write_lock:
            ids = {str(i) for i in doc_ids}
            if not ids & self._records.keys():
                return
            records = {k: v for k, v in self._records.items() if k not in ids}
            self._swap(records)

    def _swap(self, records: dict[str, _Record]) -> None:
        snap = self._build_snapshot(records)
        # Records keep views into the snapshot's matrices instead of their own
        # copies, so the vectors live in memory once (the next build copies from
        # these views; an old snapshot still being searched keeps its own arrays).
        for j, rec in enumerate(snap.records):
            rec.doc_vec = snap.doc_mat[j]
            rec.frag_vecs = snap.frag_mat[snap.frag_start[j]:snap.frag_start[j + 1]]
        self._records = records
        self._snap = snap  # atomic reference swap

    def _build_snapshot(self, records: dict[str, _Record]) -> _Snapshot:
        dim = getattr(self.embedder, "dim", 0) if self.embedder is not None else 0
        ids = list(records)
        recs = [records[i] for i in ids]
        n = len(recs)
        if n:
            doc_mat = np.ascontiguousarray(np.stack([r.doc_vec for r in recs]), dtype=np.float32)
            counts = np.fromiter((len(r.frag_texts) for r in recs), dtype=np.int64, count=n)
            frag_mat = np.concatenate([r.frag_vecs for r in recs]).astype(self._frag_dtype, copy=False)
            frag_kind = np.concatenate([r.frag_kinds for r in recs])
        else:
            doc_mat = np.zeros((0, dim), np.float32)
            counts = np.zeros(0, np.int64)
            frag_mat = np.zeros((0, dim), self._frag_dtype)
            frag_kind = np.zeros(0, np.int8)
        frag_start = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=frag_start[1:])
        bm25 = build_bm25([(r.term_ids, r.term_tfs) for r in recs], len(self._vocab.ids))
        facet_codes: dict[str, np.ndarray] = {}
        facet_vocab: dict[str, dict[str, int]] = {}
        for key in self.tuning["filter_keys"]:
            voc: dict[str, int] = {}
            codes = np.fromiter(
                (voc.setdefault(str(getattr(r.doc, key, "") or "").strip().lower(), len(voc)) for r in recs),
                dtype=np.int32, count=n)
            facet_codes[key] = codes
            facet_vocab[key] = voc
        learned_rows = np.flatnonzero(frag_kind == _KIND_CODE["learned"])
        fuzzy_buckets: dict[str, tuple[list[str], list[int]]] = {}
        if self.tuning["fuzzy"] and n:
            present = np.flatnonzero(np.diff(bm25.indptr) > 0)
            terms = list(self._vocab.ids)
            for tid in present:
                t = terms[tid]
                if len(t) >= 4 and t.isalpha():
                    b = fuzzy_buckets.setdefault(t[0], ([], []))
                    b[0].append(t)
                    b[1].append(int(tid))
        return _Snapshot(
            fuzzy_buckets=fuzzy_buckets, fuzzy_cutoff=float(self.tuning["fuzzy_cutoff"]),
            ids=ids, row_of={i: j for j, i in enumerate(ids)}, records=recs,
            doc_mat=doc_mat, frag_mat=frag_mat, frag_start=frag_start, frag_kind=frag_kind,
            learned_rows=learned_rows, learned_mat=frag_mat[learned_rows].astype(np.float32),
            bm25=bm25, facet_codes=facet_codes, facet_vocab=facet_vocab,
        )

    # ------------------------------------------------------------------- read
    def __len__(self) -> int:
        return len(self._snap)

    def __contains__(self, doc_id: object) -> bool:
        return str(doc_id) in self._snap.row_of

    def get(self, doc_id: str) -> ContentDoc | None:
        snap = self._snap
        j = snap.row_of.get(str(doc_id))
        return None if j is None else snap.records[j].doc

    def doc_ids(self) -> list[str]:
        return list(self._snap.ids)

    def _mask(self, snap: _Snapshot, filters: Mapping[str, Sequence[str]] | None) -> np.ndarray | None:
        if not filters:
            return None
        mask = np.ones(len(snap), dtype=bool)
        for key, values in filters.items():
            key = str(key).lower()
            if isinstance(values, str):
                values = [values]
            values = [str(v).strip().lower() for v in values if str(v).strip()]
            if not values:
                continue
            codes = snap.facet_codes.get(key)
            if codes is None:  # unknown facet: nothing can match it
                return np.zeros(len(snap), dtype=bool)
            voc = snap.facet_vocab[key]
            wanted = [voc[v] for v in values if v in voc]
            mask &= np.isin(codes, np.array(wanted, dtype=np.int32))
        return mask

    def search(self, query: str, k: int = 3,
               filters: Mapping[str, Sequence[str]] | None = None) -> SearchResult:
        """Rank items for a free-text query (inline filters are NOT parsed here;
        use :func:`content_index.parse_query` and pass ``filters``)."""
        if self._blas is None:
            return self._search(query, k, filters)
        with self._blas.limit(limits=self.tuning["blas_threads"], user_api="blas"):
            return self._search(query, k, filters)

    def _search(self, query: str, k: int, filters) -> SearchResult:
        snap = self._snap  # one consistent snapshot for the whole search
        t = self.tuning
        text = normalize_ws(query or "")[: t["max_query_chars"]]
        if k <= 0 or len(snap) == 0:
            return SearchResult([], False, 0.0)
        mask = self._mask(snap, filters)
        allowed = np.flatnonzero(mask) if mask is not None else None
        if allowed is not None and allowed.size == 0:
            return SearchResult([], False, 0.0)
        tokens = tokenize(text)[: t["max_query_terms"]]
        if not text or (not tokens and not any(ch.isalnum() for ch in text)):
            # nothing to search with (empty, punctuation or emoji only)
            return SearchResult([], False, 0.0)

        qv = self.embedder.encode([text])[0]
        term_ids = self._term_ids(snap, tokens)
        raw_lex, bound = snap.bm25.scores(term_ids)
        lex = raw_lex / bound if bound > 0 else raw_lex
        doc_sim = snap.doc_mat @ qv
        if mask is not None:
            doc_sim = np.where(mask, doc_sim, -np.inf)
            lex = np.where(mask, lex, -np.inf)
        method = t["method"]

        if method == "bm25":
            return self._simple(snap, lex, k, text, "keywords", tokens)
        if method == "dense":
            return self._simple(snap, doc_sim, k, text, "title", tokens)
        if method == "rrf":
            rank_l = np.empty(len(snap)); rank_d = np.empty(len(snap))
            rank_l[np.argsort(-lex, kind="stable")] = np.arange(len(snap))
            rank_d[np.argsort(-doc_sim, kind="stable")] = np.arange(len(snap))
            fused = 1.0 / (t["rrf_k"] + 1 + rank_l) + 1.0 / (t["rrf_k"] + 1 + rank_d)
            if mask is not None:
                fused = np.where(mask, fused, -np.inf)
            return self._simple(snap, fused, k, text, "title", tokens)

        # ---- hybrid: candidate generation
        pool = len(snap) if allowed is None else allowed.size
        C = int(t["candidates"])
        if pool <= C:
            cand = np.arange(len(snap)) if allowed is None else allowed
        else:
            parts = [np.argpartition(-doc_sim, C)[:C], np.argpartition(-lex, C)[:C]]
            if snap.learned_rows.size:
                ls = snap.learned_mat @ qv
                close = snap.learned_rows[ls >= t["learned_min_sim"]]
                if close.size:
                    parts.append(np.searchsorted(snap.frag_start, close, side="right") - 1)
            cand = np.unique(np.concatenate(parts))
            if mask is not None:
                cand = cand[mask[cand]]
        # ---- rerank candidates with all their fragments
        starts = snap.frag_start[cand]
        ends = snap.frag_start[cand + 1]
        lens = ends - starts
        rows = np.repeat(starts - np.cumsum(np.r_[0, lens[:-1]]), lens) + np.arange(lens.sum())
        fsims = snap.frag_mat[rows].astype(np.float32) @ qv
        seg = np.r_[0, np.cumsum(lens)[:-1]]
        best_frag = np.maximum.reduceat(fsims, seg)
        c_doc = doc_sim[cand]
        best = np.maximum(best_frag, c_doc)  # max-sim over every view of the item
        dense = t["alpha"] * best + (1 - t["alpha"]) * c_doc
        c_lex = lex[cand]
        score = (1 - t["w_lex"]) * dense + t["w_lex"] * c_lex
        order = np.argsort(-score, kind="stable")[:k]
        hits = []
        for o in order:
            j = int(cand[o])
            rec = snap.records[j]
            s, e = int(seg[o]), int(seg[o] + lens[o])
            fi = int(np.argmax(fsims[s:e]))
            kind = KINDS[int(rec.frag_kinds[fi])]
            reason = rec.frag_texts[fi]
            if t["w_lex"] * c_lex[o] > (1 - t["w_lex"]) * dense[o] and c_lex[o] > 0:
                kind, reason = "keywords", _matched_keywords(text, rec)
            hits.append(Hit(rec.doc.id, float(score[o]), reason, kind))
        # Confidence: does the top hit agree semantically AND lexically with the
        # query? Equal weights; only the threshold is tuned.
        if len(order):
            o = order[0]
            whole = 0.5 * best[o] + 0.5 * c_doc[o]  # the best view AND the whole item
            agreement = float(0.5 * whole + 0.5 * c_lex[o])
        else:
            agreement = 0.0
        conf = _sigmoid((agreement - t["threshold"]) / t["temperature"])
        return SearchResult(hits, conf >= 0.5, conf, agreement)

    def _term_ids(self, snap: _Snapshot, tokens: list[str]) -> list[int]:
        """Vocabulary ids of the query terms; an unknown term of 5+ letters is
        mapped to the closest library term by edit similarity (typos such as
        "questionnare"), when one is close enough. Ids newer than the snapshot
        count as unknown."""
        ids = self._vocab.lookup(tokens)
        n_terms = len(snap.bm25.idf)
        out = []
        for tok, tid in zip(tokens, ids):
            if (tid < 0 or tid >= n_terms) and len(tok) >= 5 and tok.isalpha() and self.tuning["fuzzy"]:
                tid = snap.fuzzy_lookup(tok)
            out.append(tid if 0 <= tid < n_terms else -1)
        return out

    def _simple(self, snap: _Snapshot, scores: np.ndarray, k: int, text: str, kind: str,
                tokens: list[str]) -> SearchResult:
        """Baseline methods: rank by one score vector, never abstain."""
        k = min(k, int(np.isfinite(scores).sum()))
        if k <= 0:
            return SearchResult([], False, 0.0)
        order = np.argsort(-scores, kind="stable")[:k]
        hits = []
        for j in order:
            rec = snap.records[int(j)]
            reason = _matched_keywords(text, rec) if kind == "keywords" else rec.doc.title
            hits.append(Hit(rec.doc.id, float(scores[j]), reason, kind))
        return SearchResult(hits, True, 1.0)


def _matched_keywords(text: str, rec: _Record) -> str:
    doc_tokens = set(tokenize(_lexical_text(rec.doc)))
    seen: list[str] = []
    for raw in text.split():
        toks = tokenize(raw)
        if toks and any(t in doc_tokens for t in toks):
            w = raw.strip(".,;:!?()[]\"'")
            if w and w.lower() not in (s.lower() for s in seen):
                seen.append(w)
    return ", ".join(seen) if seen else rec.doc.title
