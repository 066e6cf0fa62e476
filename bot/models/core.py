"""Models every feature shares: who has which role."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, utcnow


class Role(str, enum.Enum):
    rep = "rep"
    marketer = "marketer"
    sales_head = "sales_head"
    marketing_head = "marketing_head"
    admin = "admin"


class UserRole(Base):
    """The role of one Slack user; users without a row are reps."""

    __tablename__ = "user_roles"

    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    updated_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
