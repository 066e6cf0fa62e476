"""Models for scheduling: meeting/digest schedules, deliveries (exactly-once keys), the
scheduler lease, agenda items and action items."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, utcnow


class Schedule(Base):
    """A recurring delivery: the alignment meeting's agenda, or the weekly KPI digest.

    `day_of_week`/`hour`/`minute` are the wall-clock time in `timezone` (of the meeting
    for kind "agenda", of the send for kind "digest"); the agenda is posted
    `lead_minutes` before the meeting.
    """

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), unique=True)  # "agenda" | "digest"
    cadence: Mapped[str] = mapped_column(String(16), default="weekly")  # "weekly" | "daily"
    day_of_week: Mapped[str] = mapped_column(String(16))  # "tue", or "*" for daily
    # governance: biweekly schedules meet in the weeks 0, 2, 4… after this local date (see meetings/schedules.py).
    anchor_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    hour: Mapped[int] = mapped_column(Integer)
    minute: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: digest to the heads
    lead_minutes: Mapped[int] = mapped_column(Integer, default=0)
    grace_minutes: Mapped[int] = mapped_column(Integer, default=60)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Occurrences before this instant are never sent nor recorded as missed.
    active_since: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One send of one occurrence to one recipient; the unique key is the exactly-once guarantee."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("schedule_id", "period", "recipient", name="uq_deliveries_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(16))  # "2026-W48" (weekly) or "2026-11-24" (daily)
    recipient: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column()  # when it was meant to go out
    # sending | sent | failed | missed | unconfirmed
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    message_channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # JSON {part: message ts or file ID} of the parts Slack confirmed ("text", "chart").
    parts: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The next part's last attempt got no answer (or its process died): check Slack before resending.
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SchedulerLease(Base):
    """Who runs the scheduler: taken with a conditional UPDATE, renewed every few seconds."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class AgendaItem(Base):
    """A topic anyone raised for the next alignment meeting."""

    __tablename__ = "agenda_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | discussed | removed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    meeting_period: Mapped[str | None] = mapped_column(String(16), nullable=True)


class ActionItem(Base):
    """Something someone agreed to do, by a date; open ones carry over meeting to meeting."""

    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(32))
    due: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | done
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
