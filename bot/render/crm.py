"""Slack messages of the CRM feature. Everything from the CRM (names, stage values) is
untrusted text: escaped here, once, in the blocks and in the fallback text."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.crm.alerts import MAX_SUMMARY_ITEMS, Breach, StageCompliance
from bot.crm.records import LABELS
from bot.render import blocks as bk


def _when(moment, tz: str) -> str:
    return f"{moment.astimezone(ZoneInfo(tz)):%a %b %d %H:%M}"


def _name(breach: Breach) -> str:
    if breach.url.startswith("https://"):
        return bk.link(breach.url, bk.truncate(" ".join(breach.name.split()), 80))
    return f"*{bk.quote_user_text(breach.name, 80)}*"


def breach_message(breach: Breach, tz: str = "UTC") -> tuple[str, list[dict]]:
    crm = LABELS[breach.connector]
    stage = bk.escape(breach.stage)
    text = (
        f"SLA missed: {bk.quote_user_text(breach.name, 80)} became {stage} {_when(breach.entered_at, tz)} "
        f"and has no follow-up in {crm} yet (due {_when(breach.deadline, tz)})"
    )
    lines = [
        f":rotating_light: *{stage} SLA missed* — {_name(breach)}",
        (
            f"Entered {stage} {_when(breach.entered_at, tz)}; due {_when(breach.deadline, tz)}; "
            f"no owner activity in {crm} since."
        ),
    ]
    if breach.sla_text:
        lines.append(f"The SLA we agreed: _{bk.quote_user_text(breach.sla_text, 200)}_")
    blocks = [
        bk.section("\n".join(lines)),
        bk.context(
            f"From {crm} · `/lead-def {bk.escape(breach.stage)}` shows the definition · posted once per lead and stage"
        ),
    ]
    return text, blocks


def summary_message(
    connector: str, day: str, recent: list[Breach], open_breaches: list[Breach], compliance: list[StageCompliance]
) -> tuple[str, list[dict]]:
    crm = LABELS[connector]
    rates = [
        f"{bk.escape(c.stage)} {c.rate * 100:.0f}% ({c.on_time}/{c.due})" for c in compliance if c.rate is not None
    ]
    text = f"CRM SLA summary for {day}: {len(recent)} new breach{'es' if len(recent) != 1 else ''}" + (
        f"; on time: {', '.join(rates)}" if rates else ""
    )
    blocks = [
        bk.header(f"SLA summary · {day}"),
        bk.section(
            f"*Follow-up within SLA, last 14 days* (from {crm})\n"
            + ("\n".join(f"• {r}" for r in rates) or "No lead reached its deadline yet.")
        ),
    ]
    if recent:
        lines = [
            f"• {_name(b)} — {bk.escape(b.stage)}, due {b.deadline:%a %H:%M} UTC" for b in recent[:MAX_SUMMARY_ITEMS]
        ]
        more = len(recent) - MAX_SUMMARY_ITEMS
        blocks.append(
            bk.section(
                f"*Missed in the last 24 h ({len(recent)})*\n"
                + "\n".join(lines)
                + (f"\n…and {more} more" if more > 0 else "")
            )
        )
    else:
        blocks.append(bk.section("*Missed in the last 24 h*\nNone. :tada:"))
    blocks.append(
        bk.context(
            f"{len(open_breaches)} breach(es) in the last 14 days · each was posted once to its owner or team channel"
        )
    )
    return text, blocks
