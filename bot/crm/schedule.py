"""The daily CRM sync, from the scheduler's tick: claimed once per CRM and day (UNIQUE run_key
in crm_sync_runs), run in its own thread so deliveries keep ticking during a long sync."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from bot.models.crm import CrmSyncRun

log = logging.getLogger(__name__)

_running = threading.Lock()


def daily_key(settings, now: datetime) -> str | None:
    """'daily:hubspot:2026-11-24' once the day's sync hour has come, None before (or without a CRM)."""
    if not settings.crm:
        return None
    local = now.astimezone(ZoneInfo(settings.timezone))
    if local.hour < settings.crm_sync_hour:
        return None
    return f"daily:{settings.crm}:{local.date().isoformat()}"


def claim_daily(services, now: datetime) -> int | None:
    key = daily_key(services.settings, now)
    if key is None:
        return None
    try:
        with services.db.session() as session:
            run = CrmSyncRun(run_key=key, connector=services.settings.crm, status="running", started_at=now)
            session.add(run)
            session.flush()
            return run.id
    except IntegrityError:
        return None


def run_claimed(services, run_id: int) -> None:
    """Sync, then alerts; the run row records the outcome (`revalign crm runs` would list them)."""
    from bot.crm.alerts import post_breaches
    from bot.crm.sync import run_sync

    status, summary, records = "done", "", 0
    try:
        report = run_sync(services)
        records = report.records
        summary = report.summary()
        status = "stopped" if report.stopped else "done"
        alerts = post_breaches(services, services.settings.crm)
        summary += f"; {len(alerts.sent)} SLA alert(s) sent, {len(alerts.failed)} failed"
        log.info("CRM daily sync: %s", summary)
    except Exception as exc:  # noqa: BLE001 - recorded on the run; the next day runs again
        status, summary = "failed", f"{type(exc).__name__}: {str(exc)[:300]}"
        log.warning("CRM daily sync failed: %s", summary)
    with services.db.session() as session:
        run = session.get(CrmSyncRun, run_id)
        run.status, run.summary, run.records, run.finished_at = status, summary, records, services.now()


def on_tick(services, now: datetime, *, background: bool = True) -> threading.Thread | None:
    """The scheduler hook: never raises, returns the sync thread when it started one."""
    try:
        if not services.settings.crm or _running.locked():
            return None
        run_id = claim_daily(services, now)
        if run_id is None:
            return None
    except Exception:
        log.exception("CRM daily sync could not be claimed")
        return None

    def work() -> None:
        with _running:
            run_claimed(services, run_id)

    if not background:
        work()
        return None
    thread = threading.Thread(target=work, name="crm-sync", daemon=True)
    thread.start()
    return thread
