"""What other features contribute to the agenda and App Home, imported lazily.

Each comes from another feature (bot.kpis.digest, bot.lead_defs.queries, bot.content.gaps);
if one is missing or fails, its section says so instead of inventing content.
Lines are mrkdwn, already escaped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.render import blocks as bk

log = logging.getLogger(__name__)


@dataclass
class Section:
    available: bool
    lines: list[str] = field(default_factory=list)
    note: str = ""


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _failed(what: str, exc: Exception) -> Section:
    log.warning("%s failed: %s", what, exc.__class__.__name__, exc_info=exc)
    return Section(False, note=f"{what} could not be loaded.")


# --- KPIs ------------------------------------------------------------------------------------
def kpis_vs_targets(session: Session, period: str, now: datetime, tz: str = "UTC") -> Section:
    """Every KPI's value for `period` against its shared target (bot.kpis.digest)."""
    try:
        from bot.kpis.digest import build_digest
        from bot.render.kpis import metric_line
    except ImportError:
        return Section(False, note="KPIs are not available in this installation.")
    try:
        digest = build_digest(session, period, now, tz=tz)
        lines = [metric_line(m) for m in digest.metrics]
    except Exception as exc:  # noqa: BLE001 - one section must not sink the agenda
        return _failed("KPIs", exc)
    if not any(m.value is not None for m in digest.metrics):
        lines.append("_No KPI values recorded for this week yet — `/kpi set`._")
    return Section(True, lines)


# --- lead definitions ----------------------------------------------------------------------------
def definition_changes(session: Session, settings, since: datetime, now: datetime) -> Section:
    """Definitions proposed (awaiting approval), changed since the last meeting, and stale."""
    try:
        from bot.lead_defs.queries import changed_since, open_proposals, stale_definitions
    except ImportError:
        return Section(False, note="Lead definitions are not available in this installation.")
    lines: list[str] = []
    try:
        for p in open_proposals(session)[:5]:
            waiting = " and ".join(p.waiting_for) or "nobody"
            lines.append(f"• Proposed: *{bk.escape(p.key)}* — {bk.quote_user_text(p.summary, 120)} "
                         f"(by <@{p.proposer}>, waiting for {waiting})")
        for c in changed_since(session, since)[:5]:
            lines.append(f"• Changed: *{bk.escape(c.key)}* v{c.version} — {bk.quote_user_text(c.summary, 120)} "
                         f"({bk.escape(c.changed_fields)})")
        for s in stale_definitions(session, now, settings.stale_after_days)[:5]:
            lines.append(f"• Stale: *{bk.escape(s.key)}* ({bk.quote_user_text(s.full_name, 60)}) not reviewed for "
                         f"{s.days_since_review} days — owner {bk.escape(s.owner)}")
    except Exception as exc:  # noqa: BLE001
        return _failed("Lead definitions", exc)
    return Section(True, lines)


def funnel(session: Session) -> Section:
    try:
        from bot.lead_defs.queries import funnel_summary
    except ImportError:
        return Section(False, note="Lead definitions are not available in this installation.")
    try:
        summary = funnel_summary(session)
    except Exception as exc:  # noqa: BLE001
        return _failed("Lead definitions", exc)
    lines = [f"{s.position}. *{bk.escape(s.key)}* — {bk.quote_user_text(s.full_name, 60)} · owner "
             f"{bk.escape(s.owner)} · SLA {bk.quote_user_text(s.sla or '—', 80)}" for s in summary.stages]
    if summary.terms:
        lines.append("Also defined: " + ", ".join(bk.escape(t) for t in summary.terms[:20]))
    return Section(True, lines)


# --- content gaps ------------------------------------------------------------------------------------
def content_gaps(session: Session, now: datetime, limit: int = 5, days: int = 30) -> Section:
    """Open content gaps seen in the last `days` days, most asked first (bot.content.gaps)."""
    try:
        from bot.content.gaps import top_gaps
    except ImportError:
        return Section(False, note="Content gaps are not available in this installation.")
    try:
        gaps = top_gaps(session, limit=limit, now=now, since=now - timedelta(days=days))
    except Exception as exc:  # noqa: BLE001
        return _failed("Content gaps", exc)
    return Section(True, [f"• “{bk.quote_user_text(g.objection, 150)}” — asked {g.count}×, last "
                          f"{g.last_seen:%Y-%m-%d}" + (f", {g.requesters} requested content" if g.requesters else "")
                          for g in gaps])
