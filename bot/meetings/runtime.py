"""The scheduler's process life: keep the database lease and tick while holding it.

Two threads: the *lease keeper* takes or renews the lease every RENEW_SECONDS (so a crashed
holder is replaced within about LEASE_TTL + RENEW_SECONDS), and the *ticker* runs
`delivery.tick` every TICK_SECONDS — and at once when this process has just taken the lease,
for catch-up. `stop()` lets the current tick finish (bounded), then releases the lease so a
standby takes over at its next renewal instead of waiting for the lease to expire.
"""

from __future__ import annotations

import logging
import threading
import time

from bot.meetings.delivery import (
    LEASE_TTL,
    acquire_lease,
    new_holder_id,
    release_lease,
    tick,
)
from bot.services import Services

log = logging.getLogger(__name__)

TICK_SECONDS = 30
RENEW_SECONDS = 3
STOP_SECONDS = 20.0
assert RENEW_SECONDS * 3 <= LEASE_TTL.total_seconds(), "renew well within the lease"


class Scheduler:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.holder = new_holder_id()
        self.holding = False
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- life -----------------------------------------------------------------------------
    def start(self) -> Scheduler:
        self._threads = [
            threading.Thread(target=self._keep_lease, name="scheduler-lease", daemon=True),
            threading.Thread(target=self._tick_loop, name="scheduler-tick", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        log.info("scheduler started as %s (lease-guarded)", self.holder)
        return self

    def stop(self, timeout: float = STOP_SECONDS) -> bool:
        """Finish the tick in progress (at most `timeout` s), then release the lease.
        False if the tick was still running when time ran out."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
        finished = not any(t.is_alive() for t in self._threads)
        try:
            release_lease(self.services.db, self.holder, self.services.now())
        except Exception as exc:  # noqa: BLE001 - the lease then simply expires
            log.warning("scheduler: could not release the lease (%s); it expires on its own", exc)
        self.holding = False
        return finished

    def run_forever(self, stop: threading.Event) -> bool:
        """`revalign scheduler`: run until `stop` is set (a signal), then stop cleanly."""
        self.start()
        while not stop.wait(1.0):
            pass
        return self.stop()

    # --- the threads --------------------------------------------------------------------------
    def _keep_lease(self) -> None:
        while not self._stopping.is_set():
            try:
                held = acquire_lease(self.services.db, self.holder, self.services.now())
            except Exception as exc:  # noqa: BLE001 - the database is down: try again next time
                log.warning("scheduler: cannot renew the lease (%s)", exc)
                held = False
            if held and not self.holding:
                log.info("scheduler: %s holds the lease", self.holder)
                self._wake.set()
            self.holding = held
            self._stopping.wait(RENEW_SECONDS)

    def _tick_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(TICK_SECONDS)
            self._wake.clear()
            if self._stopping.is_set():
                return
            if self.holding:
                self.run_tick()

    def run_tick(self) -> None:
        try:
            report = tick(self.services, self.holder)
        except Exception:
            log.exception("scheduler tick failed")
            return
        if report is None:
            log.debug("scheduler: another process holds the lease")
        elif report.sent or report.failed or report.missed or report.unconfirmed:
            log.info("scheduler: %s", report.summary())


def start_background_scheduler(services: Services) -> Scheduler:
    """`revalign serve`'s in-process scheduler; call `.stop()` before closing the services."""
    return Scheduler(services).start()
