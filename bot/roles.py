"""Who may do what: one role per Slack user, reps by default."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import InvalidInput, PermissionDenied
from bot.models import Role, UserRole, utcnow
from bot.slack_text import escape

ROLE_LABELS = {
    Role.rep: "rep",
    Role.marketer: "marketer",
    Role.sales_head: "sales head",
    Role.marketing_head: "marketing head",
    Role.admin: "admin",
}

_USER_REF = re.compile(r"^<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>$|^@?([UW][A-Z0-9]{2,30})$")


def parse_role(text: str) -> Role:
    cleaned = text.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Role(cleaned)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(f"'{escape(text.strip()[:40])}' is not a role. Roles are: {allowed}.") from None


def parse_user_ref(text: str) -> str:
    """A Slack user ID from `<@U123|name>`, `<@U123>`, `@U123` or `U123`."""
    match = _USER_REF.match(text.strip())
    if not match:
        raise InvalidInput("Name the person as an @-mention or a Slack user ID such as U012ABC3DEF.")
    return match.group(1) or match.group(2)


def role_of(session: Session, slack_user_id: str) -> Role:
    row = session.get(UserRole, slack_user_id)
    return Role(row.role) if row else Role.rep


def set_role(session: Session, slack_user_id: str, role: Role, *, by: str, now: datetime | None = None) -> Role:
    """Set a user's role; returns the previous one."""
    row = session.get(UserRole, slack_user_id)
    previous = Role(row.role) if row else Role.rep
    if row is None:
        row = UserRole(slack_user_id=slack_user_id, role=role.value, updated_by=by, updated_at=now or utcnow())
        session.add(row)
    else:
        row.role, row.updated_by, row.updated_at = role.value, by, now or utcnow()
    session.flush()
    return previous


def all_roles(session: Session) -> list[UserRole]:
    return list(session.scalars(select(UserRole).order_by(UserRole.role, UserRole.slack_user_id)))


def users_with_role(session: Session, role: Role) -> list[str]:
    return list(session.scalars(select(UserRole.slack_user_id).where(UserRole.role == role.value)))


def require_role(session: Session, slack_user_id: str, allowed: Iterable[Role], action: str) -> Role:
    """Return the user's role, or refuse politely naming who may do it."""
    allowed = list(allowed)
    role = role_of(session, slack_user_id)
    if role in allowed:
        return role
    who = " or ".join(sorted({ROLE_LABELS[r] + "s" for r in allowed}))
    raise PermissionDenied(
        f"Sorry, only {who} can {action}. Your role is {ROLE_LABELS[role]}; "
        "an admin can change it with `/revalign roles set @you ROLE`."
    )
