"""Models for /content: the library, its embeddings, a change log for cross-process sync,
searches, usage events, content gaps and learned phrasings."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.models.base import Base, utcnow


class ContentItem(Base):
    """One piece of marketing content; `url` is the natural key imports upsert by."""

    __tablename__ = "content_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(64))
    persona: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")
    objections: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    learned: Mapped[list["ContentLearned"]] = relationship(
        back_populates="item", cascade="all, delete-orphan", passive_deletes=True, order_by="ContentLearned.id"
    )


class ContentLearned(Base):
    """A query a rep marked Helpful for an item: searched as a phrasing of the item."""

    __tablename__ = "content_learned"
    __table_args__ = (UniqueConstraint("item_id", "phrasing"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("content_items.id", ondelete="CASCADE"), index=True)
    phrasing: Mapped[str] = mapped_column(String(500))
    added_by: Mapped[str] = mapped_column(String(32))
    search_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[ContentItem] = relationship(back_populates="learned")


class ContentEmbedding(Base):
    """Embedding cache: (model, sha256 of the exact text) -> float32 vector bytes."""

    __tablename__ = "content_embeddings"

    model_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContentChange(Base):
    """Append-only log of changed item ids; other processes poll it to refresh their index."""

    __tablename__ = "content_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(Integer, index=True)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ContentSearch(Base):
    """One /content search: who, where, what, and what was shown."""

    __tablename__ = "content_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    channel_id: Mapped[str] = mapped_column(String(32), default="")
    query: Mapped[str] = mapped_column(Text)
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    result_ids: Mapped[list] = mapped_column(JSON, default=list)
    confident: Mapped[bool] = mapped_column(Boolean)
    confidence: Mapped[float] = mapped_column(Float)
    gap_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ContentEvent(Base):
    """A share or a Helpful / Not helpful click on a search result."""

    __tablename__ = "content_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # share | helpful | not_helpful
    user_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32), default="")
    search_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    item_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ContentGap(Base):
    """A group of similar objections that had no good match."""

    __tablename__ = "content_gaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    objection: Mapped[str] = mapped_column(String(500))
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # open | tagged (from the gap's button) | answered (closed itself: its phrasings now find content) | dismissed
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The item that answers it (auto-closed or tagged from the gap): what requesters are sent.
    answered_item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ContentRequest(Base):
    """A rep asking marketing for content, on the gap their objection landed on.

    `notified_at` is the exactly-once guard for the "your content is ready" DM: it is claimed
    (NULL -> now) in one UPDATE before the DM is sent, and put back to NULL if Slack refuses."""

    __tablename__ = "content_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gap_id: Mapped[int] = mapped_column(ForeignKey("content_gaps.id", ondelete="CASCADE"), index=True)
    search_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    channel_id: Mapped[str] = mapped_column(String(32), default="")
    need: Mapped[str] = mapped_column(Text)
    prospect: Mapped[str] = mapped_column(String(200), default="")
    stage: Mapped[str] = mapped_column(String(64), default="")
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    notified_at: Mapped[datetime | None] = mapped_column(nullable=True)
