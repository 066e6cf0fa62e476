"""All models; importing this module registers every table on `Base.metadata`."""

from bot.models import content, core, crm, kpis, lead_defs, reminders, scheduling  # noqa: F401
from bot.models.base import Base, utcnow
from bot.models.core import Role, UserRole

__all__ = ["Base", "Role", "UserRole", "utcnow"]
