"""How long the content report takes over a large history: 10k items, 100k searches (3 results
each), 35k share / Helpful / Not helpful events over 90 days, seeded with a fixed random seed.

    python benchmarks/bench_report.py                                   # SQLite file
    python benchmarks/bench_report.py --postgres postgresql+psycopg://user:pass@127.0.0.1/db
    python benchmarks/bench_report.py --items 1000 --searches 10000    # smaller, for a quick look

Measured per backend (median of --repeat runs): the aggregate queries (`build_report`), the
Slack reply's Block Kit, the CLI's table and CSV, and the chart PNG; plus the simple baseline of
fetching every search and event row and counting in Python. Slack needs the reply within 3 s of
the ack (the ack itself is immediate); the CLI target is 2 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from bot import migrate
from bot.content import report as report_mod
from bot.content.vocabulary import DEFAULT_PERSONAS, DEFAULT_STAGES, DEFAULT_TYPES
from bot.db import Database
from bot.models.content import ContentEvent, ContentItem, ContentSearch
from bot.render import content as render

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
QUERIES = ["too expensive", "we already use Vantage", "no budget this quarter", "security review takes months",
           "they need an on-prem install", "our CFO wants ROI proof", "the migration looks risky",
           "need SSO and SCIM", "Mandarin user interface", "data residency in the EU"]


def seed(db: Database, items: int, searches: int, seed_value: int = 7) -> None:
    rng = random.Random(seed_value)
    start = NOW - timedelta(days=90)
    with db.engine.begin() as conn:
        conn.execute(insert(ContentItem), [
            {"id": i, "url": f"https://content.example/{i}", "title": f"Item {i:05d} {rng.choice(QUERIES)}",
             "type": rng.choice(DEFAULT_TYPES), "stage": rng.choice(DEFAULT_STAGES),
             "persona": rng.choice(DEFAULT_PERSONAS), "summary": "", "objections": [], "created_at": start,
             "updated_at": start} for i in range(1, items + 1)])
        # A long tail: most searches show a few popular items, so plenty of items are never shown.
        popular = max(10, items // 3)
        rows = []
        for s in range(1, searches + 1):
            when = start + timedelta(seconds=rng.randrange(90 * 86400))
            shown = rng.sample(range(1, popular + 1), 3)
            rows.append({"id": s, "user_id": f"U{rng.randrange(200):04d}", "channel_id": "C0SALES",
                         "query": rng.choice(QUERIES) + ("" if rng.random() < 0.5 else f" #{rng.randrange(5000)}"),
                         "filters": {}, "result_ids": shown, "confident": rng.random() > 0.15,
                         "confidence": rng.random(), "gap_id": None, "created_at": when})
            if len(rows) == 10000:
                conn.execute(insert(ContentSearch), rows)
                rows = []
        if rows:
            conn.execute(insert(ContentSearch), rows)
        events = []
        for kind, count in (("share", searches // 5), ("helpful", searches // 10), ("not_helpful", searches // 20)):
            for _ in range(count):
                s = rng.randrange(1, searches + 1)
                events.append({"kind": kind, "user_id": "U0001", "channel_id": "C0SALES", "search_id": s,
                               "item_id": rng.randrange(1, popular + 1),
                               "created_at": start + timedelta(seconds=rng.randrange(90 * 86400))})
        for i in range(0, len(events), 10000):
            conn.execute(insert(ContentEvent), events[i:i + 10000])


def python_baseline(db: Database, period: report_mod.Period) -> int:
    """The simple way: fetch every row of the period and count in Python (shown, events, query counts)."""
    shown: Counter[int] = Counter()
    queries: Counter[str] = Counter()
    with db.session() as session:
        for ids, query in session.execute(select(ContentSearch.result_ids, ContentSearch.query).where(
                ContentSearch.created_at >= period.start, ContentSearch.created_at <= period.end)):
            shown.update(ids)
            queries[" ".join(query.lower().split())] += 1
        events = Counter(session.execute(select(ContentEvent.item_id, ContentEvent.kind).where(
            ContentEvent.created_at >= period.start, ContentEvent.created_at <= period.end)).all())
        items = session.execute(select(ContentItem.id, ContentItem.title)).all()
    return len(items) + len(shown) + len(events) + len(queries.most_common(10))


def per_item_baseline(db: Database, period: report_mod.Period, sample: int = 100) -> float:
    """What the report must not do: queries per item. Timed on `sample` items, scaled to the library."""
    with db.session() as session:
        ids = list(session.scalars(select(ContentItem.id).limit(sample)))
        total = session.scalar(select(func.count(ContentItem.id))) or 0
        started = time.perf_counter()
        for item_id in ids:
            session.scalar(select(func.count()).select_from(ContentSearch).where(
                ContentSearch.created_at >= period.start, ContentSearch.created_at <= period.end,
                func.json_extract(ContentSearch.result_ids, "$").like(f"%{item_id}%")))
            for kind in ("share", "helpful", "not_helpful"):
                session.scalar(select(func.count(ContentEvent.id)).where(
                    ContentEvent.item_id == item_id, ContentEvent.kind == kind,
                    ContentEvent.created_at >= period.start, ContentEvent.created_at <= period.end))
        return (time.perf_counter() - started) * total / max(1, len(ids))


def timed(fn, repeat: int) -> tuple[tuple[float, float], object]:
    """(median wall seconds, median CPU seconds of this process), and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return (statistics.median(walls), statistics.median(cpus)), result


def bench(url: str, items: int, searches: int, repeat: int) -> list[tuple[str, str, float]]:
    migrate.upgrade(url)
    db = Database(url)
    started = time.perf_counter()
    seed(db, items, searches)
    print(f"  seeded in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    rows = []
    for label, period_text in (("30 days", "30d"), ("all 90 days", "all")):
        period = report_mod.parse_period(period_text, NOW)

        def build(period=period):
            with db.session() as session:
                return report_mod.build_report(session, period)

        build_s, report = timed(build, repeat)
        rows.append((label, "build_report (aggregate SQL)", build_s))
        rows.append((label, "baseline: fetch rows, count in Python",
                     timed(lambda period=period: python_baseline(db, period), repeat)[0]))
        if db.engine.dialect.name == "sqlite":  # json_extract … LIKE is SQLite's spelling
            rows.append((label, "baseline: 4 queries per item (100 timed, scaled to all)",
                         (per_item_baseline(db, period), float("nan"))))
        rows.append((label, "Slack reply blocks", timed(lambda r=report: render.report_reply(r), repeat)[0]))
        rows.append((label, "CLI table", timed(lambda r=report: render.report_table(r), repeat)[0]))
        rows.append((label, "CLI CSV (every item)", timed(lambda r=report: render.report_csv(r), repeat)[0]))
        rows.append((label, "chart PNG", timed(lambda r=report: render.report_chart(r), max(1, repeat // 2))[0]))
        blocks_s = next(r[2] for r in rows[-4:] if r[1] == "Slack reply blocks")
        table_s = next(r[2] for r in rows[-4:] if r[1] == "CLI table")
        rows.append((label, "= Slack reply after the ack (build + blocks)",
                     (build_s[0] + blocks_s[0], build_s[1] + blocks_s[1])))
        rows.append((label, "= CLI report (build + table)", (build_s[0] + table_s[0], build_s[1] + table_s[1])))
    db.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", help="a PostgreSQL URL whose role may CREATE DATABASE (a scratch one is used)")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; {args.items} items, {args.searches} searches")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite…", file=sys.stderr)
        results += [("SQLite", *r) for r in bench(f"sqlite:///{tmp}/bench.db", args.items, args.searches, args.repeat)]
    if args.postgres:
        name = f"revalign_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            print("PostgreSQL…", file=sys.stderr)
            url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
            results += [("PostgreSQL", *r) for r in bench(url, args.items, args.searches, args.repeat)]
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print("\n| backend | period | step | wall s (median) | CPU s of this process |\n|---|---|---|---|---|")
    for backend, period, step, (wall, cpu) in results:
        print(f"| {backend} | {period} | {step} | {wall:.3f} | {cpu:.3f} |")


if __name__ == "__main__":
    main()
