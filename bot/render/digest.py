"""The weekly KPI digest as a Slack message (Block Kit, at most 50 blocks) and its notification text.

`revalign digest preview` prints the same blocks through `blocks.render_blocks`.
"""

from __future__ import annotations

import re
from typing import Any

from bot.kpis.digest import Digest
from bot.render import blocks as bk
from bot.render.content import summary_blocks
from bot.render.kpis import flagged_text, team_sections

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")
KEY_NUMBERS_IN_TEXT = 5


def _shared_content(digest: Digest) -> bk.Block:
    if not digest.shared_content:
        return bk.section("*Most shared content*\nNothing was shared this week.")
    lines = [
        f"{i}. "
        + (
            bk.link(item.url, item.text)
            if item.url.startswith(("http://", "https://"))
            else bk.quote_user_text(item.text, 120)
        )
        + (f" — {bk.escape(item.detail)}" if item.detail else "")
        for i, item in enumerate(digest.shared_content, 1)
    ]
    return bk.section("*Most shared content*\n" + "\n".join(lines))


def _objections(digest: Digest) -> bk.Block:
    if not digest.objections:
        return bk.section("*Top unanswered objections*\nNone: every objection found content. 🎉")
    lines = [
        f"• “{bk.quote_user_text(item.text, 150)}”" + (f" — {bk.escape(item.detail)}" if item.detail else "")
        for item in digest.objections
    ]
    return bk.section(
        "*Top unanswered objections*\n" + "\n".join(lines) + "\n_Content that answers these would help the reps most._"
    )


def _definitions(digest: Digest) -> bk.Block:
    title = "*Lead definitions changed or awaiting approval*\n"
    if not digest.definitions:
        return bk.section(title + "No changes and nothing awaiting approval.")
    lines = [
        f"• *{bk.quote_user_text(item.text, 80)}* {bk.quote_user_text(item.detail, 200)}"
        + (f" (<@{item.who}>)" if _USER_ID.match(item.who) else "")
        for item in digest.definitions
    ]
    return bk.section(title + "\n".join(lines) + "\nSee `/lead-def` for the details.")


def digest_blocks(digest: Digest) -> list[bk.Block]:
    blocks: list[bk.Block] = [
        bk.header(f"Weekly KPI digest · {digest.period}"),
        bk.context(
            f"{bk.escape(digest.period_label)} · change vs {digest.previous_period} · "
            f"{digest.recorded} of {len(digest.metrics)} KPIs recorded · targets are shared by sales and marketing"
        ),
    ]
    blocks += team_sections(digest.metrics)
    blocks += [bk.divider(), _shared_content(digest), _objections(digest), _definitions(digest)]
    if digest.marketing is not None:
        # Marketing's week (gaps and requests, Not helpful, unused), without its own header and footer.
        blocks += [bk.divider(), *summary_blocks(digest.marketing)[1:-1]]
    blocks.append(
        bk.context(
            f"The trend chart covers {digest.trend_periods[0]} – {digest.trend_periods[-1]}. "
            "`/kpi` shows this week so far; `/kpi set` records a value."
        )
    )
    return blocks[: bk.MAX_BLOCKS_MESSAGE]


def digest_text(digest: Digest) -> str:
    """Notification fallback text: the key numbers in one line (escaped, like any mrkdwn)."""
    shown = [m for m in digest.metrics if m.key_metric and m.value is not None][:KEY_NUMBERS_IN_TEXT]
    numbers = ", ".join(f"{m.name} {m.value_text}" + (f" ({m.change_text})" if m.change_text else "") for m in shown)
    text = f"Weekly KPI digest for {digest.period}: " + (numbers or "no KPIs recorded") + flagged_text(digest.metrics)
    return bk.escape(text)


def digest_message(digest: Digest) -> dict[str, Any]:
    """`chat.postMessage` arguments: text and blocks."""
    return bk.message(digest_text(digest), digest_blocks(digest))
