#!/usr/bin/env python
"""Helpful clicks at scale, through the real app over signed HTTP (not run by CI).

    python benchmarks/bench_feedback.py [--sizes 10000,100000] [--clicks 10]

A SQLite library of N synthetic items (benchmarks/bench_search.py's recombination of the eval
library) with random unit vectors in the embedding cache (only latency is measured here; the
queries are embedded by the real bundled model). For each click: `/content` (the search,
timed end to end until its reply reaches the response_url), then *Helpful* on a shown item:
the HTTP acknowledgement time, the time until the "Thanks" reply, and the time until the
index has learned the phrasing (the background snapshot rebuild). Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench_search import machine, synthesize

from content_index.evaluation import load_library, load_queries
from content_index.index import _doc_text, _fragments

QUERIES = ROOT / "benchmarks" / "data" / "queries-field.jsonl"


def random_vectors(texts, dim):
    out = {}
    for t in texts:
        h = hashlib.sha256(t.encode("utf-8")).hexdigest()
        v = np.random.default_rng(int(h[:12], 16)).standard_normal(dim).astype(np.float32)
        out[h] = v / np.linalg.norm(v)
    return out


def populate(services, n: int) -> None:
    from sqlalchemy import insert

    from bot.models.content import ContentItem

    docs = synthesize(load_library(ROOT / "benchmarks" / "data" / "library.jsonl"), n)
    rows = [{"id": i + 1, "url": f"https://content.example/{d.id}", "title": d.title, "type": d.type,
             "stage": d.stage, "persona": d.persona, "summary": d.summary, "objections": list(d.objections)}
            for i, d in enumerate(docs)]
    with services.db.session() as session:
        for i in range(0, n, 5000):
            session.execute(insert(ContentItem), rows[i:i + 5000])
    dim, model_id = services.embedder.dim, services.embedder.model_id
    for i in range(0, n, 5000):
        texts = [t for d in docs[i:i + 5000] for t in [*(x for _, x in _fragments(d)), _doc_text(d)]]
        services.content.cache.put_many(model_id, random_vectors(texts, dim))


def p(xs, q):
    return float(np.percentile(xs, q)) if xs else float("nan")


def bench(n: int, clicks: int, queries: list[str]) -> dict:
    from bot.app import create_app
    from bot.content.text import phrasing_of
    from revalign_dev.local_slack import LocalSlack
    from bot.server import HttpServer, create_http_app
    from bot.services import Services
    from bot.settings import load_settings
    from tests.slack_requests import SIGNING_SECRET, SlackSender

    tmp = tempfile.mkdtemp(prefix="revalign-bench-")
    url = f"sqlite:///{tmp}/bench.db"
    from bot import migrate

    migrate.upgrade(url)
    with LocalSlack() as slack:
        settings = load_settings(DATABASE_URL=url, SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                                 SLACK_API_URL=slack.api_url, _env_file=None)
        services = Services(settings)
        t0 = time.perf_counter()
        populate(services, n)
        t_pop = time.perf_counter() - t0
        bolt_app, _ = create_app(services)
        server = HttpServer(create_http_app(services, bolt_app), port=0).start()
        t0 = time.perf_counter()
        services.start()
        t_load = time.perf_counter() - t0
        send = SlackSender(server.url, slack)
        search_ms, ack_ms, reply_ms, learned_s = [], [], [], []
        try:
            for i in range(clicks):
                before = len(slack.calls_to("response_url"))
                t = time.perf_counter()
                assert send.command("/content", queries[i % len(queries)]).status == 200
                reply = slack.wait_for("response_url", before + 1, timeout=60)[before].args
                search_ms.append((time.perf_counter() - t) * 1000)
                value = next(e["value"] for b in reply["blocks"] if b["type"] == "actions"
                             for e in b["elements"] if e["action_id"] == "content_helpful")
                item_id = value.split(":")[1]
                t = time.perf_counter()
                result = send.block_action("content_helpful", value)
                ack_ms.append((time.perf_counter() - t) * 1000)
                assert result.status == 200
                slack.wait_for("response_url", before + 2, timeout=60)
                reply_ms.append((time.perf_counter() - t) * 1000)
                phrasing = phrasing_of(queries[i % len(queries)])  # long pastes are stored shortened
                deadline = time.monotonic() + 300
                while phrasing not in services.content.index.get(item_id).learned:
                    assert time.monotonic() < deadline, "the index never learned the click"
                    time.sleep(0.02)
                learned_s.append(time.perf_counter() - t)
        finally:
            server.stop()
            services.close()
    return {"n": n, "populate_s": t_pop, "load_s": t_load, "search_ms": search_ms, "ack_ms": ack_ms,
            "reply_ms": reply_ms, "learned_s": learned_s}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--clicks", type=int, default=10)
    a = ap.parse_args(argv)
    queries = [q["query"] for q in load_queries(QUERIES)]
    mach = machine()
    print(f"machine: {mach}")
    print("| items | /content p50 / p95 (ms) | Helpful ack p50 / max (ms) | Thanks reply p50 / max (ms) "
          "| index learned p50 / max (s) |")
    print("|---|---|---|---|---|")
    for n in [int(s) for s in a.sizes.split(",")]:
        r = bench(n, a.clicks, queries)
        print(f"| {n:,} | {p(r['search_ms'], 50):.0f} / {p(r['search_ms'], 95):.0f} "
              f"| {p(r['ack_ms'], 50):.0f} / {max(r['ack_ms']):.0f} | {p(r['reply_ms'], 50):.0f} / "
              f"{max(r['reply_ms']):.0f} | {p(r['learned_s'], 50):.1f} / {max(r['learned_s']):.1f} |", flush=True)
        print(f"  (populate {r['populate_s']:.0f}s, index load {r['load_s']:.0f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
