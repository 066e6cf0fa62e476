"""App Home: the user's role, the funnel, this period's KPIs, the next meeting and its agenda,
and (for marketers) the open content gaps."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from bot.content import requests as content_requests
from bot.render import blocks as bk
from bot.render import content as render_content
from bot.meetings import agenda as ag
from bot.meetings import sources
from bot.models import Role
from bot.roles import ROLE_LABELS, role_of
from bot.services import Services
from handlers.registry import Registrar

log = logging.getLogger(__name__)


def register(registrar: Registrar, services: Services) -> None:
    @registrar.event("app_home_opened")
    def home_opened(event, client) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = event["user"]
        client.views_publish(user_id=user_id, view=home_view(services, user_id))


def home_view(services: Services, user_id: str) -> dict:
    now = services.now()
    blocks: list[dict] = []
    with services.db.session() as session:
        role = role_of(session, user_id)
        tz = ZoneInfo(services.settings.timezone)
        blocks += [bk.header("revalign: sales and marketing, one playbook"),
                   bk.context(f"You are a *{ROLE_LABELS[role]}* · `/revalign help` lists every command")]
        funnel = sources.funnel(session)
        blocks += [bk.divider(), bk.section("*The funnel*")]
        blocks += _section_blocks(funnel, "No definitions yet — `/lead-def` to see or propose one.")
        week = sources.iso_week(now.astimezone(tz))
        kpis = sources.kpis_vs_targets(session, week, now, tz=services.settings.timezone)
        blocks += [bk.divider(), bk.section(f"*KPIs this week ({week}) against targets*")]
        blocks += _section_blocks(kpis, "No KPIs.")
        agenda = ag.build_agenda(session, services, now, full=False)
        blocks.append(bk.divider())
        blocks += ag.agenda_blocks(agenda, max_blocks=30, hints=True)
        if role in (Role.marketer, Role.marketing_head):
            gaps = sources.content_gaps(session, now)
            blocks += [bk.divider(), bk.section("*Open content gaps* — objections nothing answers yet")]
            blocks += _section_blocks(gaps, "No content gaps right now.")
            blocks += render_content.requests_home_blocks(content_requests.open_requests(session))
    if len(blocks) > bk.MAX_BLOCKS_MODAL:
        blocks = blocks[: bk.MAX_BLOCKS_MODAL - 1] + [bk.context("(shortened)")]
    return {"type": "home", "blocks": blocks}


def _section_blocks(section: sources.Section, empty: str) -> list[dict]:
    if not section.available:
        return [bk.context(section.note)]
    if not section.lines:
        return [bk.section(f"_{empty}_")]
    out, chunk = [], ""
    for line in section.lines:
        if chunk and len(chunk) + len(line) + 1 > 2900:
            out.append(bk.section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    return out + [bk.section(chunk)]
