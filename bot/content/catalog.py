"""The library itself: find, count, offer and remove items, and bring the index up to date after an import.

Functions take the caller's Session (the caller opens the transaction); the index follows
through the keeper once that transaction commits. The import's rows are written by
`library.upsert_items`; `index_import` runs after its commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.content import library
from bot.content.index_keeper import IndexKeeper
from bot.content.items import ItemView, item_view
from bot.content.text import clean_slack_text, has_words
from bot.errors import InvalidInput, NotFound
from bot.models.content import ContentItem
from bot.render.blocks import escape

if TYPE_CHECKING:
    from content_index import ContentIndex


@dataclass
class ImportOutcome:
    report: library.ImportReport
    embedded: int = 0
    reused: int = 0


def find_items(session: Session, ref: str, limit: int = 20) -> list[ContentItem]:
    """Items by exact URL, id, or all the given title words (case-insensitive)."""
    ref = clean_slack_text(ref).strip()
    if not ref:
        return []
    exact = session.scalars(select(ContentItem).where(ContentItem.url == ref)).all()
    if exact:
        return list(exact)
    if ref.isdigit() and len(ref) <= 12:
        item = session.get(ContentItem, int(ref))
        if item:
            return [item]
    words = [w for w in ref.split() if w][:8]
    query = select(ContentItem)
    for word in words:
        escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                func.lower(ContentItem.title).like(f"%{escaped}%", escape="\\"),
                func.lower(ContentItem.url).like(f"%{escaped}%", escape="\\"),
            )
        )
    return list(session.scalars(query.order_by(ContentItem.title).limit(limit)))


def index_import(
    keeper: IndexKeeper, report: library.ImportReport, progress: Callable[[int, int], None] | None = None
) -> ImportOutcome:
    """After the import's transaction commits: embed what changed and bring the index up to date."""
    outcome = ImportOutcome(report)
    # An unchanged library needs neither the model nor the index: nothing to embed or re-rank.
    if report.changed_ids:
        was_loaded = keeper.loaded
        keeper.ensure_loaded(progress=progress)
        stats = keeper.refresh(report.changed_ids, progress=progress) if was_loaded else keeper.last_load_stats
        if stats is not None:
            outcome.embedded, outcome.reused = stats.embedded, stats.reused
    return outcome


def delete_item(session: Session, keeper: IndexKeeper, url_or_id: str) -> ItemView:
    item = _find_one(session, url_or_id)
    view = item_view(item)
    session.delete(item)
    session.flush()
    keeper.note_changes(session, [view.id])
    return view


def item_count(session: Session) -> int:
    return int(session.scalar(select(func.count(ContentItem.id))) or 0)


def _find_one(session: Session, ref: str) -> ContentItem:
    matches = find_items(session, ref, limit=6)
    if not matches:
        raise NotFound(f"No content item matches '{escape(ref.strip()[:80])}'. Give its URL or words of its title.")
    if len(matches) > 1 and not any(m.url == ref.strip() for m in matches):
        titles = "; ".join(m.title for m in matches[:5])
        raise InvalidInput(f"'{escape(ref.strip()[:80])}' matches several items ({escape(titles)}). Give its URL.")
    exact = [m for m in matches if m.url == ref.strip()]
    return exact[0] if exact else matches[0]


def options_for(session: Session, index: ContentIndex, typed: str, limit: int = 50) -> list[ItemView]:
    """Items for the tag modal's searchable select: title/URL words, then semantic matches."""
    typed = clean_slack_text(typed)
    if not typed:
        items = session.scalars(select(ContentItem).order_by(ContentItem.title).limit(limit)).all()
        return [item_view(i) for i in items]
    found = [item_view(i) for i in find_items(session, typed, limit=limit)]
    if len(found) < limit and has_words(typed) and len(typed) >= 3:
        result = index.search(typed, k=min(10, limit))
        have = {v.id for v in found}
        extra_ids = [int(h.doc_id) for h in result.hits if int(h.doc_id) not in have]
        if extra_ids:
            rows = {i.id: i for i in session.scalars(select(ContentItem).where(ContentItem.id.in_(extra_ids)))}
            found.extend(item_view(rows[i]) for i in extra_ids if i in rows)
    return found[:limit]
