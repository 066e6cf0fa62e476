"""The content report: what marketing's library is used for, what is never used, and what reps dislike.

Every number comes from a handful of aggregate queries (GROUP BY over searches and events, the
search results unnested with the database's own JSON table function), never from a query per
item: a report over 100k searches and 10k items takes well under a second (benchmarks/bench_report.py).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, and_, case, cast, func, select, true
from sqlalchemy.orm import Session

from bot.content.items import ItemRef
from bot.content.vocabulary import DEFAULT_STAGES
from bot.errors import InvalidInput
from bot.models.content import ContentEvent, ContentItem, ContentSearch

DEFAULT_DAYS = 30
PHRASINGS_PER_ITEM = 3
TOP_OBJECTIONS = 10
MOST_NOT_HELPFUL = 5
PERIOD_HELP = "`30d`, `12w`, `week`, `month`, `quarter`, `year`, `all` or a start date such as `2026-11-01`"


@dataclass(frozen=True)
class ItemUsage(ItemRef):
    shown: int = 0  # searches whose results included it
    shares: int = 0
    helpful: int = 0
    not_helpful: int = 0
    last_used: datetime | None = None  # last shown, shared or rated
    not_helpful_phrasings: tuple[str, ...] = ()  # what reps searched when they clicked Not helpful


@dataclass(frozen=True)
class UnusedGroup:
    type: str
    stage: str
    never_shown: tuple[ItemUsage, ...]
    never_shared: tuple[ItemUsage, ...]  # shown in results, but nobody shared it

    @property
    def count(self) -> int:
        return len(self.never_shown) + len(self.never_shared)


@dataclass(frozen=True)
class SearchedObjection:
    text: str
    searches: int
    no_match: int
    last: datetime | None


@dataclass(frozen=True)
class StageUsage:
    stage: str
    items: int
    shown: int
    shares: int
    helpful: int
    not_helpful: int
    unused: int


@dataclass
class ContentReport:
    period: Period
    searches: int
    no_match_searches: int
    shares: int
    helpful: int
    not_helpful: int
    items: list[ItemUsage]  # every item, most shown first
    unused: list[UnusedGroup]  # by type and stage, largest group first
    most_not_helpful: list[ItemUsage]
    top_objections: list[SearchedObjection]
    stages: list[StageUsage] = field(default_factory=list)

    @property
    def unused_count(self) -> int:
        return sum(g.count for g in self.unused)


# --- the period ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """The report's time window; the end is "now"."""

    start: datetime
    end: datetime
    label: str


_SPAN = re.compile(r"^(\d{1,4})\s*(d|day|days|w|wk|week|weeks)$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_period(text: str, now: datetime) -> Period:
    """`30d`, `12w`, `week`, `month`, `quarter`, `year`, `all`, or `YYYY-MM-DD` (since that day)."""
    word = " ".join((text or "").lower().split()).removeprefix("since ").removeprefix("last ")
    if not word:
        return Period(now - timedelta(days=DEFAULT_DAYS), now, f"the last {DEFAULT_DAYS} days")
    named = {"week": 7, "month": 30, "quarter": 91, "year": 365}
    if word in named:
        return Period(now - timedelta(days=named[word]), now, f"the last {named[word]} days")
    if word == "all":
        return Period(datetime(2000, 1, 1, tzinfo=now.tzinfo), now, "all time")
    span = _SPAN.match(word)
    if span:
        count, unit = int(span.group(1)), span.group(2)
        days = count * (7 if unit.startswith("w") else 1)
        if not 1 <= days <= 3660:
            raise InvalidInput(f"Pick a period between 1 day and 10 years, e.g. {PERIOD_HELP}.")
        return Period(now - timedelta(days=days), now, f"the last {days} days")
    day = _DATE.match(word)
    if day:
        try:
            start = datetime(int(day.group(1)), int(day.group(2)), int(day.group(3)), tzinfo=now.tzinfo)
        except ValueError:
            raise InvalidInput(f"`{word}` is not a date. Use YYYY-MM-DD, e.g. 2026-11-01.") from None
        if start >= now:
            raise InvalidInput("The report's start date must be in the past.")
        return Period(start, now, f"since {start:%b %-d, %Y}")
    raise InvalidInput(f"I don't know the period `{word[:40]}`. Use {PERIOD_HELP}.")


# --- the queries -----------------------------------------------------------------------------
def _result_ids(session: Session):
    """A table function unnesting content_searches.result_ids (SQLite json_each, PostgreSQL json_array_elements_text)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.json_array_elements_text(ContentSearch.result_ids).table_valued("value")
    return func.json_each(ContentSearch.result_ids).table_valued("value")


def _in(column, period: Period):
    """Inside the period: the end is "now", so it is included (a click this second counts)."""
    return and_(column >= period.start, column <= period.end)


def build_report(session: Session, period: Period) -> ContentReport:
    # Times each item was shown: the searches' result lists, unnested and grouped in the database.
    result_ids = _result_ids(session)
    shown_id = cast(result_ids.c.value, Integer)
    shown_rows = session.execute(
        select(shown_id.label("item_id"), func.count().label("n"), func.max(ContentSearch.created_at).label("last"))
        .select_from(ContentSearch)
        .join(result_ids, true())
        .where(_in(ContentSearch.created_at, period))
        .group_by(shown_id)
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)  # item id -> {"shown": n, "share": n, ...}
    last_used: dict[int, datetime] = {}
    for item_id, count, last in shown_rows:
        counts[int(item_id)]["shown"] = int(count)
        _note_use(last_used, int(item_id), last)

    event_rows = session.execute(
        select(ContentEvent.item_id, ContentEvent.kind, func.count(), func.max(ContentEvent.created_at))
        .where(_in(ContentEvent.created_at, period))
        .group_by(ContentEvent.item_id, ContentEvent.kind)
    )
    totals = {"share": 0, "helpful": 0, "not_helpful": 0}
    for item_id, kind, count, last in event_rows:
        totals[kind] = totals.get(kind, 0) + int(count)
        counts[item_id][kind] = int(count)
        _note_use(last_used, item_id, last)

    phrasings = _not_helpful_phrasings(session, period)
    items = {}
    for row in session.execute(
        select(
            ContentItem.id, ContentItem.title, ContentItem.url, ContentItem.type, ContentItem.stage, ContentItem.persona
        )
    ):
        counted = counts.get(row.id, {})
        items[row.id] = ItemUsage(
            *row,
            shown=counted.get("shown", 0),
            shares=counted.get("share", 0),
            helpful=counted.get("helpful", 0),
            not_helpful=counted.get("not_helpful", 0),
            last_used=last_used.get(row.id),
            not_helpful_phrasings=phrasings.get(row.id, ()),
        )

    ordered = sorted(items.values(), key=lambda i: (-i.shown, -i.shares, i.title.lower(), i.id))
    searches, no_match, top_objections = _searches(session, period)
    return ContentReport(
        period=period,
        searches=searches,
        no_match_searches=no_match,
        shares=totals["share"],
        helpful=totals["helpful"],
        not_helpful=totals["not_helpful"],
        items=ordered,
        unused=_unused_groups(ordered),
        most_not_helpful=sorted(
            (i for i in ordered if i.not_helpful), key=lambda i: (-i.not_helpful, i.helpful, i.title.lower())
        )[:MOST_NOT_HELPFUL],
        top_objections=top_objections,
        stages=_stages(ordered),
    )


def _not_helpful_phrasings(session: Session, period: Period) -> dict[int, tuple[str, ...]]:
    """The latest few distinct queries behind each item's Not helpful clicks (a window function, one query)."""
    ranked = (
        select(
            ContentEvent.item_id,
            ContentSearch.query,
            func.row_number()
            .over(partition_by=(ContentEvent.item_id, func.lower(ContentSearch.query)), order_by=ContentEvent.id.desc())
            .label("dup"),
            func.max(ContentEvent.id)
            .over(partition_by=(ContentEvent.item_id, func.lower(ContentSearch.query)))
            .label("latest"),
        )
        .join(ContentSearch, ContentSearch.id == ContentEvent.search_id)
        .where(ContentEvent.kind == "not_helpful", _in(ContentEvent.created_at, period))
        .subquery()
    )
    distinct = select(ranked.c.item_id, ranked.c.query, ranked.c.latest).where(ranked.c.dup == 1).subquery()
    numbered = select(
        distinct.c.item_id,
        distinct.c.query,
        func.row_number().over(partition_by=distinct.c.item_id, order_by=distinct.c.latest.desc()).label("n"),
    ).subquery()
    out: dict[int, list[str]] = defaultdict(list)
    for item_id, query, _ in session.execute(
        select(numbered).where(numbered.c.n <= PHRASINGS_PER_ITEM).order_by(numbered.c.item_id, numbered.c.n)
    ):
        out[item_id].append(query)
    return {k: tuple(v) for k, v in out.items()}


def _searches(session: Session, period: Period) -> tuple[int, int, list[SearchedObjection]]:
    """(searches, searches with no good match, the objections searched most) from one GROUP BY query.

    Grouped by the exact text in SQL, then case/space variants are merged here: a few thousand
    rows, cheaper than grouping by lower(trim(query)) in the database."""
    rows = session.execute(
        select(
            ContentSearch.query,
            func.count(ContentSearch.id),
            func.sum(case((ContentSearch.confident.is_(False), 1), else_=0)),
            func.max(ContentSearch.created_at),
        )
        .where(_in(ContentSearch.created_at, period))
        .group_by(ContentSearch.query)
    )
    merged: dict[str, list] = {}  # key -> [name, searches, no_match, last, the name's own count]
    total = no_match_total = 0
    for text, count, no_match, last in rows:
        count, no_match = int(count), int(no_match or 0)
        total += count
        no_match_total += no_match
        key = " ".join(text.lower().split())
        entry = merged.setdefault(key, [text, 0, 0, last, count])
        if count > entry[4]:
            entry[0], entry[4] = text, count  # the most common spelling names the group
        entry[1] += count
        entry[2] += no_match
        entry[3] = max(entry[3], last)
    top = sorted(merged.values(), key=lambda e: (e[1], e[3]), reverse=True)[:TOP_OBJECTIONS]
    return total, no_match_total, [SearchedObjection(t, n, m, _as_utc(last)) for t, n, m, last, _ in top]


def _unused_groups(items: list[ItemUsage]) -> list[UnusedGroup]:
    groups: dict[tuple[str, str], tuple[list[ItemUsage], list[ItemUsage]]] = defaultdict(lambda: ([], []))
    for item in items:
        if item.shares == 0:
            groups[(item.type, item.stage)][0 if item.shown == 0 else 1].append(item)
    out = [
        UnusedGroup(t, s, tuple(sorted(a, key=lambda i: i.title.lower())), tuple(b))
        for (t, s), (a, b) in groups.items()
    ]
    return sorted(out, key=lambda g: (-g.count, g.type, g.stage))


def _stages(items: list[ItemUsage]) -> list[StageUsage]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    for item in items:
        row = sums[item.stage]
        row[0] += 1
        row[1] += item.shown
        row[2] += item.shares
        row[3] += item.helpful
        row[4] += item.not_helpful
        row[5] += 1 if item.shares == 0 else 0
    return [StageUsage(stage, *values) for stage, values in sorted(sums.items(), key=lambda kv: _stage_order(kv[0]))]


def _note_use(last_used: dict[int, datetime], item_id: int, when) -> None:
    when = _as_utc(when)
    if when is not None and (item_id not in last_used or when > last_used[item_id]):
        last_used[item_id] = when


def _stage_order(stage: str) -> tuple[int, str]:
    """Funnel order (the vocabulary's), unknown stages last."""
    return (DEFAULT_STAGES.index(stage) if stage in DEFAULT_STAGES else len(DEFAULT_STAGES), stage)


def _as_utc(value) -> datetime | None:
    """MAX() over a UTCDateTime column can come back as SQLite's naive text; make it an aware UTC datetime."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value if value.tzinfo else value.replace(tzinfo=UTC)
