"""Content requests: a rep asks marketing for what a search did not find.

A request lands on the gap its search landed on (or a new gap when the search did find
something the rep says does not fit), so marketing sees one gap with its count of requesters
and their words. When the gap is answered, each requester gets one DM with the content:
`ContentRequest.notified_at` is claimed in a single conditional UPDATE before the DM is sent
(two processes closing the same gap cannot both send) and released if Slack refuses, so a
later run retries it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.content import gaps as gaps_mod
from bot.content.text import has_words
from bot.errors import InvalidInput, NotFound
from bot.models.content import ContentGap, ContentItem, ContentRequest, ContentSearch

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlalchemy.engine import CursorResult

    from bot.services import Services

log = logging.getLogger(__name__)

MAX_NEED = 1000
MAX_PROSPECT = 200
ANSWERED = ("answered", "tagged")


@dataclass(frozen=True)
class RequestView:
    id: int
    gap_id: int
    user_id: str
    need: str
    prospect: str
    stage: str
    due_date: date | None
    created_at: datetime


@dataclass(frozen=True)
class FiledRequest:
    request: RequestView
    gap_objection: str
    requesters: int  # distinct reps who asked on this gap, this one included


@dataclass(frozen=True)
class GapRequests:
    gap_id: int
    objection: str
    requesters: int
    requests: tuple[RequestView, ...]  # the latest first
    last_requested: datetime


@dataclass(frozen=True)
class AnswerItem:
    id: int
    title: str
    url: str
    summary: str


@dataclass(frozen=True)
class AnswerNotice:
    """What one requester is told when their gap is answered."""

    user_id: str
    gap_id: int
    objection: str
    needs: tuple[str, ...]
    item: AnswerItem


def _view(row: ContentRequest) -> RequestView:
    return RequestView(row.id, row.gap_id, row.user_id, row.need, row.prospect, row.stage, row.due_date, row.created_at)


@dataclass(frozen=True)
class RequestForm:
    """What the rep filled in on the request modal."""

    need: str
    prospect: str = ""
    stage: str = ""
    due: date | None = None


def validate(form: RequestForm, today: date) -> RequestForm:
    """The form with need and prospect cleaned; raises InvalidInput naming the field's problem."""
    need = " ".join((form.need or "").split())
    if not has_words(need):
        raise InvalidInput("Say in words what you need, e.g. “a case study for a hospital on-prem install”.")
    if len(need) > MAX_NEED:
        raise InvalidInput(f"Keep what you need under {MAX_NEED} characters.")
    prospect = " ".join((form.prospect or "").split())
    if len(prospect) > MAX_PROSPECT:
        raise InvalidInput(f"Keep the prospect under {MAX_PROSPECT} characters.")
    if form.due is not None and form.due < today:
        raise InvalidInput("The due date is in the past.")
    return replace(form, need=need, prospect=prospect)


def file_request(
    session: Session, form: RequestForm, *, user_id: str, channel_id: str, search_id: int | None, now: datetime
) -> FiledRequest:
    """Record a (validated) request on its search's gap. A search that found content the rep says
    does not fit gets a gap of its own, so marketing sees the ask."""
    search = session.get(ContentSearch, search_id) if search_id is not None else None
    if search is None:
        raise NotFound("That search is too old to request content from; run /content again.")
    gap = session.get(ContentGap, search.gap_id) if search.gap_id else None
    if gap is None or gap.status != "open":
        gap = gaps_mod.add_to_gap(session, None, search.query, now)
        search.gap_id = gap.id
    row = ContentRequest(
        gap_id=gap.id,
        search_id=search.id,
        user_id=user_id,
        channel_id=channel_id or "",
        need=form.need,
        prospect=form.prospect,
        stage=form.stage or "",
        due_date=form.due,
        created_at=now,
    )
    session.add(row)
    session.flush()
    requesters = int(
        session.scalar(select(func.count(func.distinct(ContentRequest.user_id))).where(ContentRequest.gap_id == gap.id))
        or 0
    )
    return FiledRequest(_view(row), gap.objection, requesters)


def search_query(session: Session, search_id: int) -> str:
    """What the rep searched, to start the request's "what do you need" with."""
    search = session.get(ContentSearch, search_id)
    if search is None:
        raise NotFound("That search is too old to request content from; run /content again.")
    return search.query


def requests_by_gap(session: Session, gap_ids: list[int], per_gap: int = 3) -> dict[int, GapRequests]:
    """Requests on these gaps (one query), for listing them with the gaps."""
    if not gap_ids:
        return {}
    rows = session.execute(
        select(ContentRequest, ContentGap.objection)
        .join(ContentGap, ContentGap.id == ContentRequest.gap_id)
        .where(ContentRequest.gap_id.in_(gap_ids))
        .order_by(ContentRequest.created_at.desc(), ContentRequest.id.desc())
    ).all()
    grouped: dict[int, list[tuple[RequestView, str]]] = defaultdict(list)
    for row, objection in rows:
        grouped[row.gap_id].append((_view(row), objection))
    out = {}
    for gap_id, entries in grouped.items():
        views = [v for v, _ in entries]
        out[gap_id] = GapRequests(
            gap_id, entries[0][1], len({v.user_id for v in views}), tuple(views[:per_gap]), views[0].created_at
        )
    return out


def open_requests(session: Session, limit: int = 10, since: datetime | None = None) -> list[GapRequests]:
    """Open gaps that reps asked content for, most requesters first: for /content gaps, the
    marketer's Home, the digest and the agenda."""
    requesters = func.count(func.distinct(ContentRequest.user_id))
    query = (
        select(ContentRequest.gap_id)
        .join(ContentGap, ContentGap.id == ContentRequest.gap_id)
        .where(ContentGap.status == "open")
    )
    if since is not None:
        query = query.where(ContentRequest.created_at >= since)
    gap_ids = list(
        session.scalars(
            query.group_by(ContentRequest.gap_id)
            .order_by(requesters.desc(), func.max(ContentRequest.created_at).desc())
            .limit(limit)
        )
    )
    found = requests_by_gap(session, gap_ids)
    return [found[g] for g in gap_ids if g in found]


# --- telling requesters their content is ready ---------------------------------------------
def pending_notices(session: Session, gap_ids: list[int] | None = None) -> list[AnswerNotice]:
    """Requesters of answered gaps not yet told, one notice per (gap, requester)."""
    query = (
        select(ContentRequest.user_id, ContentRequest.need, ContentGap.id, ContentGap.objection, ContentItem)
        .join(ContentGap, ContentGap.id == ContentRequest.gap_id)
        .join(ContentItem, ContentItem.id == ContentGap.answered_item_id)
        .where(ContentRequest.notified_at.is_(None), ContentGap.status.in_(ANSWERED))
        .order_by(ContentGap.id, ContentRequest.user_id, ContentRequest.id)
    )
    if gap_ids is not None:
        query = query.where(ContentGap.id.in_(gap_ids))
    grouped: dict[tuple[int, str], list] = {}
    for user_id, need, gap_id, objection, item in session.execute(query):
        grouped.setdefault((gap_id, user_id), [objection, item, []])[2].append(need)
    return [
        AnswerNotice(
            user_id,
            gap_id,
            objection,
            tuple(dict.fromkeys(needs)),
            AnswerItem(item.id, item.title, item.url, item.summary or ""),
        )
        for (gap_id, user_id), (objection, item, needs) in grouped.items()
    ]


def claim(services: Services, notice: AnswerNotice) -> bool:
    """Take the right to send this notice (exactly one caller wins), in its own transaction."""
    with services.db.session() as session:
        claimed = (
            update(ContentRequest)
            .where(
                ContentRequest.gap_id == notice.gap_id,
                ContentRequest.user_id == notice.user_id,
                ContentRequest.notified_at.is_(None),
            )
            .values(notified_at=services.now())
        )
        result = cast("CursorResult[Any]", session.execute(claimed))
        return (result.rowcount or 0) > 0


def release(services: Services, notice: AnswerNotice, claimed_at_or_after: datetime) -> None:
    """Slack refused the DM: hand the notice back so a later run sends it."""
    with services.db.session() as session:
        session.execute(
            update(ContentRequest)
            .where(
                ContentRequest.gap_id == notice.gap_id,
                ContentRequest.user_id == notice.user_id,
                ContentRequest.notified_at >= claimed_at_or_after,
            )
            .values(notified_at=None)
        )


def notify_requesters(services: Services, client: WebClient, gap_ids: list[int] | None = None) -> int:
    """DM every requester of the answered gaps (all answered gaps when None) the content that
    answers them; returns how many DMs went out. Safe to run concurrently and to re-run."""
    from bot.render import content as render

    with services.db.session() as session:
        notices = pending_notices(session, gap_ids)
    sent = 0
    for notice in notices:
        started = services.now()
        if not claim(services, notice):
            continue
        try:
            channel = client.conversations_open(users=notice.user_id)["channel"]["id"]
            client.chat_postMessage(channel=channel, **render.answer_notice(notice), unfurl_links=False)
            sent += 1
        except Exception as exc:  # noqa: BLE001 - Slack down or refusing: retried on the next run
            log.warning("could not DM requester of gap %s (%s); will retry", notice.gap_id, exc.__class__.__name__)
            release(services, notice, started)
    return sent
