"""Time `revalign content import` of a synthetic 10k-item library: first import, then an unchanged re-import.

    python benchmarks/bench_import.py [--items 10000] [--workdir DIR]

The library recombines the eval library's titles, sentences and tags (benchmarks/data/library.jsonl)
with a running number, so every item is distinct while sentences repeat, as they do in real libraries.
It runs the real CLI in a subprocess against a fresh SQLite file and prints one Markdown table row per run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def synthesize(items: int, out: Path) -> None:
    library = [json.loads(line) for line in (ROOT / "benchmarks/data/library.jsonl").read_text().splitlines() if line]
    rng = random.Random(7)
    with out.open("w") as fh:
        for i in range(items):
            base = library[i % len(library)]
            other = library[rng.randrange(len(library))]
            sentences = [s for s in (base["summary"] + " " + other["summary"]).split(". ") if s]
            summary = ". ".join(rng.sample(sentences, k=min(3, len(sentences))))
            row = {
                "title": f"{base['title']} ({i // len(library) + 1})",
                "url": f"https://content.example/bench/{i}",
                "type": base["type"], "stage": base["stage"], "persona": base["persona"],
                "summary": summary,
                "objections": sorted(set(base["objections"]) | set(rng.sample(other["objections"], k=min(1, len(other["objections"]))))),
            }
            fh.write(json.dumps(row) + "\n")


def timed_import(path: Path, database: Path) -> tuple[float, str]:
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{database}", HF_HUB_OFFLINE="1")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "bot.cli", "content", "import", str(path)],
                            env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return elapsed, result.stdout.strip().splitlines()[-3:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="revalign-bench-"))
    library, database = workdir / "library.jsonl", workdir / "bench.db"
    synthesize(args.items, library)
    print(f"| run | items | wall time (s) | report |\n|---|---|---|---|")
    for label in ("first import (empty database)", "re-import, unchanged"):
        elapsed, report = timed_import(library, database)
        print(f"| {label} | {args.items:,} | {elapsed:.1f} | {' / '.join(report)} |", flush=True)


if __name__ == "__main__":
    main()
