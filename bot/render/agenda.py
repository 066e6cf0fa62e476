"""The alignment meeting's agenda, /agenda replies, action-item DMs and schedule lines, as Block Kit.

Stored text is plain; it is escaped here, once (also in the notification `text`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from bot.content.gaps import GapSummary
from bot.kpis.digest import DigestMetric
from bot.lead_defs.queries import FunnelSummary
from bot.meetings import schedules as sch
from bot.meetings.agenda import Agenda
from bot.meetings.sources import DefinitionNews, Section
from bot.models.scheduling import ActionItem, AgendaItem, Schedule
from bot.render import blocks as bk
from bot.render.kpis import metric_line

HINTS = (
    "`/agenda add <text>` · `/agenda remove N` · `/agenda action @owner YYYY-MM-DD <text>` · "
    "`/agenda done N` · `/agenda reassign N @person`"
)


# --- shared shapes -----------------------------------------------------------------------------
def list_sections(title: str | None, lines: Sequence[str], empty: str) -> list[bk.Block]:
    """A titled list as as few sections as Slack's 3,000-character limit allows."""
    head = f"*{title}*" if title else ""
    if not lines:
        return [bk.section(f"{head}\n_{empty}_" if head else f"_{empty}_")]
    out, chunk = [], head
    for line in lines:
        if chunk and len(chunk) + len(line) + 1 > 2900:
            out.append(bk.section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    out.append(bk.section(chunk))
    return out


def section_blocks(title: str | None, section: Section, lines: Sequence[str], empty: str) -> list[bk.Block]:
    if not section.available:
        return ([bk.section(f"*{title}*")] if title else []) + [bk.context(bk.escape(section.note))]
    return list_sections(title, lines, empty)


def when(moment: datetime, tz: str) -> str:
    """A time every reader sees in their own time zone; the fallback names the schedule's."""
    return (
        f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{bk.escape(sch.format_local(moment, tz))}>"
    )


# --- lines ----------------------------------------------------------------------------------------
def item_line(item: AgendaItem) -> str:
    return f"*#{item.id}* {bk.quote_user_text(item.text, 300)} — raised by <@{item.author}>"


def action_line(action: ActionItem, today: date) -> str:
    overdue = action.due < today
    flag = f" :warning: *overdue* (due {action.due:%Y-%m-%d})" if overdue else f" — due {action.due:%Y-%m-%d}"
    return f"*#{action.id}* {bk.quote_user_text(action.text, 300)} — <@{action.owner}>{flag}"


def kpi_lines(metrics: Sequence[DigestMetric]) -> list[str]:
    lines = [metric_line(m) for m in metrics]
    if not any(m.value is not None for m in metrics):
        lines.append("_No KPI values recorded for this week yet — `/kpi set`._")
    return lines


def definition_lines(news: Sequence[DefinitionNews]) -> list[str]:
    lines: list[str] = []
    for n in news:
        for p in n.proposed:
            waiting = " and ".join(p.waiting_for) or "nobody"
            lines.append(
                f"• Proposed: *{bk.escape(p.key)}* — {bk.quote_user_text(p.summary, 120)} "
                f"(by {_who(p.proposer)}, waiting for {waiting})"
            )
        for c in n.changed:
            lines.append(
                f"• Changed: *{bk.escape(c.key)}* v{c.version} — {bk.quote_user_text(c.summary, 120)} "
                f"({bk.escape(c.changed_fields)})"
            )
        for s in n.stale:
            lines.append(
                f"• Stale: *{bk.escape(s.key)}* ({bk.quote_user_text(s.full_name, 60)}) not reviewed for "
                f"{s.days_since_review} days — owner {bk.escape(s.owner)}"
            )
    return lines


def gap_lines(gaps: Sequence[GapSummary]) -> list[str]:
    return [
        f"• “{bk.quote_user_text(g.objection, 150)}” — asked {g.count}×, last {g.last_seen:%Y-%m-%d}"
        + (f", {g.requesters} requested content" if g.requesters else "")
        for g in gaps
    ]


def funnel_lines(summaries: Sequence[FunnelSummary]) -> list[str]:
    lines: list[str] = []
    for summary in summaries:
        lines += [
            f"{s.position}. *{bk.escape(s.key)}* — {bk.quote_user_text(s.full_name, 60)} · owner "
            f"{bk.escape(s.owner)} · SLA {bk.quote_user_text(s.sla or '—', 80)}"
            for s in summary.stages
        ]
        if summary.terms:
            lines.append("Also defined: " + ", ".join(bk.escape(t) for t in summary.terms[:20]))
    return lines


def _who(user: str) -> str:
    from bot.render.lead_def import who

    return who(user)


# --- the agenda ---------------------------------------------------------------------------------
def agenda_blocks(agenda: Agenda, *, max_blocks: int = bk.MAX_BLOCKS_MESSAGE, hints: bool = False) -> list[bk.Block]:
    blocks: list[bk.Block] = []
    if agenda.schedule and agenda.meeting_at:
        blocks.append(bk.header("Sales × marketing alignment: agenda"))
        channel = agenda.schedule.channel or ""
        where = f" in <#{channel}>" if channel.startswith(("C", "G")) else ""
        blocks.append(bk.context(f"Next meeting {when(agenda.meeting_at, agenda.schedule.timezone)}{where}"))
    else:
        blocks.append(bk.header("Sales × marketing alignment: open items"))
        blocks.append(
            bk.context(
                "No meeting is scheduled yet; an admin can set one with "
                "`/revalign schedule weekly tue 10:00 America/New_York #sales-marketing`."
            )
        )
    numbered: list[tuple[str, Section | None, list[str], str]] = [
        (
            f"KPI review against shared goals ({agenda.kpi_period})",
            agenda.kpis,
            kpi_lines(agenda.kpis.items) if agenda.kpis else [],
            "No KPIs.",
        ),
        (
            "Raised by the team",
            Section(True),
            [item_line(i) for i in agenda.items],
            "Nothing raised yet — add a topic with /agenda add <text>.",
        ),
        (
            "Definitions proposed, changed or stale",
            agenda.definitions,
            definition_lines(agenda.definitions.items) if agenda.definitions else [],
            "No definition changes.",
        ),
        ("Top content gaps", agenda.gaps, gap_lines(agenda.gaps.items) if agenda.gaps else [], "No open content gaps."),
    ]
    n = 0
    for title, section, lines, empty in numbered:
        if section is None:
            continue
        n += 1
        blocks += section_blocks(f"{n}. {title}", section, lines, empty)
    blocks += list_sections(
        f"{n + 1}. Open action items (overdue first)",
        [action_line(a, agenda.today) for a in agenda.actions],
        "No open actions.",
    )
    if hints:
        blocks.append(bk.context(HINTS))
    if len(blocks) > max_blocks:
        blocks = blocks[: max_blocks - 1] + [bk.context("(shortened: more in /agenda)")]
    return blocks


def agenda_text(agenda: Agenda) -> str:
    """The notification text: the meeting's time in its own time zone, named."""
    when_text = f" — {sch.format_local(agenda.meeting_at, agenda.timezone)}" if agenda.meeting_at else ""
    return bk.escape(
        f"Alignment meeting agenda{when_text}: {len(agenda.items)} topic(s), {len(agenda.actions)} open action(s)"
    )


def agenda_message(agenda: Agenda) -> dict:
    return bk.ephemeral(agenda_text(agenda), agenda_blocks(agenda, hints=True))


# --- /agenda replies ----------------------------------------------------------------------------
def item_added(item: AgendaItem) -> dict:
    return bk.ephemeral(
        f"Added #{item.id} to the agenda",
        [
            bk.section(
                f":memo: Added to the next meeting's agenda as *#{item.id}*: {bk.quote_user_text(item.text, 300)}"
            ),
            bk.context(f"`/agenda` shows the whole agenda · `/agenda remove {item.id}` takes it off again"),
        ],
    )


def item_removed(item: AgendaItem) -> dict:
    return bk.ephemeral(
        f"Removed #{item.id}", [bk.section(f"Removed agenda item *#{item.id}*: {bk.quote_user_text(item.text, 300)}")]
    )


def action_recorded(action: ActionItem, today: date) -> dict:
    late = " (that date has already passed, so it shows as overdue)" if action.due < today else ""
    return bk.ephemeral(
        f"Action #{action.id} recorded",
        [
            bk.section(
                f":white_check_mark: Action *#{action.id}* for <@{action.owner}>, due {action.due:%Y-%m-%d}{late}: "
                f"{bk.quote_user_text(action.text, 300)}"
            ),
            bk.context(
                f"`/agenda done {action.id}` when it is done · <@{action.owner}> gets a DM now, "
                "a reminder the day before it is due, and one a day while it is overdue"
            ),
        ],
    )


def action_done(action: ActionItem) -> dict:
    return bk.ephemeral(
        f"Action #{action.id} done",
        [bk.section(f":tada: Action *#{action.id}* is done: {bk.quote_user_text(action.text, 300)}")],
    )


def action_reassigned(action: ActionItem) -> dict:
    return bk.ephemeral(
        f"Action #{action.id} reassigned",
        [
            bk.section(
                f"Action *#{action.id}* now belongs to <@{action.owner}> (due {action.due:%Y-%m-%d}): "
                f"{bk.quote_user_text(action.text, 300)}"
            )
        ],
    )


def reminder_message(action: ActionItem, reason: str, today: date, by: str | None = None) -> dict:
    """The DM an action's owner gets: when assigned, the day before it is due, and while overdue."""
    what = bk.quote_user_text(action.text, 300)
    if reason == "assigned":
        intro = f"{_who(by or action.created_by)} gave you action *#{action.id}*, due {action.due:%Y-%m-%d}"
    elif reason == "due_soon":
        intro = f"Reminder: action *#{action.id}* is due {action.due:%Y-%m-%d}"
    else:
        days = (today - action.due).days
        intro = f":warning: Action *#{action.id}* is overdue by {days} day{'s' if days != 1 else ''} (due {action.due:%Y-%m-%d})"
    blocks = [
        bk.section(f"{intro}:\n> {what}"),
        bk.context(f"`/agenda done {action.id}` when it is done · `/agenda reassign {action.id} @person`"),
    ]
    plain = {"assigned": "New action", "due_soon": "Action due soon", "overdue": "Action overdue"}[reason]
    return bk.message(bk.escape(f"{plain} #{action.id}: {' '.join(action.text.split())[:200]}"), blocks)


# --- schedules -----------------------------------------------------------------------------------
def schedule_line(schedule: Schedule | None, now: datetime) -> str:
    if schedule is None:
        return "• *Alignment meeting*: not scheduled yet"
    if schedule.kind == sch.AGENDA:
        channel = schedule.channel or ""
        where = f"<#{channel}>" if channel[:1] in ("C", "G") else bk.escape(channel)
        line = (
            f"• *Alignment meeting*: {bk.escape(sch.describe(schedule))} in {where}; agenda posted "
            f"{sch.format_minutes(schedule.lead_minutes)} before (grace {sch.format_minutes(schedule.grace_minutes)})"
        )
    else:
        label = "Weekly KPI digest" if schedule.cadence == "weekly" else "KPI digest"
        line = f"• *{label}*: {bk.escape(sch.describe(schedule))} to the department heads"
    if not schedule.enabled:
        return line + " — *off*"
    nxt = sch.next_occurrence(schedule, now)
    return line + (f" — next {when(nxt, schedule.timezone)}" if nxt else "")


def schedules_message(intro: str, schedules: list[Schedule | None], now: datetime) -> dict:
    lines = [schedule_line(s, now) for s in schedules]
    blocks = ([bk.section(intro)] if intro else []) + [
        bk.section("*Schedules*\n" + "\n".join(lines)),
        bk.context(
            f"Admins: `/revalign schedule {bk.escape(sch.SCHEDULE_USAGE)}` · "
            f"`/revalign schedule digest {bk.escape(sch.DIGEST_USAGE)}`"
        ),
    ]
    return bk.ephemeral(intro or "revalign schedules", blocks)
