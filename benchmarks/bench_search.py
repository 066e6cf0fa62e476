#!/usr/bin/env python
"""Speed / memory benchmark of content_index (not run by CI).

    python benchmarks/bench_search.py [--sizes 1000,10000,100000] [--queries 300] [--out benchmarks/README.md]

Synthetic libraries recombine the eval library (benchmarks/data/library.jsonl):
each item takes a base item's title with a variation (segment / industry /
edition), 2-4 summary sentences (mostly the base item's, one from a random
item) and the base tags plus sometimes a random tag. Titles and whole-doc texts
are therefore unique per item; sentences and tags come from a pool of ~480
texts, as they would in a real library that reuses boilerplate.

Embedding honesty: up to --embed-limit items (default 10,000) every text is
really embedded by the model. Beyond that (the 100k run) the unique texts of
item i reuse the vectors of item (i mod limit) plus small Gaussian noise
(cosine ~0.97 to the source), injected into the embedding cache before the
build. So the 100k build rate measures indexing with a warm cache, not the
model; the model's own rate is the cold 1k / 10k figure.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from content_index import ContentDoc, ContentIndex, Embedder, InMemoryEmbeddingCache, text_hash  # noqa: E402
from content_index.documents import split_sentences  # noqa: E402
from content_index.shorthand import expand_shorthand  # noqa: E402
from content_index.evaluation import load_library, load_queries  # noqa: E402
from content_index.index import _doc_text, _fragments  # noqa: E402
from content_index.lexical import tokenize  # noqa: E402

DATA = ROOT / "benchmarks" / "data"

SEGMENTS = ["mid-market", "enterprise", "SMB", "EMEA", "APAC", "North America", "public sector",
            "fintech", "healthcare", "retail", "manufacturing", "SaaS", "logistics", "media",
            "education", "insurance", "travel", "gaming", "telecom", "energy"]
FORMATS = ["2025 edition", "2026 edition", "v2", "short version", "deep dive", "for sales leaders",
           "for CFOs", "for IT", "quick guide", "FAQ", "checklist", "one-pager", "webinar recap",
           "field guide", "playbook", "update", "primer", "explainer", "benchmark", "walkthrough"]


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> dict:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    import torch
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram": mem, "python": platform.python_version(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "numpy": np.__version__}


def synthesize(base: list[ContentDoc], n: int, seed: int = 7) -> list[ContentDoc]:
    rng = random.Random(seed)
    sents = {d.id: split_sentences(d.summary) for d in base}
    all_sents = [s for v in sents.values() for s in v]
    all_tags = sorted({t for d in base for t in d.objections})
    out = []
    for i in range(n):
        b = base[i % len(base)]
        seg = SEGMENTS[(i // len(base)) % len(SEGMENTS)]
        fmt = FORMATS[(i // (len(base) * len(SEGMENTS))) % len(FORMATS)]
        serial = i // (len(base) * len(SEGMENTS) * len(FORMATS))
        title = f"{b.title} — {seg}, {fmt}" + (f" #{serial}" if serial else "")
        own = list(sents[b.id])
        rng.shuffle(own)
        body = own[: rng.randint(1, max(1, len(own)))] + [rng.choice(all_sents)]
        rng.shuffle(body)
        tags = list(b.objections)
        if rng.random() < 0.3:
            tags.append(rng.choice(all_tags))
        out.append(ContentDoc(id=f"s{i:06d}", title=title, summary=" ".join(body), type=b.type,
                              stage=b.stage, persona=b.persona, objections=tuple(dict.fromkeys(tags))))
    return out


def doc_texts(d: ContentDoc) -> list[str]:
    return [t for _, t in _fragments(d)] + [_doc_text(d)]


def inject_noisy_vectors(docs, limit, cache, model_id, dim, seed=11):
    """For items beyond `limit`, give every text not yet in the cache a noisy copy of
    a vector of item (i mod limit): same view kind where it has one (title -> title,
    doc -> doc, k-th sentence -> k-th sentence), else its doc vector."""
    rng = np.random.default_rng(seed)
    sigma = 0.25 / np.sqrt(dim)  # |noise| ~ 0.25  ->  cosine ~ 0.97
    for start in range(limit, len(docs), 5000):
        batch = {}
        for i in range(start, min(len(docs), start + 5000)):
            src = doc_texts(docs[i % limit])
            dst = doc_texts(docs[i])
            dst_h = [text_hash(t) for t in dst]
            have = cache.get_many(model_id, dst_h)
            todo = [(j, h) for j, h in enumerate(dst_h) if h not in have and h not in batch]
            if not todo:
                continue
            src_h = [text_hash(t) for t in src]
            src_v = cache.get_many(model_id, src_h)
            for j, h in todo:
                if j == len(dst) - 1 or j >= len(src) - 1:
                    v = src_v[src_h[-1]]  # doc vector
                else:
                    v = src_v[src_h[j]]
                w = v + rng.normal(0, sigma, dim).astype(np.float32)
                batch[h] = (w / np.linalg.norm(w)).astype(np.float32)
        cache.put_many(model_id, batch)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def render(index: ContentIndex, res) -> list[dict]:
    out = []
    for h in res.hits:
        d = index.get(h.doc_id)
        out.append({"id": h.doc_id, "title": d.title if d else "", "type": d.type if d else "",
                    "score": round(h.score, 3), "why": f"{h.reason_kind}: {h.reason}"})
    return out


def time_queries(fn, queries, reps=1):
    ts = []
    for _ in range(reps):
        for q in queries:
            t0 = time.perf_counter()
            fn(q)
            ts.append((time.perf_counter() - t0) * 1000)
    return ts


def bench_size(n, base, queries, emb, cache, embed_limit, rows, notes, n_queries):
    docs = synthesize(base, n)
    uniq = len({h for d in docs[: min(n, embed_limit)] for h in map(text_hash, doc_texts(d))})
    if n > embed_limit:
        t0 = time.perf_counter()
        # the first `embed_limit` items are embedded for real (cached from the previous size)
        ContentIndex(emb, cache).upsert(docs[:embed_limit])
        inject_noisy_vectors(docs, embed_limit, cache, emb.model_id, emb.dim)
        notes.append(f"{n:,}: items beyond {embed_limit:,} use noisy copies of real vectors "
                     f"(prepared in {time.perf_counter() - t0:.0f}s, not counted)")
    gc.collect()
    r0 = rss_mb()
    idx = ContentIndex(emb, cache)
    t0 = time.perf_counter()
    st = idx.upsert(docs)
    build_s = time.perf_counter() - t0
    r1 = rss_mb()
    snap = idx._snap
    arrays_mb = (snap.doc_mat.nbytes + snap.frag_mat.nbytes + snap.bm25.nbytes) / 2**20
    cold = st.embedded > 0
    row = {"n": n, "fragments": int(snap.frag_mat.shape[0]), "unique_texts": uniq,
           "build_s": build_s, "build_rate": n / build_s, "embedded": st.embedded, "reused": st.reused,
           "cold": cold, "rss_delta_mb": r1 - r0, "arrays_mb": arrays_mb}
    # warm build: a fresh index (bot restart) with the cache filled
    if cold:
        idx2 = ContentIndex(emb, cache)
        t0 = time.perf_counter()
        st2 = idx2.upsert(docs)
        row["warm_build_s"] = time.perf_counter() - t0
        row["warm_embedded"] = st2.embedded
        del idx2
    else:
        row["warm_build_s"] = build_s
        row["warm_embedded"] = st.embedded
    # re-upsert unchanged into the same index
    t0 = time.perf_counter()
    st3 = idx.upsert(docs)
    row["reupsert_same_s"] = time.perf_counter() - t0
    row["reupsert_embedded"] = st3.embedded
    gc.collect()

    qtexts = [q["query"] for q in queries]
    qtexts = (qtexts * (n_queries // len(qtexts) + 1))[:n_queries]
    # warm-up
    for q in qtexts[:10]:
        idx.search(q, k=3)
    lat = {}
    lat["embed only"] = time_queries(lambda q: emb.encode([q]), qtexts)
    lat["hybrid (shipped)"] = time_queries(lambda q: render(idx, idx.search(q, k=3)), qtexts)
    # keyed by what the index embeds: the query with rep shorthand spelled out ("w/" -> "with")
    qv_cache = {expand_shorthand(q): emb.encode([expand_shorthand(q)])[0] for q in set(qtexts)}
    lat["hybrid, retrieve only"] = time_queries(
        lambda q: _hybrid_no_embed(idx, q, qv_cache), qtexts)
    doc_mat = snap.doc_mat

    def brute_dense(q):
        qv = emb.encode([q])[0]
        s = doc_mat @ qv
        top = np.argpartition(-s, 3)[:3]
        top = top[np.argsort(-s[top])]
        return [{"id": snap.ids[j], "title": snap.records[j].doc.title, "score": float(s[j])} for j in top]

    lat["baseline: exact dense 1-vec"] = time_queries(brute_dense, qtexts)

    def bm25_only(q):
        s, b = snap.bm25.scores(idx._vocab.lookup(tokenize(q)))
        top = np.argpartition(-s, 3)[:3]
        top = top[np.argsort(-s[top])]
        return [{"id": snap.ids[j], "title": snap.records[j].doc.title, "score": float(s[j])} for j in top]

    lat["baseline: BM25 only"] = time_queries(bm25_only, qtexts)
    if n > 300:
        # exhaustive multi-vector rerank of every item vs the shipped two-stage: agreement of top-5
        full = ContentIndex(emb, cache, candidates=n + 1)
        full._records, full._vocab, full._snap = idx._records, idx._vocab, idx._snap
        lat["hybrid exhaustive (no first stage)"] = time_queries(
            lambda q: render(full, full.search(q, k=3)), qtexts[:100])
        agree = []
        for q in set(qtexts):
            a = [h.doc_id for h in idx.search(q, k=5).hits]
            b = [h.doc_id for h in full.search(q, k=5).hits]
            agree.append(len(set(a) & set(b)) / max(1, len(b)))
        row["two_stage_top5_agreement"] = float(np.mean(agree))
    row["latency"] = {k: (statistics.median(v), pct(v, 95)) for k, v in lat.items()}
    row["loadavg_1m"] = os.getloadavg()[0]
    rows.append(row)
    print(json.dumps(row, default=float), flush=True)
    del idx
    gc.collect()


def _hybrid_no_embed(idx, q, qv_cache):
    class _E:
        model_id = idx.embedder.model_id
        dim = idx.embedder.dim

        @staticmethod
        def encode(texts):
            return np.stack([qv_cache[t] for t in texts])
    real = idx.embedder
    idx.embedder = _E()
    try:
        return idx.search(q, k=3)
    finally:
        idx.embedder = real


def write_results(path, mach, rows, notes, args):
    L = []
    L.append("## Speed and memory (generated)\n")
    L.append(f"Generated by `python benchmarks/bench_search.py --sizes {args.sizes}` on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n")
    L.append("### Machine\n")
    L.append(f"- nproc: {mach['nproc']}; CPU: {mach['cpu']}; RAM: {mach['ram']}")
    L.append(f"- Python {mach['python']}, torch {mach['torch']} ({mach['torch_threads']} threads), "
             f"numpy {mach['numpy']}; model all-MiniLM-L6-v2 (bundled), CPU\n")
    L.append("### Build\n")
    L.append("| items | fragments | unique texts embedded | cold build (s) | cold items/s | warm build (s) "
             "| warm items/s | re-upsert unchanged (s) | embedded on re-upsert | RSS delta (MB) | index arrays (MB) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cold = f"{r['build_s']:.1f}" if r["cold"] else "n/a (warm)"
        cold_rate = f"{r['build_rate']:.0f}" if r["cold"] else "n/a"
        L.append(f"| {r['n']:,} | {r['fragments']:,} | {r['embedded']:,} | {cold} | {cold_rate} | "
                 f"{r['warm_build_s']:.2f} | {r['n'] / r['warm_build_s']:.0f} | {r['reupsert_same_s']:.3f} | "
                 f"{r['reupsert_embedded']} | {r['rss_delta_mb']:.0f} | {r['arrays_mb']:.0f} |")
    L.append("")
    L.append("1-minute load average when each size's latency run finished (the machine is shared with "
             "other work; anything above ~0.5 beyond this benchmark's own load inflates p95): " + ", ".join(
             f"{r['n']:,}: {r.get('loadavg_1m', float('nan')):.2f}" for r in rows))
    L.append("")
    L.append("Warm build = a fresh `ContentIndex` (bot restart) upserting the whole library with every text "
             "already in the embedding cache (model + text hash): nothing is embedded. "
             "Re-upsert unchanged = the same docs upserted again into the live index.\n")
    L.append("### Search latency (ms, p50 / p95), k=3\n")
    keys = list(rows[0]["latency"]) if rows else []
    for r in rows:
        for k in r["latency"]:
            if k not in keys:
                keys.append(k)
    L.append("| path | " + " | ".join(f"{r['n']:,} items" for r in rows) + " |")
    L.append("|---|" + "---|" * len(rows))
    for k in keys:
        cells = []
        for r in rows:
            v = r["latency"].get(k)
            cells.append(f"{v[0]:.1f} / {v[1]:.1f}" if v else "-")
        L.append(f"| {k} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("`hybrid (shipped)` = embed query + first stage + multi-vector rerank + confidence + render to "
             "a list of dicts. `retrieve only` excludes the query embedding. Baselines: `exact dense 1-vec` "
             "= embed + brute-force matmul over one title+summary vector per item; `BM25 only` = no embedding.\n")
    agree = [r for r in rows if "two_stage_top5_agreement" in r]
    if agree:
        L.append("Two-stage vs exhaustive multi-vector rerank, top-5 overlap: " + ", ".join(
            f"{r['n']:,}: {r['two_stage_top5_agreement']:.3f}" for r in agree) + "\n")
    if notes:
        L.append("### Notes\n")
        for n in notes:
            L.append(f"- {n}")
        L.append("")
    block = "\n".join(L).strip() + "\n"
    p = Path(path)
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    text = p.read_text() if p.exists() else ""
    if start in text and end in text:  # keep the hand-written sections around the generated block
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1]
        p.write_text(f"{head}{start}\n{block}{end}{tail}")
    else:
        p.write_text(f"{text}{start}\n{block}{end}\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=300, help="searches per size")
    ap.add_argument("--embed-limit", type=int, default=10000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "README.md"),
                    help="markdown file; the generated block replaces the one between the bench markers")
    ap.add_argument("--json", default=None)
    ap.add_argument("--merge-log", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--cache-file", default=None,
                    help="npz of embeddings: saved after the first run that embeds --embed-limit items, "
                         "loaded by later runs to skip re-embedding (sizes above 1,000)")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    base = load_library(DATA / "library.jsonl")
    queries = load_queries(DATA / "queries-dev.jsonl")
    mach = machine()
    print(json.dumps(mach), flush=True)
    t0 = time.perf_counter()
    emb = Embedder()
    print(f"model load {time.perf_counter() - t0:.1f}s", flush=True)
    cache = InMemoryEmbeddingCache()
    rows, notes = [], []
    if args.merge_log:  # rows of sizes measured by an earlier run (JSON lines of its stdout)
        for line in Path(args.merge_log).read_text().splitlines():
            if line.startswith('{"n":'):
                r = json.loads(line)
                if r["n"] not in sizes:
                    rows.append(r)
        notes.append(f"sizes {', '.join(f'{r[chr(110)]:,}' for r in rows)} come from an earlier run of this "
                     f"script (same code) whose output was merged with --merge-log")
    for n in sizes:
        if args.cache_file and n > 1000 and Path(args.cache_file).exists() and not getattr(cache, "_loaded", 0):
            z = np.load(args.cache_file)
            cache.put_many(emb.model_id, {h: z[h] for h in z.files})
            cache._loaded = 1
            notes.append(f"sizes above 1,000 started from a saved embedding cache ({len(z.files):,} vectors, "
                         f"{args.cache_file}); their 'cold' figures are therefore warm")
        bench_size(n, base, queries, emb, cache, args.embed_limit, rows, notes, args.queries)
        if args.cache_file and not Path(args.cache_file).exists() and n >= args.embed_limit:
            data = {h: v for (m, h), v in cache._data.items() if m == emb.model_id}
            np.savez(args.cache_file, **data)
    rows.sort(key=lambda r: r["n"])
    write_results(args.out, mach, rows, notes, args)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": mach, "rows": rows, "notes": notes}, default=float))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
