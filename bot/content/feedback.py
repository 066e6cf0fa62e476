"""What reps and marketers teach the search: shares, Helpful / Not helpful, tags, learned phrasings, gaps.

Functions take the caller's Session. Every write logs the changed items (`content_changes`)
through the index keeper, which applies them in the background once the caller's transaction
commits, so the Slack listener is acknowledged without waiting for the index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.content import gaps as gaps_mod
from bot.content import library
from bot.content.catalog import find_items
from bot.content.index_keeper import IndexKeeper
from bot.content.items import ItemView, item_view
from bot.content.search import owned_search
from bot.content.text import clean_slack_text, has_words, phrasing_of
from bot.errors import InvalidInput, NotFound
from bot.models import Role
from bot.models.content import ContentEvent, ContentItem, ContentLearned, ContentSearch
from bot.render.blocks import escape
from bot.roles import require_role

MARKETING_ROLES = (Role.marketer, Role.marketing_head, Role.admin)
MAX_TAG_ITEMS = 10


@dataclass
class LearnedView:
    id: int
    phrasing: str
    item_id: int
    item_title: str
    added_by: str


def get_item(session: Session, item_id: int) -> ContentItem:
    item = session.get(ContentItem, item_id)
    if item is None:
        raise NotFound("That content item is no longer in the library.")
    return item


def _shown_item(
    session: Session, *, user_id: str, search_id: int | None, item_id: int, action: str
) -> tuple[ContentSearch, ContentItem]:
    """Only the rep who ran the search, and only items it showed (More results included)."""
    search = owned_search(session, search_id, user_id, action)
    if item_id not in [int(i) for i in search.result_ids or []]:
        raise InvalidInput("That item was not among this search's results; run /content again.")
    return search, get_item(session, item_id)


# --- reps: shares and feedback on their own search's results ----------------------------------
def record_share(
    session: Session, *, user_id: str, channel_id: str, search_id: int | None, item_id: int, now: datetime
) -> ItemView:
    _, item = _shown_item(session, user_id=user_id, search_id=search_id, item_id=item_id, action="share results")
    session.add(
        ContentEvent(
            kind="share",
            user_id=user_id,
            channel_id=channel_id or "",
            search_id=search_id,
            item_id=item_id,
            created_at=now,
        )
    )
    return item_view(item)


def record_feedback(
    session: Session,
    keeper: IndexKeeper,
    *,
    user_id: str,
    channel_id: str,
    search_id: int | None,
    item_id: int,
    helpful: bool,
    now: datetime,
) -> tuple[ItemView, str | None]:
    """A Helpful click makes the query a learned phrasing of the item; Not helpful demotes the
    item for similar queries (both reach the index in the background, after the commit).

    Returns the item and the phrasing learned (None when nothing new was learned)."""
    search, item = _shown_item(session, user_id=user_id, search_id=search_id, item_id=item_id, action="give feedback")
    kind = "helpful" if helpful else "not_helpful"
    already = session.scalar(
        select(ContentEvent.id).where(
            ContentEvent.search_id == search.id, ContentEvent.item_id == item_id, ContentEvent.kind == kind
        )
    )
    session.add(
        ContentEvent(
            kind=kind,
            user_id=user_id,
            channel_id=channel_id or "",
            search_id=search.id,
            item_id=item_id,
            created_at=now,
        )
    )
    learned = _learn(session, search, item, user_id, now) if helpful else None
    if learned is not None or (not helpful and already is None):
        keeper.note_changes(session, [item_id])
    return item_view(item), learned


def _learn(session: Session, search: ContentSearch, item: ContentItem, user_id: str, now: datetime) -> str | None:
    """The search's query as a new learned phrasing of the item; None when it teaches nothing new."""
    if not has_words(search.query):
        return None
    phrasing = phrasing_of(search.query)
    exists = session.scalar(
        select(ContentLearned.id).where(ContentLearned.item_id == item.id, ContentLearned.phrasing == phrasing)
    )
    tags = {t.lower() for t in item.objections or ()}
    if exists is not None or phrasing.lower() in tags or phrasing.lower() == item.title.lower():
        return None
    session.add(
        ContentLearned(item_id=item.id, phrasing=phrasing, added_by=user_id, search_id=search.id, created_at=now)
    )
    return phrasing


# --- marketing: tagging, learned phrasings, gaps ---------------------------------------------
def tag(
    session: Session,
    keeper: IndexKeeper,
    *,
    user_id: str,
    objection: str,
    item_ids: Sequence[int],
    gap_id: int | None = None,
    now: datetime,
) -> list[ItemView]:
    objection = " ".join(clean_slack_text(objection).split())
    if not objection or not has_words(objection):
        raise InvalidInput("Write the objection in words, e.g. “we already use Vantage”.")
    if len(objection) > library.MAX_OBJECTION:
        raise InvalidInput(
            f"Keep the objection under {library.MAX_OBJECTION} characters: the short way a prospect would say it."
        )
    if not item_ids:
        raise InvalidInput("Pick at least one content item.")
    if len(item_ids) > MAX_TAG_ITEMS:
        raise InvalidInput(f"Pick at most {MAX_TAG_ITEMS} items at a time.")
    require_role(session, user_id, MARKETING_ROLES, "tag content with objections")
    wanted = list(dict.fromkeys(int(i) for i in item_ids))
    items = {i.id: i for i in session.scalars(select(ContentItem).where(ContentItem.id.in_(wanted)))}
    if len(items) < len(wanted):
        raise NotFound("That content item is no longer in the library.")
    changed = []
    for item in (items[i] for i in wanted):
        tags = list(item.objections or [])
        if objection.lower() not in (t.lower() for t in tags):
            item.objections = tags + [objection]
            item.updated_at = now
            changed.append(item.id)
    if gap_id is not None:
        gap = session.get(gaps_mod.ContentGap, gap_id)
        if gap is not None:
            gap.status, gap.resolved_by, gap.resolved_at = "tagged", user_id, now
    keeper.note_changes(session, changed)
    return [item_view(items[i]) for i in wanted]


def learned_for(session: Session, user_id: str, ref: str, limit: int = 20) -> tuple[list[ItemView], list[LearnedView]]:
    """Learned phrasings of the items matching `ref` (URL or title words), or the latest ones."""
    require_role(session, user_id, MARKETING_ROLES, "see and remove learned phrasings")
    query = select(ContentLearned, ContentItem).join(ContentItem, ContentLearned.item_id == ContentItem.id)
    items: list[ItemView] = []
    if ref.strip():
        found = find_items(session, ref, limit=limit)
        if not found:
            raise NotFound(
                f"No content item matches '{escape(clean_slack_text(ref)[:80])}'. Give its URL or words of its title."
            )
        items = [item_view(i) for i in found]
        query = query.where(ContentItem.id.in_([i.id for i in found]))
    rows = session.execute(
        query.order_by(ContentLearned.created_at.desc(), ContentLearned.id.desc()).limit(limit)
    ).all()
    return items, [LearnedView(lrn.id, lrn.phrasing, it.id, it.title, lrn.added_by) for lrn, it in rows]


def remove_learned(session: Session, keeper: IndexKeeper, user_id: str, learned_id: int) -> LearnedView:
    require_role(session, user_id, MARKETING_ROLES, "remove learned phrasings")
    row = session.execute(
        select(ContentLearned, ContentItem.title)
        .join(ContentItem, ContentLearned.item_id == ContentItem.id)
        .where(ContentLearned.id == learned_id)
    ).first()
    if row is None:
        raise NotFound("That learned phrasing was already removed.")
    learned, title = row
    view = LearnedView(learned.id, learned.phrasing, learned.item_id, title, learned.added_by)
    session.execute(delete(ContentLearned).where(ContentLearned.id == learned_id))
    keeper.note_changes(session, [view.item_id])
    return view


def dismiss_gap(session: Session, user_id: str, gap_id: int, now: datetime) -> str:
    require_role(session, user_id, MARKETING_ROLES, "dismiss content gaps")
    return gaps_mod.resolve_gap(session, gap_id, "dismissed", user_id, now).objection
