"""Multi-view content index: rank fusion of lexical and dense views, with calibrated abstention.

Representation (per item)
  * ``doc``      one vector of ``title. summary`` (the pooled vector: first stage)
  * ``title``    the title
  * ``sentence`` each summary sentence
  * ``tag``      each objection tag
  * ``learned``  each learned phrasing (queries reps marked Helpful)
  * ``rejected`` each query a rep marked Not helpful for the item (never matched; demotes only)
  * BM25 (bm25s, Lucene variant) over title (twice) + summary + tags + learned phrasings

Query: rep shorthand is spelled out first (:mod:`content_index.shorthand`: "ppl", "w/", "yr",
"$$" ...); the expanded text is embedded once and tokenised for BM25.

Ranking (method "hybrid", the shipped one): reciprocal-rank fusion (k = ``rrf_k``) of three views
  * ``bm25``    BM25 over the whole lexical text (learned phrasings included)
  * ``maxsim``  max cosine over every view of the item (doc, title, sentences, tags, learned)
  * ``mix``     0.7 maxsim + 0.3 BM25 coverage of the query (BM25 / sum of the query's idf)
then one round of pseudo-relevance feedback: the query vector moves towards the mean doc vector
of the fused top ``prf_docs`` (weight ``prf_weight``), the dense views are re-scored and fused
again. Ranks, not scores, are fused, so no view's scale has to match another's: that is what
carries over from topic-named queries to reps' paraphrases (benchmarks/README.md).

Not helpful: an item whose rejected phrasings are close to the query (cosine >= ``demote_sim``
and closer than any of its learned phrasings) has its fused score scaled down by up to
``demote_weight``.

Abstention ("no good match") uses only the dense evidence, never word overlap: ``evidence`` =
the best max-sim of the query (before feedback) over the candidates. Below
``nomatch_threshold``: no good match; below ``weak_threshold``: results shown as possibly weak.
``confidence`` = sigmoid((evidence - nomatch_threshold) / temperature).

Retrieval: when the (filtered) library is larger than ``candidates``, a first
stage takes the top ``candidates`` by doc vector, the top ``candidates`` by BM25
and every item with a learned phrasing at cosine >= ``learned_gate``; only those are re-scored
with all their fragment vectors and ranked.

Concurrency: every upsert/remove builds a new immutable snapshot and swaps a
single reference, so searches never block on writers and never see a
half-built index. Writers are serialised with a lock.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Mapping, Sequence, TypedDict

import numpy as np

from .documents import ContentDoc, normalize_ws, split_sentences
from .embedding import EmbeddingCache, InMemoryEmbeddingCache, text_hash
from .lexical import BM25Snapshot, Vocabulary, build_bm25, tokenize
from .shorthand import acronyms, expand_shorthand

__all__ = ["Hit", "SearchResult", "UpsertStats", "ContentIndex", "DEFAULT_TUNING"]

KINDS = ("title", "sentence", "tag", "learned", "rejected")
_KIND_CODE = {k: i for i, k in enumerate(KINDS)}

# Chosen on the dev set and reported held out on the field set (and the reverse): see
# benchmarks/README.md and `revalign eval --tune-on dev --report-on field`. Few, smooth
# parameters on purpose.
DEFAULT_TUNING: dict = {
    "method": "hybrid",  # "hybrid" | "bm25" | "dense" | "rrf"
    "views": ("bm25", "maxsim", "mix"),  # fused by rank (subset of VIEWS)
    "w_lex": 0.3,  # weight of BM25 coverage in the "mix" view
    "rrf_k": 60,  # reciprocal-rank fusion constant (hybrid and rrf)
    "prf_weight": 0.6,  # pseudo-relevance feedback: query vector + w * mean(top docs); 0 = off
    "prf_docs": 3,
    # Learned phrasings count (in max-sim and in BM25) only for queries within cosine `learned_gate` of
    # them: the next rep's other words for the same ask benefit, unrelated asks are not pulled in.
    "learned_lexical": "gated",  # True: always in the BM25 text; False: never; "gated": as above
    "learned_view": False,  # learned phrasings also fused as a view of their own (hurt held out: benchmarks)
    # chosen on the field set's halves and its paraphrases (benchmarks/README.md); a learned phrasing this
    # close to the query also always reaches the rerank
    "learned_gate": 0.5,
    "shorthand": True,  # spell out rep shorthand before embedding and tokenising
    "nomatch_threshold": 0.33,  # evidence below this: "no good match" (a content gap)
    "weak_threshold": 0.39,  # evidence below this: results shown as possibly weak
    "lexical_rescue": 0.25,  # top item covering this share of the query's terms: weak, never "no good match"
    "unknown_term_threshold": 0.50,  # a query naming an acronym the library never uses: no match below this
    "temperature": 0.03,  # width of the confidence sigmoid
    "demote_sim": 0.75,  # a Not-helpful phrasing this close to the query demotes the item
    "demote_weight": 0.6,  # fused score x (1 - weight) at cosine 1.0 (linear from demote_sim)
    "candidates": 1000,  # first-stage size per retriever at scale (300: top-5 overlap with exhaustive 0.92 at 10k)
    "max_query_chars": 1000,  # long pastes are truncated
    "max_query_terms": 64,
    "filter_keys": ("type", "stage", "persona"),
    "frag_dtype": "float16",  # fragment vectors (re-scored per candidate); the doc vectors stay float32
    "blas_threads": 1,  # numpy BLAS threads during search (None: leave as is)
    "fuzzy": True,  # typo-tolerant lexical matching of unknown query terms
    "fuzzy_cutoff": 85.0,  # rapidfuzz ratio (0..100)
}
VIEWS = ("bm25", "maxsim", "mix")


@dataclass(frozen=True)
class Hit:
    doc_id: str
    score: float  # fused ranking score
    reason: str  # the matched tag, sentence, title or learned phrasing (the text itself)
    reason_kind: str  # "tag" | "sentence" | "title" | "learned" | "keywords"


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    confident: bool  # False => "no good match" (the closest items may still be shown, as weak)
    confidence: float  # calibrated 0..1
    agreement: float = 0.0  # raw evidence behind `confidence` (see ContentIndex.search)
    weak: bool = False  # a match, but possibly a weak one: show the results, marked so
    missing_terms: tuple[str, ...] = ()  # acronyms the query names that no item mentions ("FERPA")
    top_lexical: float = 0.0  # share of the query's terms the top item covers (BM25 / its bound)
    query_vector: np.ndarray | None = field(default=None, repr=False, compare=False)  # reuse, don't re-embed


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
    plain_ids: np.ndarray  # the terms without learned phrasings (the "gated" learned_lexical mode)
    plain_tfs: np.ndarray
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


class _Fragments(TypedDict):
    """The parts of a snapshot every build makes anew (the rest may be shared: _build_snapshot)."""

    records: list[_Record]
    frag_mat: np.ndarray
    frag_start: np.ndarray
    frag_kind: np.ndarray
    learned_rows: np.ndarray
    learned_mat: np.ndarray


def _doc_text(doc: ContentDoc) -> str:
    title = normalize_ws(doc.title)
    summary = normalize_ws(doc.summary)
    if title and summary:
        return f"{title}. {summary}" if title[-1] not in ".!?:" else f"{title} {summary}"
    return title or summary or doc.id


def _fragments(doc: ContentDoc) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()

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
    for t in doc.rejected:
        add("rejected", t)
    if not any(kind != "rejected" for kind, _ in out):
        add("title", doc.id)
    return out


def _same_but_feedback(old: ContentDoc, new: ContentDoc) -> bool:
    """True when only the learned / rejected phrasings differ (the text, tags and facets are equal)."""
    return replace(old, learned=(), rejected=()) == replace(new, learned=(), rejected=())


def _lexical_text(doc: ContentDoc, learned: bool = True) -> str:
    # title counts twice (a cheap field boost)
    return " ".join([doc.title, doc.title, doc.summary or "", *doc.objections, *(doc.learned if learned else ())])


def _ranks(scores: np.ndarray) -> np.ndarray:
    """0-based rank of each score (0 = highest; ties keep input order)."""
    out = np.empty(len(scores))
    out[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    return out


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
            except ImportError:  # pragma: no cover - threadpoolctl is a scikit-learn dependency
                self._blas = None

    # ------------------------------------------------------------------ write
    def upsert(self, docs: Iterable[ContentDoc], progress: Callable[[int, int], None] | None = None) -> UpsertStats:
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
                for h, t in zip(hashes, texts, strict=True):
                    needed.setdefault(h, t)
                plans.append((d, frags, hashes))
            model_id = self.embedder.model_id
            vecs: dict[str, np.ndarray] = {}
            wanted = list(needed)
            for i in range(0, len(wanted), 1000):  # modest batches for SQL-backed caches
                vecs.update(self.cache.get_many(model_id, wanted[i : i + 1000]))
            missing = [h for h in needed if h not in vecs]
            total_texts = sum(len(h) for _, _, h in plans)
            embedded = len(missing)
            reused += total_texts - embedded
            if missing:
                batch = 512
                done = 0
                for i in range(0, len(missing), batch):
                    chunk = missing[i : i + batch]
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
            # Helpful / Not helpful change only an item's learned and rejected phrasings; then the
            # snapshot shares everything else with the current one (see _build_snapshot).
            feedback_only = self.tuning["learned_lexical"] in ("gated", False) and all(
                d.id in self._records and _same_but_feedback(self._records[d.id].doc, d) for d in changed
            )
            for d, frags, hashes in plans:
                # stored as the snapshot stores fragments, so a rebuild concatenates without upcasting
                fv = np.stack([np.asarray(vecs[h], dtype=np.float32) for h in hashes[:-1]]).astype(self._frag_dtype)
                tids, tfs = self._vocab.encode(tokenize(_lexical_text(d, bool(self.tuning["learned_lexical"]))))
                pids, ptfs = (tids, tfs) if not d.learned else self._vocab.encode(tokenize(_lexical_text(d, False)))
                records[d.id] = _Record(
                    doc=d,
                    frag_texts=[t for _, t in frags],
                    frag_kinds=np.array([_KIND_CODE[k] for k, _ in frags], dtype=np.int8),
                    frag_vecs=fv,
                    doc_vec=np.asarray(vecs[hashes[-1]], dtype=np.float32),
                    term_ids=tids,
                    term_tfs=tfs,
                    plain_ids=pids,
                    plain_tfs=ptfs,
                    n_texts=len(hashes),
                )
            self._swap(records, feedback_only)
        return UpsertStats(embedded=embedded, reused=reused, docs=n_docs)

    def remove(self, doc_ids: Iterable[str]) -> None:
        with self._write_lock:
            ids = {str(i) for i in doc_ids}
            if not ids & self._records.keys():
                return
            records = {k: v for k, v in self._records.items() if k not in ids}
            self._swap(records)

    def _swap(self, records: dict[str, _Record], feedback_only: bool = False) -> None:
        reuse = self._snap if feedback_only and list(records) == self._snap.ids else None
        snap = self._build_snapshot(records, reuse)
        # Records keep views into the snapshot's matrices instead of their own
        # copies, so the vectors live in memory once (the next build copies from
        # these views; an old snapshot still being searched keeps its own arrays).
        for j, rec in enumerate(snap.records):
            rec.doc_vec = snap.doc_mat[j]
            rec.frag_vecs = snap.frag_mat[snap.frag_start[j] : snap.frag_start[j + 1]]
        self._records = records
        self._snap = snap  # atomic reference swap

    def _build_snapshot(self, records: dict[str, _Record], reuse: _Snapshot | None = None) -> _Snapshot:
        """A new immutable snapshot of `records`. With `reuse` (the current snapshot, when only
        learned / rejected phrasings changed, same items in the same order) the parts those do not
        touch are shared: doc vectors, BM25, facets and the fuzzy vocabulary; only the fragment
        matrix is rebuilt, so a click is searchable in a fraction of a full rebuild."""
        dim = getattr(self.embedder, "dim", 0) if self.embedder is not None else 0
        ids = list(records)
        recs = [records[i] for i in ids]
        n = len(recs)
        if n:
            counts = np.fromiter((len(r.frag_texts) for r in recs), dtype=np.int64, count=n)
            frag_mat = np.concatenate([r.frag_vecs for r in recs]).astype(self._frag_dtype, copy=False)
            frag_kind = np.concatenate([r.frag_kinds for r in recs])
        else:
            counts = np.zeros(0, np.int64)
            frag_mat = np.zeros((0, dim), self._frag_dtype)
            frag_kind = np.zeros(0, np.int8)
        frag_start = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=frag_start[1:])
        learned_rows = np.flatnonzero(frag_kind == _KIND_CODE["learned"])
        # what every snapshot builds anew: the records and their fragment vectors
        fragments: _Fragments = {
            "records": recs,
            "frag_mat": frag_mat,
            "frag_start": frag_start,
            "frag_kind": frag_kind,
            "learned_rows": learned_rows,
            "learned_mat": frag_mat[learned_rows].astype(np.float32),
        }
        if reuse is not None:
            return replace(reuse, **fragments)
        if n:
            doc_mat = np.ascontiguousarray(np.stack([r.doc_vec for r in recs]), dtype=np.float32)
        else:
            doc_mat = np.zeros((0, dim), np.float32)
        if self.tuning["learned_lexical"] == "gated":  # learned terms are scored per query (_search)
            bm25 = build_bm25([(r.plain_ids, r.plain_tfs) for r in recs], len(self._vocab.ids))
        else:
            bm25 = build_bm25([(r.term_ids, r.term_tfs) for r in recs], len(self._vocab.ids))
        facet_codes: dict[str, np.ndarray] = {}
        facet_vocab: dict[str, dict[str, int]] = {}
        for key in self.tuning["filter_keys"]:
            voc: dict[str, int] = {}
            codes = np.fromiter(
                (voc.setdefault(str(getattr(r.doc, key, "") or "").strip().lower(), len(voc)) for r in recs),
                dtype=np.int32,
                count=n,
            )
            facet_codes[key] = codes
            facet_vocab[key] = voc
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
            fuzzy_buckets=fuzzy_buckets,
            fuzzy_cutoff=float(self.tuning["fuzzy_cutoff"]),
            ids=ids,
            row_of={i: j for j, i in enumerate(ids)},
            doc_mat=doc_mat,
            bm25=bm25,
            facet_codes=facet_codes,
            facet_vocab=facet_vocab,
            **fragments,
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

    def search(self, query: str, k: int = 3, filters: Mapping[str, Sequence[str]] | None = None) -> SearchResult:
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
        method = t["method"]
        # The baselines read the query as typed; the shipped method spells out shorthand first.
        qtext = expand_shorthand(text) if (method == "hybrid" and t["shorthand"]) else text
        tokens = tokenize(qtext)[: t["max_query_terms"]]
        if not text or (not tokens and not any(ch.isalnum() for ch in text)):
            # nothing to search with (empty, punctuation or emoji only)
            return SearchResult([], False, 0.0)

        qv = self.embedder.encode([qtext])[0]
        term_ids = self._term_ids(snap, tokens)
        raw_lex, bound = snap.bm25.scores(term_ids)
        lex = raw_lex / bound if bound > 0 else raw_lex
        doc_sim = snap.doc_mat @ qv
        if mask is not None:
            doc_sim = np.where(mask, doc_sim, -np.inf)
            lex = np.where(mask, lex, -np.inf)

        if method == "bm25":
            return self._simple(snap, lex, k, text, "keywords", tokens)
        if method == "dense":
            return self._simple(snap, doc_sim, k, text, "title", tokens)
        if method == "rrf":
            rank_l = np.empty(len(snap))
            rank_d = np.empty(len(snap))
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
                close = snap.learned_rows[ls >= t["learned_gate"]]
                if close.size:
                    parts.append(np.searchsorted(snap.frag_start, close, side="right") - 1)
            cand = np.unique(np.concatenate(parts))
            if mask is not None:
                cand = cand[mask[cand]]
        # ---- every fragment of every candidate, once
        starts = snap.frag_start[cand]
        lens = snap.frag_start[cand + 1] - starts
        rows = np.repeat(starts - np.cumsum(np.r_[0, lens[:-1]]), lens) + np.arange(lens.sum())
        frags = snap.frag_mat[rows].astype(np.float32)
        kinds = snap.frag_kind[rows]
        rejected = kinds == _KIND_CODE["rejected"]
        seg = np.r_[0, np.cumsum(lens)[:-1]]
        c_lex = lex[cand]
        c_raw = raw_lex[cand]

        learned = kinds == _KIND_CODE["learned"]
        has_learned = np.add.reduceat(learned, seg) > 0 if lens.size else np.zeros(0, bool)
        fsims = frags @ qv  # the query against every fragment: shared by the gate and the dense views
        if t["learned_lexical"] == "gated" and has_learned.any():
            # "gated": the index holds the items' own text; an item's learned phrasings count for
            # BM25 only when one of them is close to this query in meaning (scored here, with the
            # index's idf), so the everyday words reps type ("they", "wants", "team") do not pull a
            # taught item into every ask — and a click never rebuilds the BM25 index.
            close = np.maximum.reduceat(np.where(learned, fsims, -np.inf), seg) >= t["learned_gate"]
            if close.any():
                query_terms = self._vocab.lookup(tokens)  # also terms only learned phrasings have
                c_lex = c_lex.copy()
                c_raw = c_raw.copy()
                for o in np.flatnonzero(close):
                    rec = snap.records[int(cand[o])]
                    c_raw[o] = snap.bm25.score_terms(query_terms, rec.term_ids, rec.term_tfs)
                    c_lex[o] = c_raw[o] / bound if bound > 0 else c_raw[o]
        rank_lex = _ranks(c_raw)

        def dense_views(vec: np.ndarray, fsims: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            matchable = np.where(rejected | (learned & (fsims < t["learned_gate"])), -np.inf, fsims)
            best = np.maximum(np.maximum.reduceat(matchable, seg), snap.doc_mat[cand] @ vec)
            best_learned = np.maximum.reduceat(np.where(learned, fsims, -np.inf), seg)
            return best, (1 - t["w_lex"]) * best + t["w_lex"] * c_lex, best_learned

        def fuse(best: np.ndarray, mix: np.ndarray, best_learned: np.ndarray) -> np.ndarray:
            ranked = {"bm25": rank_lex, "maxsim": _ranks(best), "mix": _ranks(mix)}
            fused = sum(1.0 / (t["rrf_k"] + 1 + ranked[v]) for v in t["views"])
            close = has_learned & (best_learned >= t["learned_gate"])
            if t["learned_view"] and close.any():
                # learned phrasings as a view of their own: only items that reps taught a
                # phrasing close to this query take part
                fused = fused + np.where(close, 1.0 / (t["rrf_k"] + 1 + _ranks(best_learned)), 0.0)
            return fused

        best, mix, best_learned = dense_views(qv, fsims)
        fused = fuse(best, mix, best_learned)
        evidence = float(best.max()) if best.size else 0.0
        if t["prf_weight"] and cand.size > 1:
            top = cand[np.argsort(-fused, kind="stable")[: int(t["prf_docs"])]]
            moved = qv + t["prf_weight"] * snap.doc_mat[top].mean(axis=0)
            moved /= max(float(np.linalg.norm(moved)), 1e-12)
            best_prf, mix_prf, learned_prf = dense_views(moved, frags @ moved)
            fused = fuse(best_prf, mix_prf, learned_prf)
        fused = fused * self._demotion(fsims, kinds, seg, lens)
        order = np.argsort(-fused, kind="stable")[:k]
        hits = []
        for o in order:
            j = int(cand[o])
            rec = snap.records[j]
            s, e = int(seg[o]), int(seg[o] + lens[o])
            local = np.where(rejected[s:e], -np.inf, fsims[s:e])
            fi = int(np.argmax(local))
            kind = KINDS[int(rec.frag_kinds[fi])]
            reason = rec.frag_texts[fi]
            if t["w_lex"] * c_lex[o] > (1 - t["w_lex"]) * best[o] and c_lex[o] > 0:
                kind, reason = "keywords", _matched_keywords(text, rec)
            hits.append(Hit(rec.doc.id, float(fused[o]), reason, kind))
        # No good match iff even the best view of the best item is far from the query: dense
        # similarity only, so a paraphrase sharing no word with the item is not penalised. The one
        # lexical exception is narrow: the query names an acronym (a standard, a regulation, a
        # currency: "FERPA", "CMMC", "SOX") that no item mentions, and the match is not strong. The
        # nearest items are then about a neighbouring topic (SOC 2 for SOC 1), not the one asked.
        missing = tuple(a for a in acronyms(text) if all(i < 0 for i in self._term_ids(snap, tokenize(a))))
        # Word overlap can confirm a match but never deny one: when the top item covers a good share
        # of the query's words ("white label", a typo the model misreads), a low dense similarity
        # makes the answer weak, not a gap.
        top_lex = float(c_lex[order[0]]) if order.size else 0.0
        conf = _sigmoid((evidence - t["nomatch_threshold"]) / t["temperature"])
        confident = (evidence >= t["nomatch_threshold"] or top_lex >= t["lexical_rescue"]) and not (
            missing and evidence < t["unknown_term_threshold"]
        )
        weak = confident and evidence < t["weak_threshold"]
        return SearchResult(
            hits, confident, conf, evidence, weak, missing_terms=missing, top_lexical=top_lex, query_vector=qv
        )

    def _demotion(self, fsims: np.ndarray, kinds: np.ndarray, seg: np.ndarray, lens: np.ndarray) -> np.ndarray:
        """Per candidate, the factor (<= 1) its fused score is scaled by for Not-helpful clicks on
        phrasings like this query, unless one of its Helpful phrasings is at least as close."""
        t = self.tuning
        factor = np.ones(len(seg))
        rej = kinds == _KIND_CODE["rejected"]
        if not rej.any():
            return factor
        neg = np.maximum.reduceat(np.where(rej, fsims, -np.inf), seg)
        pos = np.maximum.reduceat(np.where(kinds == _KIND_CODE["learned"], fsims, -np.inf), seg)
        lo = float(t["demote_sim"])
        applies = (neg >= lo) & (neg > pos)
        # half the weight at demote_sim, the full weight for the very same words
        strength = 0.5 + 0.5 * np.clip((neg - lo) / max(1.0 - lo, 1e-6), 0.0, 1.0)
        return np.where(applies, 1.0 - float(t["demote_weight"]) * strength, factor)

    def _term_ids(self, snap: _Snapshot, tokens: list[str]) -> list[int]:
        """Vocabulary ids of the query terms; an unknown term of 5+ letters is
        mapped to the closest library term by edit similarity (typos such as
        "questionnare"), when one is close enough. Ids newer than the snapshot
        count as unknown."""
        ids = self._vocab.lookup(tokens)
        n_terms = len(snap.bm25.idf)
        out = []
        for tok, tid in zip(tokens, ids, strict=True):
            if (tid < 0 or tid >= n_terms) and len(tok) >= 5 and tok.isalpha() and self.tuning["fuzzy"]:
                tid = snap.fuzzy_lookup(tok)
            out.append(tid if 0 <= tid < n_terms else -1)
        return out

    def _simple(
        self, snap: _Snapshot, scores: np.ndarray, k: int, text: str, kind: str, tokens: list[str]
    ) -> SearchResult:
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
