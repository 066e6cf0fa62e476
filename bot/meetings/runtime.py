"""Scheduler start-up: an APScheduler BackgroundScheduler that ticks every 30 s (and once at
start-up, for catch-up); each tick runs `run_due` only while this process holds the database lease."""

from __future__ import annotations

import logging
import threading

from bot.services import Services

log = logging.getLogger(__name__)

TICK_SECONDS = 30


def make_tick(services: Services, holder: str):
    from bot.meetings.delivery import tick

    def run() -> None:
        try:
            report = tick(services, holder)
        except Exception:  # noqa: BLE001 - a bad tick must not stop the scheduler
            log.exception("scheduler tick failed")
            return
        if report is None:
            log.debug("scheduler: another process holds the lease")
        elif report.sent or report.failed or report.missed or report.unconfirmed:
            log.info("scheduler: %s", report.summary())

    return run


def start_background_scheduler(services: Services):
    """Start ticking in the background; returns the APScheduler scheduler (call .shutdown() to stop)."""
    from datetime import datetime, timezone

    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.meetings.delivery import new_holder_id, release_lease

    holder = new_holder_id()
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    scheduler.add_job(make_tick(services, holder), "interval", seconds=TICK_SECONDS, id="revalign-deliveries",
                      next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True)
    scheduler.start()
    log.info("scheduler started as %s (lease-guarded)", holder)

    original_close = services.close

    def close() -> None:
        if scheduler.running:
            scheduler.shutdown(wait=True)
        try:
            release_lease(services.db, holder, services.now())
        except Exception:  # noqa: BLE001
            pass
        original_close()

    services.close = close  # type: ignore[method-assign]
    return scheduler


def run_forever(services: Services, stop: threading.Event | None = None) -> None:
    """`revalign scheduler`: tick in the foreground until interrupted."""
    from bot.meetings.delivery import new_holder_id, release_lease

    stop = stop or threading.Event()
    holder = new_holder_id()
    run = make_tick(services, holder)
    try:
        while not stop.is_set():
            run()
            stop.wait(TICK_SECONDS)
    finally:
        release_lease(services.db, holder, services.now())
