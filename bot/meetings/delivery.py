"""Exactly-once delivery of agendas and digests, driven by a clock: `run_due(services, now)`.

Design (see also docs in the report):
- Every occurrence × recipient has a key (schedule_id, period, recipient), UNIQUE in `deliveries`.
  A process *claims* a delivery by INSERTing that row with status "sending" in its own
  transaction; an IntegrityError means another process (or an earlier run) has it. Only the
  claimer talks to Slack, then records "sent" (with the message ts) or "failed".
- Failed deliveries are re-claimed with a conditional UPDATE (… WHERE status='failed' AND
  attempts = <seen>), so two processes never retry the same row at once; backoff doubles
  from 1 minute to 1 hour, at most MAX_ATTEMPTS attempts.
- An occurrence found later than its grace period (the bot was down) is recorded "missed",
  never sent; one within it is sent once on start-up.
- A claim stuck in "sending" (the process died mid-send) is the one case Slack cannot make
  idempotent. Agenda posts carry message metadata with the key; recovery looks for that
  message in the channel's history: found → recorded "sent" (no second post); history
  answered and the message is not there → re-claimed and sent; cannot tell (digest DMs,
  history not readable) → recorded "unconfirmed" and NOT resent automatically — it shows in
  `revalign deliveries`, and `revalign deliveries resend ID` sends it on purpose.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.meetings import schedules as sch
from bot.meetings.reminders import send_action_reminders
from bot.models.scheduling import Delivery, Schedule, SchedulerLease

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
SENDING_TIMEOUT = timedelta(minutes=10)
LEASE_TTL = timedelta(seconds=90)
LEASE_NAME = "scheduler"
METADATA_EVENT = "revalign_delivery"


def new_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


def delivery_key(schedule_id: int, period: str, recipient: str) -> str:
    return f"{schedule_id}:{period}:{recipient}"


@dataclass
class RunReport:
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # claimed by someone else
    closed_items: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.sent)} sent", f"{len(self.failed)} failed", f"{len(self.missed)} missed",
                 f"{len(self.unconfirmed)} unconfirmed", f"{self.closed_items} agenda item(s) closed"]
        return ", ".join(parts)


# --- the lease ------------------------------------------------------------------------------
def acquire_lease(db, holder: str, now: datetime, ttl: timedelta = LEASE_TTL) -> bool:
    """Take or renew the scheduler lease; True if `holder` has it until now + ttl."""
    try:
        with db.session() as session:
            result = session.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == LEASE_NAME,
                       or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now))
                .values(holder=holder, expires_at=now + ttl)
            )
            if result.rowcount == 1:
                return True
            if session.get(SchedulerLease, LEASE_NAME) is not None:
                return False
        with db.session() as session:
            session.add(SchedulerLease(name=LEASE_NAME, holder=holder, acquired_at=now, expires_at=now + ttl))
        return True
    except (IntegrityError, OperationalError):
        return False


def release_lease(db, holder: str, now: datetime) -> None:
    with db.session() as session:
        session.execute(update(SchedulerLease)
                        .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder)
                        .values(expires_at=now - timedelta(seconds=1)))


def lease_holder(db, now: datetime) -> SchedulerLease | None:
    with db.session() as session:
        lease = session.get(SchedulerLease, LEASE_NAME)
        return lease if lease and lease.expires_at >= now else None


def tick(services, holder: str, now: datetime | None = None) -> RunReport | None:
    """One scheduler tick: run due deliveries if this process holds (or takes) the lease."""
    now = now or services.now()
    if not acquire_lease(services.db, holder, now):
        return None
    report = run_due(services, now, holder=holder)
    from bot.crm.schedule import on_tick as crm_daily_sync  # the daily CRM sync (bot/crm), own thread

    crm_daily_sync(services, now)
    return report


# --- the core ----------------------------------------------------------------------------------
@dataclass
class _Due:
    schedule: Schedule
    period: str
    recipient: str
    due_at: datetime
    event_at: datetime


def run_due(services, now: datetime, *, holder: str | None = None, client=None) -> RunReport:
    """Send everything due at `now` exactly once; record misses and failures. Safe to run concurrently."""
    holder = holder or new_holder_id()
    report = RunReport()
    _ensure_defaults(services, now)
    with services.db.session() as session:
        schedules = list(session.scalars(select(Schedule).where(Schedule.enabled.is_(True)).order_by(Schedule.id)))
    for schedule in schedules:
        if schedule.kind == sch.AGENDA:
            with services.db.session() as session:
                from bot.meetings.agenda import close_meeting

                report.closed_items += close_meeting(session, schedule, now)
    client = client or services.slack
    for due in _due_occurrences(services, schedules, now, report):
        _handle_new(services, client, due, now, holder, report)
    _retry_failed(services, client, now, holder, report)
    _recover_stale(services, client, now, holder, report)
    send_action_reminders(services, client, now)  # governance: action-item DMs, own exactly-once table
    return report


def _ensure_defaults(services, now: datetime) -> None:
    with services.db.session() as session:
        if sch.get_schedule(session, sch.DIGEST) is not None:
            return
    try:
        with services.db.session() as session:
            sch.ensure_defaults(session, services.settings, now)
    except (IntegrityError, OperationalError):
        pass  # another process created it


def _due_occurrences(services, schedules: list[Schedule], now: datetime, report: RunReport) -> list[_Due]:
    found: list[_Due] = []
    for schedule in schedules:
        lead = timedelta(minutes=schedule.lead_minutes)
        start = max(schedule.active_since, now - sch.LOOKBACK)
        for event_at in sch.occurrences(schedule, start + lead, now + lead):
            due_at = event_at - lead
            # Agenda: the meeting's ISO week; digest: the week it reports on (Monday 2026-W49 → "2026-W48").
            period = (sch.reported_week(schedule, event_at) if schedule.kind == sch.DIGEST
                      else sch.period_of(schedule, event_at))
            for recipient in _recipients(services, schedule, report):
                found.append(_Due(schedule, period, recipient, due_at, event_at))
    return found


def _recipients(services, schedule: Schedule, report: RunReport) -> list[str]:
    if schedule.kind == sch.AGENDA:
        return [schedule.channel] if schedule.channel else []
    if schedule.channel:
        return [schedule.channel]
    try:
        from bot.kpis.digest import digest_recipients
    except ImportError:
        note = "digest schedule skipped: bot.kpis.digest is not available"
        if note not in report.notes:
            report.notes.append(note)
            log.warning(note)
        return []
    with services.db.session() as session:
        return list(digest_recipients(session, services.settings))


def _handle_new(services, client, due: _Due, now: datetime, holder: str, report: RunReport) -> None:
    key = delivery_key(due.schedule.id, due.period, due.recipient)
    with services.db.session() as session:
        exists = session.scalars(select(Delivery.id).where(
            Delivery.schedule_id == due.schedule.id, Delivery.period == due.period,
            Delivery.recipient == due.recipient)).first()
    if exists is not None:
        return
    late = now - due.due_at > timedelta(minutes=due.schedule.grace_minutes)
    row = Delivery(schedule_id=due.schedule.id, kind=due.schedule.kind, period=due.period, recipient=due.recipient,
                   due_at=due.due_at, status="missed" if late else "sending", attempts=0 if late else 1,
                   claimed_by=holder, claimed_at=now, created_at=now, updated_at=now,
                   message_channel=due.recipient if due.schedule.kind == sch.AGENDA else None,
                   last_error=(f"not sent: the bot was not running within the {due.schedule.grace_minutes}-minute "
                               f"grace period after {sch.format_local(due.due_at, due.schedule.timezone)}") if late else None)
    try:
        # The claim: this INSERT commits on its own; the UNIQUE key lets exactly one process win.
        with services.db.session() as session:
            session.add(row)
    except IntegrityError:
        report.skipped.append(key)
        return
    if late:
        log.warning("delivery %s missed (due %s)", key, due.due_at.isoformat())
        report.missed.append(key)
        return
    _send_claimed(services, client, row.id, 1, due.schedule, due.period, due.recipient, due.event_at, now, report)


def _send_claimed(services, client, delivery_id: int, attempts: int, schedule: Schedule, period: str,
                  recipient: str, event_at: datetime, now: datetime, report: RunReport) -> None:
    """Talk to Slack for a delivery this process has claimed, then record the outcome.

    Outcomes are single UPDATE statements (no read first), so SQLite never has to upgrade a
    read transaction to a write one while another process writes.
    """
    key = delivery_key(schedule.id, period, recipient)
    try:
        channel, ts = _send(services, client, schedule, period, recipient, event_at, now, key)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
        error = _describe_error(exc)
        log.warning("delivery %s failed (attempt %d): %s", key, attempts, error)
        retry_at = now + backoff(attempts) if attempts < MAX_ATTEMPTS else None
        with services.db.session() as session:
            session.execute(update(Delivery).where(Delivery.id == delivery_id)
                            .values(status="failed", last_error=error, updated_at=now, next_attempt_at=retry_at))
        report.failed.append(key)
        return
    values = {"status": "sent", "sent_at": now, "updated_at": now, "next_attempt_at": None, "message_ts": ts}
    if channel:
        values["message_channel"] = channel
    with services.db.session() as session:
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))
    report.sent.append(key)


def _send(services, client, schedule: Schedule, period: str, recipient: str, event_at: datetime, now: datetime,
          key: str) -> tuple[str | None, str | None]:
    if schedule.kind == sch.AGENDA:
        from bot.meetings.agenda import build_agenda
        from bot.render.agenda import agenda_blocks, agenda_text  # governance: rendering moved to bot/render

        with services.db.session() as session:
            agenda = build_agenda(session, services, now, meeting_at=event_at)
            blocks, text = agenda_blocks(agenda), agenda_text(agenda)
        response = client.chat_postMessage(
            channel=recipient, text=text, blocks=blocks, unfurl_links=False,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
        )
        return response.get("channel"), response.get("ts")
    from bot.kpis.digest import send_digest

    send_digest(services, client, recipient, period)
    return None, None


def _describe_error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if response is not None and hasattr(response, "status_code"):
        error = response.get("error") if hasattr(response, "get") else None
        return f"Slack answered {response.status_code}: {error or 'error'}"[:500]
    return f"{exc.__class__.__name__}: {exc}"[:500]


def _retry_failed(services, client, now: datetime, holder: str, report: RunReport) -> None:
    with services.db.session() as session:
        rows = list(session.scalars(select(Delivery).where(
            Delivery.status == "failed", Delivery.next_attempt_at.is_not(None), Delivery.next_attempt_at <= now)))
        schedules = {s.id: s for s in session.scalars(select(Schedule))}
    for row in rows:
        schedule = schedules.get(row.schedule_id)
        if schedule is None:
            continue
        if not _reclaim(services, row, "failed", now, holder):
            report.skipped.append(delivery_key(row.schedule_id, row.period, row.recipient))
            continue
        event_at = row.due_at + timedelta(minutes=schedule.lead_minutes)
        _send_claimed(services, client, row.id, row.attempts + 1, schedule, row.period, row.recipient, event_at, now, report)


def _reclaim(services, row: Delivery, status: str, now: datetime, holder: str) -> bool:
    """Atomically take a row we saw in `status` with `row.attempts` attempts (optimistic version)."""
    with services.db.session() as session:
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == row.id, Delivery.status == status, Delivery.attempts == row.attempts)
            .values(status="sending", attempts=row.attempts + 1, claimed_by=holder, claimed_at=now,
                    next_attempt_at=None, updated_at=now)
        )
        return result.rowcount == 1


def _recover_stale(services, client, now: datetime, holder: str, report: RunReport) -> None:
    """Claims left in "sending" by a process that died mid-send."""
    with services.db.session() as session:
        rows = list(session.scalars(select(Delivery).where(
            Delivery.status == "sending", Delivery.claimed_at < now - SENDING_TIMEOUT)))
        schedules = {s.id: s for s in session.scalars(select(Schedule))}
    for row in rows:
        key = delivery_key(row.schedule_id, row.period, row.recipient)
        schedule = schedules.get(row.schedule_id)
        found, checked, error = _find_posted(client, row, key)
        if found is not None:
            with services.db.session() as session:
                session.execute(update(Delivery).where(Delivery.id == row.id, Delivery.status == "sending",
                                                       Delivery.attempts == row.attempts)
                                .values(status="sent", message_ts=found, sent_at=now, updated_at=now,
                                        last_error="recovered: the message was already in Slack"))
            report.sent.append(key)
            continue
        if checked and schedule is not None:
            if _reclaim(services, row, "sending", now, holder):
                event_at = row.due_at + timedelta(minutes=schedule.lead_minutes)
                _send_claimed(services, client, row.id, row.attempts + 1, schedule, row.period, row.recipient, event_at, now, report)
            continue
        with services.db.session() as session:
            session.execute(update(Delivery).where(Delivery.id == row.id, Delivery.status == "sending",
                                                   Delivery.attempts == row.attempts)
                            .values(status="unconfirmed", updated_at=now,
                                    last_error=("interrupted mid-send; Slack cannot tell whether it arrived "
                                                f"({error}); not resent automatically — "
                                                "use `revalign deliveries resend ID` if it did not")[:500]))
        report.unconfirmed.append(key)


def _find_posted(client, row: Delivery, key: str) -> tuple[str | None, bool, str]:
    """(ts of our message if it is in Slack, whether we could check, why not)."""
    channel = row.message_channel
    if row.kind != sch.AGENDA or not channel or not channel[:1] in ("C", "G"):
        return None, False, "only channel agendas can be checked"
    oldest = (row.claimed_at or row.due_at) - timedelta(minutes=1)
    try:
        cursor = None
        for _ in range(5):
            response = client.conversations_history(channel=channel, oldest=f"{oldest.timestamp():.6f}", limit=200,
                                                    include_all_metadata=True, cursor=cursor)
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                if (metadata.get("event_type") == METADATA_EVENT
                        and (metadata.get("event_payload") or {}).get("key") == key):
                    return message.get("ts"), True, ""
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None, True, ""
        return None, False, "history too long to check"
    except Exception as exc:  # noqa: BLE001
        return None, False, _describe_error(exc)


# --- operations -------------------------------------------------------------------------------------
def list_deliveries(session, limit: int = 50, status: str | None = None) -> list[Delivery]:
    query = select(Delivery).order_by(Delivery.due_at.desc(), Delivery.id.desc()).limit(limit)
    if status:
        query = query.where(Delivery.status == status)
    return list(session.scalars(query))


def resend(session, delivery_id: int, now: datetime) -> Delivery:
    """Queue a failed, unconfirmed or missed delivery to be sent on the next tick (an operator's decision)."""
    from bot.errors import InvalidInput, NotFound

    row = session.get(Delivery, delivery_id)
    if row is None:
        raise NotFound(f"There is no delivery {delivery_id}; `revalign deliveries` lists them.")
    if row.status not in ("failed", "unconfirmed", "missed"):
        raise InvalidInput(f"Delivery {delivery_id} is {row.status}; only failed, unconfirmed or missed ones can be resent.")
    row.status, row.next_attempt_at, row.updated_at = "failed", now, now
    row.attempts = min(row.attempts, MAX_ATTEMPTS - 1)
    session.flush()
    return row
