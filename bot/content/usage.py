"""Usage numbers other features read: shares and the most shared items (the content report is bot.content.report)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models.content import ContentEvent, ContentItem


@dataclass(frozen=True)
class SharedItem:
    item_id: int
    title: str
    url: str
    shares: int


def share_count(session: Session, start: datetime, end: datetime) -> int:
    """Content shares (the "Share in channel" button) with start <= time < end."""
    return int(
        session.scalar(
            select(func.count(ContentEvent.id)).where(
                ContentEvent.kind == "share", ContentEvent.created_at >= start, ContentEvent.created_at < end
            )
        )
        or 0
    )


def most_shared(session: Session, since: datetime, limit: int = 5) -> list[SharedItem]:
    """Items shared most since `since`, most shared first."""
    shares = func.count(ContentEvent.id).label("shares")
    rows = session.execute(
        select(ContentItem.id, ContentItem.title, ContentItem.url, shares)
        .join(ContentEvent, ContentEvent.item_id == ContentItem.id)
        .where(ContentEvent.kind == "share", ContentEvent.created_at >= since)
        .group_by(ContentItem.id, ContentItem.title, ContentItem.url)
        .order_by(shares.desc(), ContentItem.title)
        .limit(limit)
    ).all()
    return [SharedItem(r.id, r.title, r.url, int(r.shares)) for r in rows]
