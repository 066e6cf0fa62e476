"""App Home as a Block Kit view (data from bot/meetings/home.py)."""

from __future__ import annotations

from bot.meetings.home import HeadsWork, HomeData
from bot.render import agenda as agenda_view
from bot.render import blocks as bk
from bot.render import content as render_content
from bot.render.lead_def import stale_line, who
from bot.roles import ROLE_LABELS


def heads_blocks(work: HeadsWork, today) -> list[bk.Block]:
    blocks: list[bk.Block] = [bk.divider(), bk.header("Your work as a department head")]
    if work.waiting:
        blocks.append(bk.section(f"*Proposals waiting for your approval ({work.side})*"))
        for p in work.waiting[:10]:
            others = " and ".join(p.waiting_for)
            line = (
                f"*{bk.escape(p.key)}* — {bk.quote_user_text(p.summary, 150)} (by {who(p.proposer)}, "
                f"waiting for {others})"
            )
            blocks.append(
                bk.section(line, accessory=bk.button("Approve", "lead_def_approve", str(p.id), style="primary"))
            )
    else:
        blocks.append(bk.section("*Proposals waiting for your approval*\n_None — you are up to date._"))
    if work.stale:
        blocks.append(bk.section(f"*Definitions not reviewed in {work.stale_after_days} days*"))
        for s in work.stale[:8]:
            blocks.append(bk.section(stale_line(s), accessory=bk.button("Mark reviewed", "lead_def_review", s.key)))
        if len(work.stale) > 8:
            blocks.append(bk.context(f"{len(work.stale) - 8} more in `/lead-def stale`."))
    blocks += agenda_view.list_sections(
        "Your overdue actions", [agenda_view.action_line(a, today) for a in work.overdue], "Nothing overdue."
    )
    return blocks


def home_view(data: HomeData) -> dict:
    blocks: list[bk.Block] = [
        bk.header("revalign: sales and marketing, one playbook"),
        bk.context(f"You are a *{ROLE_LABELS[data.role]}* · `/revalign help` lists every command"),
    ]
    if data.heads is not None:
        blocks += heads_blocks(data.heads, data.agenda.today)
    blocks += [bk.divider(), bk.section("*The funnel*")]
    blocks += agenda_view.section_blocks(
        None,
        data.funnel,
        agenda_view.funnel_lines(data.funnel.items),
        "No definitions yet — `/lead-def` to see or propose one.",
    )
    blocks += [bk.divider(), bk.section(f"*KPIs this week ({data.week}) against targets*")]
    blocks += agenda_view.section_blocks(None, data.kpis, agenda_view.kpi_lines(data.kpis.items), "No KPIs.")
    blocks.append(bk.divider())
    blocks += agenda_view.agenda_blocks(data.agenda, max_blocks=30, hints=True)
    if data.gaps is not None:
        blocks += [bk.divider(), bk.section("*Open content gaps* — objections nothing answers yet")]
        blocks += agenda_view.section_blocks(
            None, data.gaps, agenda_view.gap_lines(data.gaps.items), "No content gaps right now."
        )
    if data.requests is not None:
        blocks += render_content.requests_home_blocks(data.requests)
    if len(blocks) > bk.MAX_BLOCKS_MODAL:
        blocks = blocks[: bk.MAX_BLOCKS_MODAL - 1] + [bk.context("(shortened)")]
    return {"type": "home", "blocks": blocks}
