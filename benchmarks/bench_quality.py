#!/usr/bin/env python
"""Search quality, every protocol in one run (not run by CI): the tables of benchmarks/README.md.

    python benchmarks/bench_quality.py [--model NAME_OR_PATH] [--json out.json]

For each pair (A, B): the shipped method's design is chosen on A (`content_index.evaluation.tune`)
and every method is scored on B beside it (BM25, dense, plain RRF, shipped as tuned on A, shipped
defaults); then learning: A's queries are replayed through the real search as clicks on shown
items, and B is scored before and after. Pairs: dev -> field, field -> dev, field -> paraphrase,
dev -> paraphrase, and each set's halves. Last, the ceiling of learning from the other set: every
labelled phrasing of A given to its grade-2 items (no search, no clicks), B scored before/after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from content_index.evaluation import (  # noqa: E402
    METRIC_KEYS,
    _make_factory,
    learning_experiment,
    load_library,
    load_queries,
    run_held_out_report,
    run_queries,
    score_run,
    split_halves,
    with_learned,
)

DATA = ROOT / "benchmarks" / "data"
SETS = ("dev", "field", "paraphrase")
PAIRS = (("dev", "field"), ("field", "dev"), ("field", "paraphrase"), ("dev", "paraphrase"))


def machine() -> str:
    import numpy
    import torch

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {numpy.__version__}; load average {load:.1f} at start; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def row(name: str, m: dict) -> str:
    return f"| {name} | " + " | ".join("-" if m[k] != m[k] else f"{m[k]:.3f}" for k in METRIC_KEYS) + " |"


def header(first: str) -> list[str]:
    return [f"| {first} | " + " | ".join(METRIC_KEYS) + " |", "|" + "---|" * (len(METRIC_KEYS) + 1)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    print(f"Machine: {machine()}\n")
    library = DATA / "library.jsonl"
    docs = load_library(library)
    queries = {name: load_queries(DATA / f"queries-{name}.jsonl") for name in SETS}
    results: dict = {}
    t0 = time.perf_counter()
    quiet: list[str] = []
    for a, b in PAIRS:
        res = run_held_out_report(
            str(library), str(DATA / f"queries-{a}.jsonl"), str(DATA / f"queries-{b}.jsonl"), quiet.append, args.model
        )
        results[f"{a}->{b}"] = res
        print(f"### choose on {a}, report on {b} (held out)\n")
        print(f"chosen on {a}: `{res['params']}`\n")
        for line in header(f"method ({b} set)"):
            print(line)
        for m, name in (("bm25", "BM25"), ("dense", "dense"), ("rrf", "plain RRF")):
            print(row(name, res["report_set"][m]))
        print(row(f"shipped, as chosen on {a}", res["report_set"]["hybrid"]))
        print(row("**shipped defaults**", res["report_set"]["shipped defaults"]))
        lrn = res["learning"]
        c = lrn["clicks"]
        print(
            f"\nlearning from {a}'s clicks ({c['searches']} searches, {c['helpful']} Helpful, "
            f"{c['not_helpful']} Not helpful, {c['more_results']} after More results), {b} before/after:\n"
        )
        for line in header(f"{b} set"):
            print(line)
        print(row("before", lrn["before"]))
        print(row("after", lrn["after"]))
        print(row("before, ranking only", lrn["before_ranking"]))
        print(row("after, ranking only", lrn["after_ranking"]))
        print(flush=True)

    print("### learning within a set (shipped defaults; one half's clicks, the other half scored)\n")
    print("| learn from -> test on | nDCG@5 before | after | change | recall@5 before | after |")
    print("|---|---|---|---|---|---|")
    for name in ("dev", "field"):
        h1, h2 = split_halves(queries[name])
        for label, learn, test in ((f"{name} half A -> half B", h1, h2), (f"{name} half B -> half A", h2, h1)):
            r = learning_experiment(docs, learn, test, model=args.model)
            before, after = r["before_ranking"], r["after_ranking"]
            results[label] = r
            print(
                f"| {label} | {before['ndcg@5']:.3f} | {after['ndcg@5']:.3f} | "
                f"{after['ndcg@5'] - before['ndcg@5']:+.3f} | {before['recall@5']:.3f} | {after['recall@5']:.3f} |"
            )

    print("\n### ceiling: every labelled phrasing of A taught to its items (no search, no clicks)\n")
    print("| taught -> test on | nDCG@5 before | after | change |")
    print("|---|---|---|---|")
    for a, b in PAIRS:
        index = _make_factory("hybrid", args.model)()
        index.upsert(docs)
        before = score_run(queries[b], run_queries(index, queries[b], abstain=False))
        index.upsert(with_learned(docs, queries[a]))
        after = score_run(queries[b], run_queries(index, queries[b], abstain=False))
        results[f"ceiling {a}->{b}"] = {"before": before, "after": after}
        print(
            f"| {a} -> {b} | {before['ndcg@5']:.3f} | {after['ndcg@5']:.3f} | "
            f"{after['ndcg@5'] - before['ndcg@5']:+.3f} |"
        )
    print(f"\n(all of the above in one run, {time.perf_counter() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
