"""The weekly digest for the department heads: KPIs against targets, an 8-week trend chart,
the most shared content, the top unanswered objections and lead-definition changes.

Contract used by the scheduler (bot/meetings):
    build_digest(session, period, now) -> Digest          pure data
    digest_blocks(digest) -> list[dict]                    Block Kit, at most 50 blocks
    render_chart(digest) -> bytes                          PNG (matplotlib, Agg)
    send_digest(services, client, recipient, period)       see bot/meetings/digest_delivery.py
    digest_recipients(session, settings) -> list[str]      heads by role, or REVALIGN_DIGEST_CHANNEL
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from bot.render import blocks as bk
from bot.kpis import catalog, periods, targets, values
from bot.kpis.chart import render_chart

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.services import Services
    from bot.settings import Settings

log = logging.getLogger(__name__)

TREND_PERIODS = 8
TOP_CONTENT = 5
TOP_OBJECTIONS = 5
TOP_DEFINITIONS = 6
OBJECTION_WINDOW_WEEKS = 4

__all__ = ["Digest", "DigestMetric", "DigestItem", "build_digest", "digest_blocks", "render_chart",
           "send_digest", "digest_recipients", "digest_period", "digest_text"]


@dataclass
class DigestMetric:
    key: str
    name: str
    unit: str
    owner: str
    higher_is_better: bool
    is_ratio: bool
    key_metric: bool
    label: str                # short name for chart panels
    value: float | None
    previous: float | None
    target: float | None
    value_text: str
    previous_text: str
    target_text: str
    change_text: str          # "↑ 9.1%", "↓ 2.0 pts", "" when there is nothing to compare
    improving: bool | None
    progress: float | None    # share of target reached; lower-is-better metrics: target ÷ value
    on_target: bool | None
    trend: list[float | None] = field(default_factory=list)      # aligned with Digest.trend_periods
    trend_targets: list[float | None] = field(default_factory=list)


@dataclass
class DigestItem:
    text: str                 # plain text (escaped when rendered)
    detail: str = ""          # plain text
    url: str = ""
    who: str = ""             # a Slack user ID, shown as a mention


@dataclass
class Digest:
    period: str
    period_label: str
    previous_period: str
    generated_at: datetime
    trend_periods: list[str]
    metrics: list[DigestMetric]
    shared_content: list[DigestItem]
    objections: list[DigestItem]
    definitions: list[DigestItem]
    # Why a section is empty when its feature is missing or failed ("" when it worked).
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def recorded(self) -> int:
        return sum(1 for m in self.metrics if m.value is not None)

    def metric(self, key: str) -> DigestMetric:
        return next(m for m in self.metrics if m.key == key)


def digest_period(now: datetime, tz: str = "UTC") -> str:
    """The period a digest sent at `now` is about: the last full week."""
    return periods.previous_period(periods.current_period(now, tz))


# --- building ------------------------------------------------------------------------------
def digest_metric(line: values.MetricLine, *, trend: list[float | None] | None = None,
                  trend_targets: list[float | None] | None = None) -> DigestMetric:
    metric = line.metric
    return DigestMetric(
        key=metric.key, name=metric.name, unit=metric.unit, owner=metric.owner,
        higher_is_better=metric.higher_is_better, is_ratio=metric.is_ratio, key_metric=metric.key_metric,
        label=metric.label, value=line.value, previous=line.previous, target=line.target,
        value_text=catalog.format_value(metric, line.value),
        previous_text=catalog.format_value(metric, line.previous),
        target_text=catalog.format_value(metric, line.target) if line.target is not None else "",
        change_text=line.change_text, improving=line.improving, progress=line.progress,
        on_target=line.on_target, trend=trend or [], trend_targets=trend_targets or [],
    )


def build_digest(session: Session, period: str, now: datetime, *, tz: str = "UTC") -> Digest:
    week = periods.as_week(period)
    period = str(week)
    trend = periods.last_periods(period, TREND_PERIODS)
    previous = periods.previous_period(period)
    all_values = values.metric_values(session, trend if previous in trend else [previous, *trend], tz=tz)
    goals = targets.targets_for(session, trend)
    metrics = []
    for metric in catalog.CATALOG:
        line = values.MetricLine(metric, period, all_values[(metric.key, period)],
                                 all_values[(metric.key, previous)], goals[(metric.key, period)])
        metrics.append(digest_metric(line, trend=[all_values[(metric.key, p)] for p in trend],
                                     trend_targets=[goals[(metric.key, p)] for p in trend]))
    start, end = week.bounds(tz)
    notes: dict[str, str] = {}
    shared = _shared_content(session, start, end, now, notes)
    objections = _objections(session, start, end, now, notes)
    definitions = _definitions(session, start, end, now, notes)
    return Digest(period=period, period_label=week.label(), previous_period=previous, generated_at=now,
                  trend_periods=trend, metrics=metrics, shared_content=shared, objections=objections,
                  definitions=definitions, notes=notes)


def _find(modules: tuple[str, ...], names: tuple[str, ...]):
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name in names:
            fn = getattr(module, name, None)
            if callable(fn):
                return fn
    return None


def _call(fn, session: Session, **offered: Any):
    """fn(session, …) with only the keyword arguments it declares."""
    params = inspect.signature(fn).parameters
    return fn(session, **{k: v for k, v in offered.items() if k in params})


def _attr(obj: Any, *names: str) -> Any:
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value not in (None, ""):
            return value
    return None


def _shared_content(session, start, end, now, notes) -> list[DigestItem]:
    fn = _find(("bot.content", "bot.content.usage"), ("most_shared",))
    if fn is None:
        notes["shared_content"] = "The content library is not installed."
        return []
    try:
        rows = _call(fn, session, since=start, start=start, end=end, until=end, now=now, limit=TOP_CONTENT)
    except Exception:  # noqa: BLE001 - one section must not sink the digest
        log.exception("most shared content failed")
        notes["shared_content"] = "Shared content could not be loaded."
        return []
    items = []
    for row in list(rows)[:TOP_CONTENT]:
        shares = _attr(row, "shares", "count")
        items.append(DigestItem(str(_attr(row, "title", "name") or row),
                                f"{shares} share{'s' if shares != 1 else ''}" if shares is not None else "",
                                str(_attr(row, "url") or "")))
    return items


def _objections(session, start, end, now, notes) -> list[DigestItem]:
    fn = _find(("bot.content", "bot.content.gaps"), ("top_gaps",))
    if fn is None:
        notes["objections"] = "Objection tracking is not installed."
        return []
    try:
        since = start - timedelta(weeks=OBJECTION_WINDOW_WEEKS - 1)
        rows = _call(fn, session, limit=TOP_OBJECTIONS, now=min(now, end), since=since)
    except Exception:  # noqa: BLE001
        log.exception("top unanswered objections failed")
        notes["objections"] = "Unanswered objections could not be loaded."
        return []
    items = []
    for row in list(rows)[:TOP_OBJECTIONS]:
        count = _attr(row, "count")
        items.append(DigestItem(str(_attr(row, "objection", "text", "query") or row),
                                f"asked {count}×" if count else ""))
    return items


_LEAD_DEF_MODULES = ("bot.lead_defs.queries", "bot.lead_defs")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def _definitions(session, start, end, now, notes) -> list[DigestItem]:
    """bot.lead_defs.queries.changed_since(session, since) and open_proposals(session)."""
    changed_fn = _find(_LEAD_DEF_MODULES, ("changed_since",))
    proposals_fn = _find(_LEAD_DEF_MODULES, ("open_proposals",))
    if changed_fn is None and proposals_fn is None:
        notes["definitions"] = "Lead definitions are not installed."
        return []
    items: list[DigestItem] = []
    try:
        if changed_fn is not None:
            for row in list(_call(changed_fn, session, since=start, now=now))[-TOP_DEFINITIONS:]:
                version = _attr(row, "version")
                fields = _attr(row, "changed_fields")
                detail = "changed" + (f" to v{version}" if version else "") + (f": {fields}" if fields else "")
                summary = _attr(row, "summary")
                items.append(DigestItem(str(_attr(row, "key", "term", "name", "title") or row),
                                        detail + (f" — “{summary}”" if summary else ""),
                                        who=str(_attr(row, "author", "changed_by") or "")))
        if proposals_fn is not None:
            for row in list(_call(proposals_fn, session, now=now))[:TOP_DEFINITIONS]:
                waiting = getattr(row, "waiting_for", None)
                detail = "awaiting approval" + (f" from the {' and '.join(waiting)}" if waiting else "")
                summary = _attr(row, "summary")
                items.append(DigestItem(str(_attr(row, "key", "term", "name", "title") or row),
                                        detail + (f" — “{summary}”" if summary else ""),
                                        who=str(_attr(row, "proposer") or "")))
    except Exception:  # noqa: BLE001
        log.exception("lead definition changes failed")
        notes["definitions"] = "Lead definition changes could not be loaded."
    return items


# --- Block Kit ---------------------------------------------------------------------------------
def metric_line(m: DigestMetric) -> str:
    parts = [f"*{bk.escape(m.name)}*: {m.value_text}"]
    if m.change_text:
        verdict = ""
        if not m.higher_is_better and m.improving is not None:
            verdict = " (better)" if m.improving else " (worse)"
        parts.append(f"{m.change_text}{verdict} vs {m.previous_text}")
    if m.target is not None and m.value is not None:
        mark = " ✅" if m.on_target else (" ⚠️" if m.progress is not None and m.progress < 0.8 else "")
        parts.append(f"target {m.target_text} {values.progress_bar(m.progress)} {m.progress * 100:.0f}%{mark}")
    elif m.target is not None:
        parts.append(f"target {m.target_text}")
    if m.value is None:
        parts[0] = f"*{bk.escape(m.name)}*: — _not recorded_"
    return "• " + "  ·  ".join(parts)


def digest_blocks(digest: Digest) -> list[dict]:
    blocks: list[dict] = [
        bk.header(f"Weekly KPI digest · {digest.period}"),
        bk.context(f"{bk.escape(digest.period_label)} · change vs {digest.previous_period} · "
                   f"{digest.recorded} of {len(digest.metrics)} KPIs recorded · targets are shared by sales and marketing"),
    ]
    for owner in (catalog.SHARED, catalog.MARKETING, catalog.SALES):
        lines = [metric_line(m) for m in digest.metrics if m.owner == owner]
        if lines:
            blocks.append(bk.section(f"*{catalog.TEAM_LABELS[owner]} KPIs*\n" + "\n".join(lines)))
    blocks.append(bk.divider())
    if digest.shared_content:
        lines = [f"{i}. " + (bk.link(item.url, item.text) if item.url.startswith(("http://", "https://"))
                              else bk.quote_user_text(item.text, 120))
                 + (f" — {bk.escape(item.detail)}" if item.detail else "")
                 for i, item in enumerate(digest.shared_content, 1)]
        blocks.append(bk.section("*Most shared content*\n" + "\n".join(lines)))
    else:
        blocks.append(bk.section("*Most shared content*\n" + (digest.notes.get("shared_content")
                                                               or "Nothing was shared this week.")))
    if digest.objections:
        lines = [f"• “{bk.quote_user_text(item.text, 150)}”" + (f" — {bk.escape(item.detail)}" if item.detail else "")
                 for item in digest.objections]
        blocks.append(bk.section("*Top unanswered objections*\n" + "\n".join(lines)
                                 + "\n_Content that answers these would help the reps most._"))
    else:
        blocks.append(bk.section("*Top unanswered objections*\n" + (digest.notes.get("objections")
                                                                     or "None: every objection found content. 🎉")))
    if digest.definitions:
        lines = [f"• *{bk.quote_user_text(item.text, 80)}* {bk.quote_user_text(item.detail, 200)}"
                 + (f" (<@{item.who}>)" if _USER_ID.match(item.who) else "") for item in digest.definitions]
        blocks.append(bk.section("*Lead definitions changed or awaiting approval*\n" + "\n".join(lines)
                                 + "\nSee `/lead-def` for the details."))
    else:
        blocks.append(bk.section("*Lead definitions changed or awaiting approval*\n"
                                 + (digest.notes.get("definitions") or "No changes and nothing awaiting approval.")))
    blocks.append(bk.context(f"The trend chart covers {digest.trend_periods[0]} – {digest.trend_periods[-1]}. "
                             "`/kpi` shows this week so far; `/kpi set` records a value."))
    return blocks[: bk.MAX_BLOCKS_MESSAGE]


def digest_text(digest: Digest) -> str:
    """Notification fallback text: the key numbers in one line."""
    shown = [m for m in digest.metrics if m.key_metric and m.value is not None][:5]
    numbers = ", ".join(f"{m.name} {m.value_text}" + (f" ({m.change_text})" if m.change_text else "") for m in shown)
    return f"Weekly KPI digest for {digest.period}: " + (numbers or "no KPIs recorded")


# --- sending ---------------------------------------------------------------------------------------
def send_digest(services: "Services", client: "WebClient", recipient: str, period: str) -> dict[str, str]:
    """Moved to bot/meetings/digest_delivery.py (the delivery code); kept here for its callers."""
    from bot.meetings.digest_delivery import send_digest as send

    return send(services, client, recipient, period)


def digest_recipients(session: Session, settings: "Settings") -> list[str]:
    """REVALIGN_DIGEST_CHANNEL if set, otherwise every sales head and marketing head (DMs)."""
    from bot import roles
    from bot.models import Role

    channel = getattr(settings, "digest_channel", None)
    if channel:
        return [channel]
    heads = roles.users_with_role(session, Role.sales_head) + roles.users_with_role(session, Role.marketing_head)
    return sorted(dict.fromkeys(heads))
