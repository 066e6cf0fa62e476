"""Action-item reminders: one row per (action, owner, local day) is the exactly-once key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, utcnow


class ActionReminder(Base):
    """One DM to an action's owner. The UNIQUE key allows at most one per owner per action per day,
    and whoever INSERTs it first is the only process that sends it (the deliveries table's pattern)."""

    __tablename__ = "action_reminders"
    __table_args__ = (UniqueConstraint("action_id", "recipient", "period", name="uq_action_reminders_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action_items.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))  # the owner's local date, "2026-12-01"
    reason: Mapped[str] = mapped_column(String(16))  # assigned | due_soon | overdue
    status: Mapped[str] = mapped_column(String(16))  # sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
