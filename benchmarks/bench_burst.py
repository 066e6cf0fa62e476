"""Ack latency under a burst: N simultaneous signed `/content` requests against the real app over HTTP.

    python benchmarks/bench_burst.py [--requests 100] [--rounds 2]

The app (real Bolt app, Flask, waitress; a fresh SQLite file with the demo library
of 160 items; the bundled embedding model) runs in this process against the tests'
fake Slack on 127.0.0.1. All requests are released at once from N threads of a
separate client process (so the client does not share the app's GIL);
the ack latency is the time until the HTTP response arrives (what Slack's 3 s
timeout measures), the answer time is until the reply reached the response_url.
Each configuration runs `--rounds` times in the same process and run: the old one
(Bolt's default 5 listener workers, 8 waitress threads), larger pools alone, and the
shipped settings (larger pools plus the work gate, `handlers/registry.WorkGate`).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

QUERIES = [
    "we're 2x the price of Vantage",
    "our CFO says no budget this quarter",
    "they need an on-prem install",
    "security review will take months",
    "we already use a competitor",
    "the migration looks risky",
    "legal wants a DPA first",
    "not a priority right now",
    "your integration with Salesforce is weak",
    "we can't get buy-in from IT",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def fire(app_url: str, slack_base_url: str, requests: int) -> tuple[list[float], list[int]]:
    """The burst, from its own process (Slack is not in the app's process either): N threads released at once."""
    from tests.slack_requests import SlackSender

    class ResponseUrls:  # what SlackSender needs from a fake Slack: where replies go
        def response_url(self) -> str:
            return f"{slack_base_url}/response/{uuid.uuid4().hex}"

    sender = SlackSender(app_url, ResponseUrls())
    barrier = threading.Barrier(requests)
    acks: list[float] = [0.0] * requests
    statuses: list[int] = [0] * requests

    def one(i: int) -> None:
        barrier.wait()
        start = time.perf_counter()
        result = sender.command("/content", QUERIES[i % len(QUERIES)], user_id=f"U0REP{i:04d}")
        acks[i] = time.perf_counter() - start
        statuses[i] = result.status

    threads = [threading.Thread(target=one, args=(i,)) for i in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acks, statuses


def run_burst(services, slack, listener_threads: int, http_threads: int, work_slots: int, requests: int) -> dict:
    from bot.app import create_app
    from bot.server import HttpServer, create_http_app
    from tests.slack_requests import SlackSender

    executor = ThreadPoolExecutor(max_workers=listener_threads, thread_name_prefix="listener")
    shipped = services.settings
    services.settings = shipped.model_copy(update={"work_slots": work_slots})
    try:
        bolt_app, _ = create_app(services, listener_executor=executor)
    finally:
        services.settings = shipped
    server = HttpServer(create_http_app(services, bolt_app), port=0, threads=http_threads).start()
    try:
        before = len(slack.calls_to("response_url"))
        SlackSender(server.url, slack).command("/content", "warm up the path")  # first-request costs
        slack.wait_for("response_url", before + 1, timeout=30)
        before = len(slack.calls_to("response_url"))
        released = time.perf_counter()
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as client:
            acks, statuses = client.submit(fire, server.url, slack.base_url, requests).result()
        slack.wait_for("response_url", before + requests, timeout=300)
        answered = time.perf_counter() - released
    finally:
        server.stop()
        executor.shutdown(wait=True)
    return {
        "p50": statistics.median(acks),
        "p95": percentile(acks, 0.95),
        "max": max(acks),
        "within_3s": sum(1 for a, s in zip(acks, statuses, strict=True) if a <= 3.0 and s == 200),
        "ok": sum(1 for s in statuses if s == 200),
        "answered": answered,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from bot import migrate
    from bot.content import demo as content_demo
    from bot.services import Services
    from bot.settings import load_settings
    from tests.fake_slack import FakeSlack
    from tests.slack_requests import SIGNING_SECRET

    workdir = Path(tempfile.mkdtemp(prefix="revalign-burst-"))
    url = f"sqlite:///{workdir / 'burst.db'}"
    migrate.upgrade(url)
    with FakeSlack() as slack:
        settings = load_settings(
            DATABASE_URL=url,
            SLACK_BOT_TOKEN="xoxb-bench-0000",
            _env_file=None,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack.api_url,
        )
        services = Services(settings)
        content_demo.seed(services)
        services.start()
        threads, http, slots = settings.listener_threads, settings.http_threads, settings.work_slots
        configs = [
            ("old: Bolt's default 5 listener workers, 8 HTTP threads, no work gate", 5, 8, 0),
            (f"larger pools only: {threads} listener / {http} HTTP threads, no work gate", threads, http, 0),
            (f"shipped: {threads} listener / {http} HTTP threads, {slots} work slots", threads, http, slots),
        ]
        print(
            f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}; "
            f"{args.requests} simultaneous /content, {args.rounds} rounds each, load average "
            f"{os.getloadavg()[0]:.1f} at start",
            file=sys.stderr,
        )
        print(
            "| configuration | round | ack p50 (s) | ack p95 (s) | ack max (s) | acked within 3 s "
            "| all answered after (s) |"
        )
        print("|---|---|---|---|---|---|---|")
        for round_no in range(1, args.rounds + 1):
            for label, listener_threads, http_threads, work_slots in configs:
                r = run_burst(services, slack, listener_threads, http_threads, work_slots, args.requests)
                print(
                    f"| {label} | {round_no} | {r['p50']:.2f} | {r['p95']:.2f} | {r['max']:.2f} | "
                    f"{r['within_3s']}/{args.requests} | {r['answered']:.1f} |",
                    flush=True,
                )
        services.close()
        if slack.violations:
            print("fake Slack refused payloads:", *slack.violations[:5], sep="\n", file=sys.stderr)
    print(f"load average at end {os.getloadavg()[0]:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
