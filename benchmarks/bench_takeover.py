"""Scheduler takeover time: real `revalign scheduler` processes on SQLite and PostgreSQL.

Each round: A holds the lease, B is a standby. SIGKILL A → time until B holds the lease
(a crash: the lease must expire). Then C joins as a standby; SIGTERM B → time until C holds it
(a graceful stop releases the lease). Prints a table.

    python benchmarks/bench_takeover.py --rounds 3 [--postgres postgresql+psycopg://user:pw@127.0.0.1/db]

The PostgreSQL URL needs CREATEDB (a scratch database is created and dropped).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import migrate  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.meetings.delivery import LEASE_TTL, lease_holder  # noqa: E402
from bot.meetings.runtime import RENEW_SECONDS  # noqa: E402


def start(database_url: str, workdir: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REVALIGN_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": "xoxb-bench-0000",
                "SLACK_API_URL": "http://127.0.0.1:9/api/", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)})
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "scheduler"], env=env, cwd=workdir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_holder(db: Database, process: subprocess.Popen, timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lease = lease_holder(db, datetime.now(UTC))
        if lease is not None and f":{process.pid}:" in lease.holder:
            return time.monotonic()
        time.sleep(0.05)
    raise RuntimeError(f"process {process.pid} never took the lease")


def rounds(database_url: str, count: int) -> tuple[list[float], list[float]]:
    db = Database(database_url)
    killed, stopped = [], []
    with tempfile.TemporaryDirectory() as workdir:
        holder = start(database_url, workdir)
        wait_holder(db, holder)
        try:
            for _ in range(count):
                standby = start(database_url, workdir)
                time.sleep(4)
                holder.send_signal(signal.SIGKILL)
                t0 = time.monotonic()
                holder.wait()
                killed.append(wait_holder(db, standby) - t0)
                holder, standby = standby, start(database_url, workdir)
                time.sleep(4)
                holder.send_signal(signal.SIGTERM)
                t0 = time.monotonic()
                stopped.append(wait_holder(db, standby) - t0)
                holder.wait(timeout=30)
                holder = standby
        finally:
            holder.kill()
    db.dispose()
    return killed, stopped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("REVALIGN_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        results.append(("SQLite", *rounds(url, args.rounds)))
    if args.postgres:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = f"revalign_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
        try:
            migrate.upgrade(url)
            results.append(("PostgreSQL", *rounds(url, args.rounds)))
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"lease {LEASE_TTL.total_seconds():.0f} s, renewed/tried every {RENEW_SECONDS} s; {args.rounds} rounds")
    print("| backend | after SIGKILL: median (min–max) | after SIGTERM: median (min–max) |")
    print("| --- | --- | --- |")
    for backend, killed, stopped in results:
        print(f"| {backend} | {statistics.median(killed):.1f} s ({min(killed):.1f}–{max(killed):.1f}) | "
              f"{statistics.median(stopped):.1f} s ({min(stopped):.1f}–{max(stopped):.1f}) |")


if __name__ == "__main__":
    main()
