"""Action-item DMs to owners, exactly once: when assigned, the day before the due date, and once a
day while overdue.

The same claim-by-unique-key pattern as bot/meetings/delivery.py: a process claims a reminder by
INSERTing its (action, owner, local date) row in its own transaction; an IntegrityError means another
process (or an earlier tick) has it, so at most one DM per owner per action per day, whatever runs
concurrently. Only the claimer talks to Slack, then records "sent" or "failed" (retried on later ticks
the same day with a conditional UPDATE, at most MAX_ATTEMPTS times).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.meetings.agenda import meeting_timezone
from bot.models.reminders import ActionReminder
from bot.models.scheduling import ActionItem
from bot.render.agenda import reminder_message

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.services import Services

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# Reminders go out from this local hour on, so nobody gets a DM at midnight.
REMINDER_HOUR = 9


@dataclass
class ReminderReport:
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # claimed by someone else, or already sent today


def _today(services: Services, now: datetime) -> tuple[date, str]:
    with services.db.session() as session:
        tz = meeting_timezone(session, services.settings)
    return now.astimezone(ZoneInfo(tz)).date(), tz


def _reason(action: ActionItem, today: date) -> str | None:
    if action.due < today:
        return "overdue"
    if action.due - today == timedelta(days=1):
        return "due_soon"
    return None


def notify_assigned(services: Services, client: WebClient, action_id: int, by: str) -> bool:
    """The owner's DM when an action is given (or reassigned) to them; False if not sent."""
    now = services.now()
    today, _tz = _today(services, now)
    report = ReminderReport()
    with services.db.session() as session:
        action = session.get(ActionItem, action_id)
    if action is None or action.status != "open" or action.owner == by:
        return False
    _claim_and_send(services, client, action, "assigned", today, now, report, by=by)
    return bool(report.sent)


def send_action_reminders(services: Services, client: WebClient, now: datetime) -> ReminderReport:
    """The scheduler's hook: today's due-soon and overdue reminders, each at most once per owner and day."""
    report = ReminderReport()
    today, tz = _today(services, now)
    if now.astimezone(ZoneInfo(tz)) < datetime.combine(today, time(REMINDER_HOUR), tzinfo=ZoneInfo(tz)):
        return report
    _retry_failed(services, client, today, now, report)  # first, so a new failure waits for the next tick
    with services.db.session() as session:
        actions = list(
            session.scalars(
                select(ActionItem).where(ActionItem.status == "open", ActionItem.due <= today + timedelta(days=1))
            )
        )
    for action in actions:
        reason = _reason(action, today)
        if reason:
            _claim_and_send(services, client, action, reason, today, now, report)
    return report


def _claim_and_send(
    services: Services,
    client: WebClient,
    action: ActionItem,
    reason: str,
    today: date,
    now: datetime,
    report: ReminderReport,
    by: str | None = None,
) -> None:
    key = f"{action.id}:{action.owner}:{today.isoformat()}"
    row = ActionReminder(
        action_id=action.id,
        recipient=action.owner,
        period=today.isoformat(),
        reason=reason,
        status="sending",
        attempts=1,
        created_at=now,
    )
    try:
        with services.db.session() as session:  # the claim commits on its own
            session.add(row)
    except IntegrityError:
        report.skipped.append(key)
        return
    _send(services, client, row.id, action, reason, today, now, report, key, by)


def _send(
    services: Services,
    client: WebClient,
    reminder_id: int,
    action: ActionItem,
    reason: str,
    today: date,
    now: datetime,
    report: ReminderReport,
    key: str,
    by: str | None = None,
) -> None:
    try:
        client.chat_postMessage(channel=action.owner, **reminder_message(action, reason, today, by=by))
    except (SlackApiError, OSError) as exc:
        log.warning("action reminder %s failed: %s", key, exc.__class__.__name__)
        with services.db.session() as session:
            session.execute(
                update(ActionReminder)
                .where(ActionReminder.id == reminder_id)
                .values(status="failed", last_error=f"{exc.__class__.__name__}: {exc}"[:500])
            )
        report.failed.append(key)
        return
    with services.db.session() as session:
        session.execute(
            update(ActionReminder)
            .where(ActionReminder.id == reminder_id)
            .values(status="sent", sent_at=now, last_error=None)
        )
    report.sent.append(key)


def _retry_failed(services: Services, client: WebClient, today: date, now: datetime, report: ReminderReport) -> None:
    with services.db.session() as session:
        rows = list(
            session.scalars(
                select(ActionReminder).where(
                    ActionReminder.status == "failed",
                    ActionReminder.period == today.isoformat(),
                    ActionReminder.attempts < MAX_ATTEMPTS,
                )
            )
        )
    for row in rows:
        with services.db.session() as session:
            taken = session.execute(
                update(ActionReminder)
                .where(
                    ActionReminder.id == row.id,
                    ActionReminder.status == "failed",
                    ActionReminder.attempts == row.attempts,
                )
                .values(status="sending", attempts=row.attempts + 1)
            )
            action = session.get(ActionItem, row.action_id)
        key = f"{row.action_id}:{row.recipient}:{row.period}"
        if taken.rowcount != 1 or action is None or action.status != "open":  # type: ignore[attr-defined]
            report.skipped.append(key)
            continue
        _send(services, client, row.id, action, row.reason, today, now, report, key)
