"""Offline evaluation of the content search on a labelled query set.

Metrics match shared/eval/score.py: recall@1/3/5 (a grade-2 item in the top k),
MRR@10 (first grade-2 item), nDCG@5 (gain 2^g-1, log2 discount), false_abstain
over answerable queries and abstain_unanswerable over unanswerable ones. An
abstention (``confident`` False) is scored as an empty ranked list.

    python -m content_index.evaluation --library L --queries Q [--method all] [--learning] [--honesty]
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from dataclasses import replace
from typing import Callable, Iterable, Sequence

import numpy as np

from .documents import ContentDoc
from .index import ContentIndex

__all__ = [
    "METHODS", "load_library", "load_queries", "score_run", "evaluate", "run_queries",
    "learning_experiment", "split_half_check", "run_eval_report", "main",
]

METHODS = ("bm25", "dense", "rrf", "hybrid")
METRIC_KEYS = ("ndcg@5", "recall@1", "recall@3", "recall@5", "mrr@10",
               "abstain_unanswerable", "false_abstain")


# ---------------------------------------------------------------- loading
def load_library(path) -> list[ContentDoc]:
    docs = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            o = json.loads(line)
            docs.append(ContentDoc(
                id=str(o["id"]), title=o.get("title") or "", summary=o.get("summary") or "",
                type=o.get("type") or "", stage=o.get("stage") or "", persona=o.get("persona") or "",
                objections=tuple(o.get("objections") or ()), learned=tuple(o.get("learned") or ()),
            ))
    return docs


def load_queries(path) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                o = json.loads(line)
                o["relevant"] = {k: int(v) for k, v in (o.get("relevant") or {}).items() if int(v) > 0}
                out.append(o)
    return out


# ---------------------------------------------------------------- scoring
def _dcg(gains: Sequence[int]) -> float:
    return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def score_run(queries: Sequence[dict], run: dict[str, list[str]]) -> dict:
    """Same definitions as shared/eval/score.py."""
    ans = [q for q in queries if q["relevant"]]
    una = [q for q in queries if not q["relevant"]]
    hits = {1: 0, 3: 0, 5: 0}
    rr = nd = 0.0
    fa = 0
    for q in ans:
        grades = q["relevant"]
        ranked = list(dict.fromkeys(run.get(q["id"], [])))
        if not ranked:
            fa += 1
        strong = {c for c, g in grades.items() if g == 2}
        for kk in hits:
            if any(c in strong for c in ranked[:kk]):
                hits[kk] += 1
        for pos, c in enumerate(ranked[:10], 1):
            if c in strong:
                rr += 1.0 / pos
                break
        ideal = _dcg(sorted(grades.values(), reverse=True)[:5])
        nd += _dcg([grades.get(c, 0) for c in ranked[:5]]) / ideal if ideal > 0 else 0.0
    n = len(ans)
    f = (lambda a, b: a / b if b else float("nan"))
    abst = sum(1 for q in una if not run.get(q["id"]))
    m = {
        "n_answerable": n, "n_unanswerable": len(una),
        "recall@1": f(hits[1], n), "recall@3": f(hits[3], n), "recall@5": f(hits[5], n),
        "mrr@10": f(rr, n), "ndcg@5": f(nd, n), "false_abstain": f(fa, n),
        "abstain_unanswerable": f(abst, len(una)),
    }
    # one number for tuning: nDCG@5 for answerable queries, 1/0 for (not) abstaining
    # on unanswerable ones, averaged over all queries
    m["utility"] = f(nd + abst, n + len(una))
    return m


# ---------------------------------------------------------------- running
class _MemoEmbedder:
    """Wraps an Embedder and memoises query vectors (evaluation speed only)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self._memo: dict[str, np.ndarray] = {}

    def encode(self, texts):
        texts = list(texts)
        miss = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if miss:
            for t, v in zip(miss, self.inner.encode(miss)):
                self._memo[t] = v
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._memo[t] for t in texts])


_SHARED: dict = {}


def _shared_embedder(model: str | None = None):
    key = model or "bundled"
    if key not in _SHARED:
        from .embedding import Embedder, InMemoryEmbeddingCache
        _SHARED[key] = (_MemoEmbedder(Embedder(model)), InMemoryEmbeddingCache())
    return _SHARED[key]


def _make_factory(method_or_factory, model: str | None = None, **tuning) -> Callable[[], ContentIndex]:
    if callable(method_or_factory):
        return method_or_factory
    method = str(method_or_factory)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
    emb, cache = _shared_embedder(model)
    return lambda: ContentIndex(emb, cache, **{**tuning, "method": method})


def run_queries(index: ContentIndex, queries: Sequence[dict], k: int = 10) -> dict[str, list[str]]:
    run = {}
    for q in queries:
        res = index.search(q["query"], k=k)
        run[q["id"]] = [h.doc_id for h in res.hits] if res.confident else []
    return run


def evaluate(index_factory_or_method, docs: Sequence[ContentDoc], queries: Sequence[dict],
             model: str | None = None, **tuning) -> dict:
    """Build an index (factory() or a method name from METHODS), upsert docs, score queries."""
    index = _make_factory(index_factory_or_method, model, **tuning)()
    index.upsert(docs)
    return score_run(queries, run_queries(index, queries))


# ---------------------------------------------------------------- honesty
def split_halves(queries: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """Deterministic halves: alternate by id order, separately for answerable and
    unanswerable queries so both halves get some of each."""
    qs = sorted(queries, key=lambda q: q["id"])
    a, b = [], []
    for group in ([q for q in qs if q["relevant"]], [q for q in qs if not q["relevant"]]):
        for i, q in enumerate(group):
            (a if i % 2 == 0 else b).append(q)
    return a, b


# Only the abstention threshold is tuned by default: alpha = 1 (pure max-sim) and
# w_lex = 0.3 are structural choices; WIDE_GRID also searches them (it overfits
# a 40-query half: see benchmarks/README.md).
TUNING_GRID = {
    "alpha": (1.0,),
    "w_lex": (0.3,),
    "threshold": tuple(float(x) for x in np.round(np.arange(0.12, 0.32, 0.01), 2)),
}


WIDE_GRID = {**TUNING_GRID, "alpha": (0.5, 0.75, 1.0), "w_lex": (0.2, 0.3, 0.4)}


def tune(docs, queries, model=None, grid=TUNING_GRID) -> tuple[dict, dict]:
    """Grid search on `queries` maximising utility; returns (best tuning, metrics)."""
    best = None
    for alpha, w_lex in itertools.product(grid["alpha"], grid["w_lex"]):
        # threshold does not change the ranking: rank once, sweep abstention cheaply
        index = _make_factory("hybrid", model, alpha=alpha, w_lex=w_lex)()
        index.upsert(docs)
        res = {q["id"]: index.search(q["query"], k=10) for q in queries}
        for th in grid["threshold"]:
            run = {qid: ([h.doc_id for h in r.hits] if (r.hits and r.agreement >= th) else [])
                   for qid, r in res.items()}
            m = score_run(queries, run)
            # at most half the allowed 10% false abstentions on the tuning half (headroom
            # for harder unseen queries), then best utility, then closest to the centre
            ok = m["false_abstain"] <= 0.05
            cand = ((ok, m["utility"], -abs(alpha - 1.0) - abs(w_lex - 0.3) - abs(th - 0.20)),
                    {"alpha": alpha, "w_lex": w_lex, "threshold": float(th)}, m)
            if best is None or cand[0] > best[0]:
                best = cand
    return best[1], best[2]


def split_half_check(docs, queries, model=None, out=print, grid=None) -> dict:
    a, b = split_halves(queries)
    report = {}
    for name, tr, te in (("A->B", a, b), ("B->A", b, a)):
        params, m_tr = tune(docs, tr, model, grid or TUNING_GRID)
        m_te = evaluate("hybrid", docs, te, model, **params)
        m_def = evaluate("hybrid", docs, te, model)
        report[name] = {"params": params, "train": m_tr, "test": m_te, "test_default": m_def}
    return report


# ---------------------------------------------------------------- learning
def with_learned(docs: Sequence[ContentDoc], queries: Iterable[dict], min_grade: int = 2) -> list[ContentDoc]:
    """Simulate "Helpful" clicks: each query becomes a learned phrasing of its grade-2 items."""
    extra: dict[str, list[str]] = {}
    for q in queries:
        for did, g in q["relevant"].items():
            if g >= min_grade:
                extra.setdefault(did, []).append(q["query"])
    return [replace(d, learned=tuple(dict.fromkeys([*d.learned, *extra.get(d.id, [])])))
            if d.id in extra else d for d in docs]


def learning_experiment(docs, queries, method="hybrid", model=None, **tuning) -> dict:
    """Learn from one half's labels (as clicks), report the other half before/after, both ways."""
    a, b = split_halves(queries)
    out = {}
    for name, learn, test in (("learn A, test B", a, b), ("learn B, test A", b, a)):
        before = evaluate(method, docs, test, model, **tuning)
        after = evaluate(method, with_learned(docs, learn), test, model, **tuning)
        out[name] = {"before": before, "after": after}
    return out


# ---------------------------------------------------------------- report
def _fmt_row(name: str, m: dict) -> str:
    return f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in METRIC_KEYS) + " |"


def _header(first: str = "method") -> list[str]:
    return [f"| {first} | " + " | ".join(METRIC_KEYS) + " |",
            "|" + "---|" * (len(METRIC_KEYS) + 1)]


def run_eval_report(library_path, queries_path, methods: Sequence[str] | str = "all",
                    learning: bool = False, out=print, honesty: bool = False,
                    model: str | None = None, wide_grid: bool = False) -> dict:
    docs = load_library(library_path)
    queries = load_queries(queries_path)
    if methods == "all" or methods == ["all"] or methods == ("all",):
        methods = METHODS
    elif isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    n_ans = sum(1 for q in queries if q["relevant"])
    out(f"library: {len(docs)} items; queries: {len(queries)} ({n_ans} answerable, "
        f"{len(queries) - n_ans} unanswerable)")
    results = {}
    for line in _header():
        out(line)
    for m in methods:
        t0 = time.perf_counter()
        results[m] = evaluate(m, docs, queries, model)
        out(_fmt_row(m, results[m]) + f"  ({time.perf_counter() - t0:.1f}s)")
    if honesty:
        out("")
        grid = WIDE_GRID if wide_grid else TUNING_GRID
        out(f"split-half check (tune {', '.join(k for k, v in grid.items() if len(v) > 1)} on one half; "
            "score the other):")
        rep = split_half_check(docs, queries, model, grid=grid)
        for line in _header("split"):
            out(line)
        for name, r in rep.items():
            out(_fmt_row(f"{name} tuned on train: {r['params']}", r["train"]))
            out(_fmt_row(f"{name} held-out half, its tuned params", r["test"]))
            out(_fmt_row(f"{name} held-out half, shipped defaults", r["test_default"]))
        results["split_half"] = rep
    if learning:
        out("")
        out("learning from use (grade-2 labels of one half as Helpful clicks; other half scored):")
        rep = learning_experiment(docs, queries, model=model)
        for line in _header("half"):
            out(line)
        for name, r in rep.items():
            out(_fmt_row(f"{name}: before", r["before"]))
            out(_fmt_row(f"{name}: after", r["after"]))
        results["learning"] = rep
    return results


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m content_index.evaluation", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--method", default="all", help="all or comma-separated: " + ",".join(METHODS))
    ap.add_argument("--learning", action="store_true", help="also run the learning-from-use experiment")
    ap.add_argument("--honesty", action="store_true", help="also run the split-half tuning check")
    ap.add_argument("--wide-grid", action="store_true", help="split-half check also tunes alpha and w_lex")
    ap.add_argument("--model", default=None, help="sentence-transformers model name/path (default: bundled)")
    ap.add_argument("--json", default=None, help="write all metrics to this JSON file")
    a = ap.parse_args(argv)
    res = run_eval_report(a.library, a.queries, a.method, a.learning, print, a.honesty, a.model,
                          a.wide_grid)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=2, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
