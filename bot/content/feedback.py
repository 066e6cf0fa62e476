"""What reps and marketers teach the search: shares, Helpful / Not helpful, tags, learned phrasings, gaps.

Every write logs the changed items (`content_changes`) and asks the index keeper to apply
them in the background, so the Slack listener is acknowledged without waiting for the index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.content import gaps as gaps_mod
from bot.content import library
from bot.content.search import ItemView, item_view, owned_search
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


def log_changed(session: Session, item_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(i) for i in item_ids})
    library.log_change(session, ids)
    return ids


class Feedback:
    def __init__(
        self, db, now, refresh_soon: Callable[[Iterable[int]], None], find_items: Callable[..., list[ContentItem]]
    ) -> None:
        self.db = db
        self.now = now
        self.refresh_soon = refresh_soon
        self.find_items = find_items

    # --- reps: shares and feedback on their own search's results --------------------------
    def _shown_item(
        self, session: Session, *, user_id: str, search_id: int | None, item_id: int, action: str
    ) -> tuple[ContentSearch, ContentItem]:
        """Only the rep who ran the search, and only items it showed (More results included)."""
        search = owned_search(session, search_id, user_id, action)
        if item_id not in [int(i) for i in search.result_ids or []]:
            raise InvalidInput("That item was not among this search's results; run /content again.")
        return search, get_item(session, item_id)

    def record_share(self, *, user_id: str, channel_id: str, search_id: int | None, item_id: int) -> ItemView:
        with self.db.session() as session:
            _, item = self._shown_item(
                session, user_id=user_id, search_id=search_id, item_id=item_id, action="share results"
            )
            session.add(
                ContentEvent(
                    kind="share",
                    user_id=user_id,
                    channel_id=channel_id or "",
                    search_id=search_id,
                    item_id=item_id,
                    created_at=self.now(),
                )
            )
            return item_view(item)

    def record_feedback(
        self, *, user_id: str, channel_id: str, search_id: int | None, item_id: int, helpful: bool
    ) -> tuple[ItemView, str | None]:
        """A Helpful click makes the query a learned phrasing of the item; Not helpful demotes the
        item for similar queries (both reach the index in the background).

        Returns the item and the phrasing learned (None when nothing new was learned)."""
        learned: str | None = None
        with self.db.session() as session:
            search, item = self._shown_item(
                session, user_id=user_id, search_id=search_id, item_id=item_id, action="give feedback"
            )
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
                    created_at=self.now(),
                )
            )
            changed = not helpful and already is None
            if helpful and has_words(search.query):
                phrasing = phrasing_of(search.query)
                exists = session.scalar(
                    select(ContentLearned.id).where(
                        ContentLearned.item_id == item_id, ContentLearned.phrasing == phrasing
                    )
                )
                tags = {t.lower() for t in item.objections or ()}
                if exists is None and phrasing.lower() not in tags and phrasing.lower() != item.title.lower():
                    session.add(
                        ContentLearned(
                            item_id=item_id,
                            phrasing=phrasing,
                            added_by=user_id,
                            search_id=search.id,
                            created_at=self.now(),
                        )
                    )
                    learned = phrasing
                    changed = True
            if changed:
                log_changed(session, [item_id])
            view = item_view(item)
        if changed:
            self.refresh_soon([item_id])
        return view, learned

    # --- marketing: tagging, learned phrasings, gaps ---------------------------------------
    def require_marketer(self, user_id: str, action: str) -> None:
        with self.db.session() as session:
            require_role(session, user_id, MARKETING_ROLES, action)

    def tag(
        self, *, user_id: str, objection: str, item_ids: Sequence[int], gap_id: int | None = None
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
        now = self.now()
        with self.db.session() as session:
            require_role(session, user_id, MARKETING_ROLES, "tag content with objections")
            views = []
            changed = []
            for item_id in dict.fromkeys(int(i) for i in item_ids):
                item = get_item(session, item_id)
                tags = list(item.objections or [])
                if objection.lower() not in (t.lower() for t in tags):
                    item.objections = tags + [objection]
                    item.updated_at = now
                    changed.append(item_id)
                views.append(item_view(item))
            if gap_id is not None:
                gap = session.get(gaps_mod.ContentGap, gap_id)
                if gap is not None:
                    gap.status, gap.resolved_by, gap.resolved_at = "tagged", user_id, now
            log_changed(session, changed)
        self.refresh_soon(changed)
        return views

    def learned_for(self, user_id: str, ref: str, limit: int = 20) -> tuple[list[ItemView], list[LearnedView]]:
        """Learned phrasings of the items matching `ref` (URL or title words), or the latest ones."""
        with self.db.session() as session:
            require_role(session, user_id, MARKETING_ROLES, "see and remove learned phrasings")
            query = select(ContentLearned, ContentItem).join(ContentItem, ContentLearned.item_id == ContentItem.id)
            items: list[ItemView] = []
            if ref.strip():
                found = self.find_items(session, ref, limit=limit)
                if not found:
                    raise NotFound(
                        f"No content item matches '{escape(clean_slack_text(ref)[:80])}'. "
                        "Give its URL or words of its title."
                    )
                items = [item_view(i) for i in found]
                query = query.where(ContentItem.id.in_([i.id for i in found]))
            rows = session.execute(
                query.order_by(ContentLearned.created_at.desc(), ContentLearned.id.desc()).limit(limit)
            ).all()
            return items, [LearnedView(lrn.id, lrn.phrasing, it.id, it.title, lrn.added_by) for lrn, it in rows]

    def remove_learned(self, user_id: str, learned_id: int) -> LearnedView:
        with self.db.session() as session:
            require_role(session, user_id, MARKETING_ROLES, "remove learned phrasings")
            row = session.get(ContentLearned, learned_id)
            if row is None:
                raise NotFound("That learned phrasing was already removed.")
            view = LearnedView(row.id, row.phrasing, row.item_id, row.item.title, row.added_by)
            session.execute(delete(ContentLearned).where(ContentLearned.id == learned_id))
            log_changed(session, [view.item_id])
        self.refresh_soon([view.item_id])
        return view

    def gaps(self, user_id: str, limit: int = 15) -> list[gaps_mod.GapSummary]:
        with self.db.session() as session:
            require_role(session, user_id, MARKETING_ROLES, "see content gaps")
            return gaps_mod.top_gaps(session, limit)

    def gap_objection(self, gap_id: int) -> str:
        with self.db.session() as session:
            return gaps_mod.get_gap(session, gap_id).objection

    def dismiss_gap(self, user_id: str, gap_id: int) -> str:
        with self.db.session() as session:
            require_role(session, user_id, MARKETING_ROLES, "dismiss content gaps")
            gap = gaps_mod.resolve_gap(session, gap_id, "dismissed", user_id, self.now())
            return gap.objection
