"""Exactly-once delivery of agendas and digests, driven by a clock: `run_due(services, now)`.

Design:
- Every occurrence × recipient has a key (schedule_id, period, recipient), UNIQUE in `deliveries`.
  A process *claims* a delivery by INSERTing that row with status "sending" (INSERT … ON
  CONFLICT DO NOTHING, in its own transaction): exactly one process gets the row; everyone
  else, and every later tick, finds it taken and moves on. Only the claimer talks to Slack.
- A delivery is sent in parts (agenda: its message; digest: its message, then its chart —
  bot/meetings/posting.py). Each part Slack confirms is recorded on the row at once, so a retry
  never repeats a part that arrived.
- Slack answered with an error (429/5xx after the client's own retries, ok:false): recorded
  "failed" and re-claimed later with a conditional UPDATE (… WHERE status='failed' AND
  attempts = <seen>), so two processes never retry the same row at once; backoff doubles from
  1 minute to 1 hour, at most MAX_ATTEMPTS attempts.
- No answer (a timeout, a dropped connection) or a claim left in "sending" by a process that
  died: the outcome is unknown, so the row is marked `in_doubt` and, before the part is sent
  again, the channel's history is checked for it (message metadata carries the key; DMs need
  `im:history`). Found → recorded sent; not there → sent; history unreadable for good (a
  missing scope, the bot removed from the channel) → "unconfirmed": never resent
  automatically; `revalign deliveries` shows it and `revalign deliveries resend ID` sends it.
- An occurrence found later than its grace period (the bot was down) is recorded "missed",
  never sent; one within it is sent once on start-up.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.kpis.digest import digest_recipients
from bot.meetings import schedules as sch
from bot.meetings.agenda import build_agenda, close_meeting
from bot.meetings.digest_delivery import digest_parts
from bot.meetings.posting import (
    METADATA_EVENT,
    CannotTell,
    Part,
    delivery_client,
    describe_error,
    find_message,
    find_posted,
    metadata,
    open_channel,
    outcome_unknown,
)
from bot.meetings.reminders import send_action_reminders
from bot.models.scheduling import Delivery, Schedule, SchedulerLease
from bot.render.agenda import agenda_blocks, agenda_text

log = logging.getLogger(__name__)

__all__ = [
    "METADATA_EVENT",
    "RunReport",
    "acquire_lease",
    "lease_holder",
    "list_deliveries",
    "new_holder_id",
    "release_lease",
    "resend",
    "run_due",
    "tick",
]

MAX_ATTEMPTS = 8
SENDING_TIMEOUT = timedelta(minutes=10)
# Short, renewed every few seconds (bot/meetings/runtime.py): a crashed holder is replaced within
# about LEASE_TTL + one renewal interval. The lease only keeps the work in one process; the
# delivery table, not the lease, is what makes a send happen once.
LEASE_TTL = timedelta(seconds=15)
LEASE_NAME = "scheduler"
HISTORY_SLACK = timedelta(minutes=1)  # look a little before the claim, for clock skew


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
    skipped: list[str] = field(default_factory=list)  # claimed by someone else, or by an earlier run
    closed_items: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{len(self.sent)} sent",
            f"{len(self.failed)} failed",
            f"{len(self.missed)} missed",
            f"{len(self.unconfirmed)} unconfirmed",
            f"{self.closed_items} agenda item(s) closed",
        ]
        return ", ".join(parts)


# --- the lease ------------------------------------------------------------------------------
def acquire_lease(db, holder: str, now: datetime, ttl: timedelta = LEASE_TTL) -> bool:
    """Take or renew the scheduler lease; True if `holder` has it until now + ttl."""
    try:
        with db.session() as session:
            result = session.execute(
                update(SchedulerLease)
                .where(
                    SchedulerLease.name == LEASE_NAME,
                    or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now),
                )
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
        session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder)
            .values(expires_at=now - timedelta(seconds=1))
        )


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


@dataclass
class _Claim:
    """A delivery this process holds (status "sending", `attempts` as claimed)."""

    id: int
    attempts: int
    schedule: Schedule
    period: str
    recipient: str
    due_at: datetime
    created_at: datetime  # the first claim: the history is searched from here
    done: dict[str, str]  # part name -> message ts / file ID, as recorded
    in_doubt: bool  # the next part's last attempt has an unknown outcome
    recovered: bool = False  # a part was found in Slack instead of being sent

    @property
    def key(self) -> str:
        return delivery_key(self.schedule.id, self.period, self.recipient)

    @property
    def event_at(self) -> datetime:
        return self.due_at + timedelta(minutes=self.schedule.lead_minutes)


class _LostClaim(Exception):
    """Our claim was taken over (we were too slow and were presumed dead): stop touching it."""


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
                report.closed_items += close_meeting(session, schedule, now)
    client = client or delivery_client(services.slack)
    for due in _due_occurrences(services, schedules, now):
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


def _due_occurrences(services, schedules: list[Schedule], now: datetime) -> list[_Due]:
    found: list[_Due] = []
    for schedule in schedules:
        lead = timedelta(minutes=schedule.lead_minutes)
        start = max(schedule.active_since, now - sch.LOOKBACK)
        for event_at in sch.occurrences(schedule, start + lead, now + lead):
            due_at = event_at - lead
            # Agenda: the meeting's ISO week; digest: the week it reports on (Monday 2026-W49 → "2026-W48").
            period = (
                sch.reported_week(schedule, event_at)
                if schedule.kind == sch.DIGEST
                else sch.period_of(schedule, event_at)
            )
            for recipient in _recipients(services, schedule):
                found.append(_Due(schedule, period, recipient, due_at, event_at))
    return found


def _recipients(services, schedule: Schedule) -> list[str]:
    if schedule.channel:
        return [schedule.channel]
    if schedule.kind == sch.AGENDA:
        return []
    with services.db.session() as session:
        return list(digest_recipients(session, services.settings))


def claim_new(services, values: dict) -> int | None:
    """INSERT the delivery row unless its key exists; its id if this process won the claim."""
    with services.db.session() as session:
        insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
        statement = (
            insert(Delivery)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["schedule_id", "period", "recipient"])
            .returning(Delivery.id)
        )
        return session.execute(statement).scalar_one_or_none()


def _handle_new(services, client, due: _Due, now: datetime, holder: str, report: RunReport) -> None:
    key = delivery_key(due.schedule.id, due.period, due.recipient)
    late = now - due.due_at > timedelta(minutes=due.schedule.grace_minutes)
    values = {
        "schedule_id": due.schedule.id,
        "kind": due.schedule.kind,
        "period": due.period,
        "recipient": due.recipient,
        "due_at": due.due_at,
        "status": "missed" if late else "sending",
        "attempts": 0 if late else 1,
        "claimed_by": holder,
        "claimed_at": now,
        "created_at": now,
        "updated_at": now,
        "in_doubt": False,
        "message_channel": due.recipient if due.recipient[:1] in ("C", "G") else None,
        "last_error": (
            f"not sent: the bot was not running within the {due.schedule.grace_minutes}-minute "
            f"grace period after {sch.format_local(due.due_at, due.schedule.timezone)}"
        )
        if late
        else None,
    }
    delivery_id = claim_new(services, values)
    if delivery_id is None:
        report.skipped.append(key)  # another process, or an earlier tick, has it
        return
    if late:
        log.warning("delivery %s missed (due %s)", key, due.due_at.isoformat())
        report.missed.append(key)
        return
    claim = _Claim(delivery_id, 1, due.schedule, due.period, due.recipient, due.due_at, now, {}, in_doubt=False)
    _send_claimed(services, client, claim, now, report)


def _parts(services, claim: _Claim, now: datetime) -> list[Part]:
    if claim.schedule.kind == sch.AGENDA:
        with services.db.session() as session:
            agenda = build_agenda(session, services, now, meeting_at=claim.event_at)
            blocks, text = agenda_blocks(agenda), agenda_text(agenda)
        key = claim.key

        def send(client, channel: str, _done: dict[str, str]) -> str:
            response = client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False, metadata=metadata(key, "text")
            )
            return str(response["ts"])

        return [Part("text", send, find_message(key, "text"))]
    return digest_parts(services, claim.period, claim.key)


def _send_claimed(services, client, claim: _Claim, now: datetime, report: RunReport) -> None:
    """Talk to Slack for a delivery this process has claimed, then record the outcome.

    Outcomes are single UPDATE statements (no read first), so SQLite never has to upgrade a
    read transaction to a write one while another process writes.
    """
    key = claim.key
    try:
        _deliver(services, client, claim, now)
    except _LostClaim:
        report.skipped.append(key)
        return
    except CannotTell as exc:
        if exc.permanent or claim.attempts >= MAX_ATTEMPTS:
            why = (
                f"it may have reached Slack (no answer in time, or the bot stopped mid-send) and the "
                f"conversation's history cannot be read to check ({exc.reason})"
            )
            _record(
                services,
                claim,
                status="unconfirmed",
                updated_at=now,
                next_attempt_at=None,
                last_error=(
                    f"{why}; not resent automatically — grant the history scopes in app.yaml "
                    "(channels:history, im:history) and invite the bot, or use "
                    "`revalign deliveries resend ID` if it did not arrive"
                )[:500],
            )
            log.warning("delivery %s unconfirmed: %s", key, exc.reason)
            report.unconfirmed.append(key)
            return
        _record_failure(services, claim, now, f"outcome unknown and the check failed: {exc.reason}", report)
        return
    except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
        _record_failure(services, claim, now, describe_error(exc), report)
        return
    values = {"status": "sent", "sent_at": now, "updated_at": now, "next_attempt_at": None, "in_doubt": False}
    if claim.recovered:
        values["last_error"] = "recovered: already in Slack (found in the conversation's history), not sent again"
    _record(services, claim, **values)
    report.sent.append(key)


def _record_failure(services, claim: _Claim, now: datetime, error: str, report: RunReport) -> None:
    log.warning("delivery %s failed (attempt %d): %s", claim.key, claim.attempts, error)
    retry_at = now + backoff(claim.attempts) if claim.attempts < MAX_ATTEMPTS else None
    _record(
        services,
        claim,
        status="failed",
        last_error=error[:500],
        updated_at=now,
        next_attempt_at=retry_at,
        in_doubt=claim.in_doubt,
    )
    report.failed.append(claim.key)


def _record(services, claim: _Claim, **values) -> bool:
    with services.db.session() as session:
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == claim.id, Delivery.status == "sending", Delivery.attempts == claim.attempts)
            .values(**values)
        )
        return result.rowcount == 1


def _deliver(services, client, claim: _Claim, now: datetime) -> None:
    """Send the parts not yet recorded; a part whose outcome is unknown is looked for first."""
    channel = open_channel(client, claim.recipient)
    parts = _parts(services, claim, now)
    oldest = claim.created_at - HISTORY_SLACK
    for index, part in enumerate(parts):
        if part.name in claim.done:
            continue
        ref = None
        if claim.in_doubt:
            ref = find_posted(client, channel, oldest, [part], claim.done).get(part.name)
            claim.recovered = claim.recovered or ref is not None
            claim.in_doubt = False
        if ref is None:
            try:
                ref = part.send(client, channel, claim.done)
            except Exception as exc:
                if not outcome_unknown(exc):
                    raise
                claim.in_doubt = True  # it may be in Slack: look now, and before any retry
                ref = find_posted(client, channel, oldest, [part], claim.done).get(part.name)
                if ref is None:
                    raise
                claim.in_doubt = False
                claim.recovered = True
        claim.done[part.name] = ref
        values = {"parts": json.dumps(claim.done), "message_channel": channel, "in_doubt": False}
        if index == 0:
            values["message_ts"] = ref
        if not _record(services, claim, **values):
            raise _LostClaim(claim.key)


def _claim_of(row: Delivery, schedule: Schedule, *, in_doubt: bool) -> _Claim:
    return _Claim(
        row.id,
        row.attempts + 1,
        schedule,
        row.period,
        row.recipient,
        row.due_at,
        row.created_at,
        json.loads(row.parts) if row.parts else {},
        in_doubt=in_doubt,
    )


def _retry_failed(services, client, now: datetime, holder: str, report: RunReport) -> None:
    with services.db.session() as session:
        rows = list(
            session.scalars(
                select(Delivery).where(
                    Delivery.status == "failed", Delivery.next_attempt_at.is_not(None), Delivery.next_attempt_at <= now
                )
            )
        )
        schedules = {s.id: s for s in session.scalars(select(Schedule))}
    for row in rows:
        schedule = schedules.get(row.schedule_id)
        if schedule is None:
            continue
        if not _reclaim(services, row, "failed", now, holder):
            report.skipped.append(delivery_key(row.schedule_id, row.period, row.recipient))
            continue
        _send_claimed(services, client, _claim_of(row, schedule, in_doubt=row.in_doubt), now, report)


def _reclaim(services, row: Delivery, status: str, now: datetime, holder: str) -> bool:
    """Atomically take a row we saw in `status` with `row.attempts` attempts (optimistic version)."""
    with services.db.session() as session:
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == row.id, Delivery.status == status, Delivery.attempts == row.attempts)
            .values(
                status="sending",
                attempts=row.attempts + 1,
                claimed_by=holder,
                claimed_at=now,
                next_attempt_at=None,
                updated_at=now,
            )
        )
        return result.rowcount == 1


def _recover_stale(services, client, now: datetime, holder: str, report: RunReport) -> None:
    """Claims left in "sending" by a process that died mid-send: whatever it was sending may be in
    Slack, so the next part is looked for before it is sent."""
    with services.db.session() as session:
        rows = list(
            session.scalars(
                select(Delivery).where(Delivery.status == "sending", Delivery.claimed_at < now - SENDING_TIMEOUT)
            )
        )
        schedules = {s.id: s for s in session.scalars(select(Schedule))}
    for row in rows:
        schedule = schedules.get(row.schedule_id)
        if schedule is None or not _reclaim(services, row, "sending", now, holder):
            report.skipped.append(delivery_key(row.schedule_id, row.period, row.recipient))
            continue
        _send_claimed(services, client, _claim_of(row, schedule, in_doubt=True), now, report)


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
        raise InvalidInput(
            f"Delivery {delivery_id} is {row.status}; only failed, unconfirmed or missed ones can be resent."
        )
    row.status, row.next_attempt_at, row.updated_at = "failed", now, now
    row.in_doubt = False  # the operator decided it did not arrive: send what is missing, no check
    row.attempts = min(row.attempts, MAX_ATTEMPTS - 1)
    session.flush()
    return row
