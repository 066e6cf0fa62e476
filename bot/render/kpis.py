"""KPIs as Slack messages: one KPI line (shared with the digest, the agenda and App Home), and the
replies to `/kpi`. Everything here gets plain text from the domain and escapes it exactly once."""

from __future__ import annotations

from typing import Any

from bot.kpis import catalog, commands, targets
from bot.kpis.digest import DigestMetric
from bot.render import blocks as bk

TEAMS = (catalog.SHARED, catalog.MARKETING, catalog.SALES)
NEEDS_ATTENTION = 0.8  # below 80% of the target gets a warning sign


def progress_bar(progress: float | None, width: int = 10) -> str:
    if progress is None:
        return ""
    filled = max(0, min(width, round(progress * width)))
    return "▓" * filled + "░" * (width - filled)


def _target_part(m: DigestMetric) -> str:
    """'target 120 ▓▓▓▓▓▓▓▓▓▓ 100% ✅'; a figure that can't be right is flagged, never shown as met."""
    if m.target is None:
        return ""
    if m.value is None or m.progress is None:  # nothing recorded, or a figure flagged as impossible
        return f"target {m.target_text}"
    if m.target == 0:
        # A share of a zero target means nothing: met or not is all there is to say.
        return f"target {m.target_text} " + ("✅" if m.on_target else "⚠️")
    mark = " ✅" if m.on_target else (" ⚠️" if m.progress < NEEDS_ATTENTION else "")
    return f"target {m.target_text} {progress_bar(m.progress)} {m.progress * 100:.0f}%{mark}"


def metric_line(m: DigestMetric) -> str:
    """'• *MQLs*: 120  ·  ↑ 20.0% vs 100  ·  target 120 ▓▓▓▓▓▓▓▓▓▓ 100% ✅' (mrkdwn, escaped)."""
    name = f"*{bk.escape(m.name)}*"
    parts = [f"{name}: {m.value_text}" if m.value is not None else f"{name}: — _not recorded_"]
    if m.problem:
        parts.append(f"⚠️ {bk.escape(m.problem)}")
    if m.value is not None and m.change_text:
        verdict = ""
        if not m.higher_is_better and m.improving is not None:
            verdict = " (better)" if m.improving else " (worse)"
        parts.append(f"{m.change_text}{verdict} vs {m.previous_text}")
    target = _target_part(m)
    if target:
        parts.append(target)
    if m.value is not None and m.source:
        parts.append(f"_{bk.escape(m.source)}_")
    return "• " + "  ·  ".join(parts)


def team_sections(metrics: list[DigestMetric]) -> list[bk.Block]:
    sections = []
    for owner in TEAMS:
        lines = [metric_line(m) for m in metrics if m.owner == owner]
        if lines:
            sections.append(bk.section(f"*{catalog.TEAM_LABELS[owner]} KPIs*\n" + "\n".join(lines)))
    return sections


def flagged_text(metrics: list[DigestMetric]) -> str:
    """' ⚠️ MQL follow-up SLA compliance 113.0%: check the inputs (…).' for a notification ('' when all is plausible)."""
    return "".join(f" ⚠️ {m.flag}." for m in metrics if m.flag)


# --- /kpi replies -------------------------------------------------------------------------------------
def error_reply(message: str) -> dict[str, Any]:
    """A refusal: the message is plain text (names and periods quoted as typed), escaped here once."""
    return bk.ephemeral(bk.escape(message))


def summary_reply(summary: commands.WeekSummary) -> dict[str, Any]:
    metrics = summary.metrics
    blocks = [bk.header(f"Shared KPIs · {summary.label}")]
    if summary.note:
        blocks.append(bk.section(f"_{bk.escape(summary.note)}_"))
    so_far = "week in progress, numbers so far · " if summary.in_progress else ""
    blocks.append(
        bk.context(
            f"{so_far}{summary.recorded} of {len(metrics)} recorded · change vs "
            f"{summary.previous_period} · ratios are calculated from their parts"
        )
    )
    blocks += team_sections(metrics)
    blocks.append(
        bk.context(
            "`/kpi set MQLs 120` records a value · `/kpi MQLs` shows one KPI's trend · `/kpi metrics` lists every KPI"
        )
    )
    shown = ", ".join(f"{m.name} {m.value_text}" for m in metrics if m.value is not None and m.key_metric)
    text = f"Shared KPIs for {summary.period}: {shown or 'nothing recorded yet'}.{flagged_text(metrics)}"
    return bk.ephemeral(bk.escape(text), blocks)


def set_reply(result: commands.SetResult) -> dict[str, Any]:
    metric, outcome = result.metric, result.outcome
    stored = catalog.format_value(metric, outcome.entry.value)
    if outcome.status == "overridden":  # a value synced from the CRM wins (bot/crm)
        synced = catalog.format_value(metric, outcome.previous)
        text = (
            f"{metric.name} for {result.period} comes from the CRM sync ({synced}), which wins; "
            f"your {stored} is kept beside it, marked overridden."
        )
        return bk.ephemeral(bk.escape(text), [bk.section(f":information_source: {bk.escape(text)}")])
    if outcome.status == "unchanged":
        detail = "(unchanged)"
    elif outcome.previous is None:
        detail = "(new)"
    else:
        detail = f"(was {catalog.format_value(metric, outcome.previous)})"
    text = f"{metric.name} for {result.period}: {stored} {detail}"
    if result.future:
        text += " · a future week, recorded as asked"
    blocks = [bk.section(f":white_check_mark: {bk.escape(text)}")]
    if result.ratios:
        derived = " · ".join(f"{bk.escape(m.name)} {catalog.format_value(m, v)}" for m, v in result.ratios)
        blocks.append(bk.context(f"Now: {derived}"))
    for ratio, value in result.ratios:
        if ratio.out_of_range(value):
            blocks.append(bk.section("⚠️ " + bk.escape(catalog.range_flag(ratio, value))))
    return bk.ephemeral(bk.escape(text), blocks)


def target_reply(change: targets.TargetChange) -> dict[str, Any]:
    metric = change.metric
    was = catalog.format_value(metric, change.previous) if change.previous is not None else "none"
    text = (
        f"Shared target for {metric.name} from {change.effective_from} on: "
        f"{catalog.format_value(metric, change.value)} (was {was})"
    )
    return bk.ephemeral(bk.escape(text), [bk.section(f":dart: {bk.escape(text)}")])


def targets_reply(period: str, goals: dict[str, float]) -> dict[str, Any]:
    lines = []
    for metric in catalog.CATALOG:
        if metric.key in goals:
            direction = "at least" if metric.higher_is_better else "at most"
            lines.append(f"• *{bk.escape(metric.name)}*: {direction} {catalog.format_value(metric, goals[metric.key])}")
    blocks = [
        bk.section(f"*Shared targets for {period}*\n" + "\n".join(lines)),
        bk.context(f"Heads and admins change one with `{bk.escape(commands.TARGET_USAGE)}`."),
    ]
    return bk.ephemeral(f"Shared targets for {period}", blocks)


def history_reply(history: commands.MetricHistory) -> dict[str, Any]:
    metric = history.metric
    lines = []
    for period, value, goal in reversed(history.rows):
        goal_text = f"  (target {catalog.format_value(metric, goal)})" if goal is not None else ""
        problem = catalog.range_problem(metric, value)
        warning = f"  ⚠️ {bk.escape(problem)}" if problem else ""
        lines.append(f"`{period}`  {catalog.format_value(metric, value)}{goal_text}{warning}")
    how = f"Calculated: {metric.description}." if metric.is_ratio else metric.description + "."
    blocks = [
        bk.section(f"*{bk.escape(metric.name)}*, last {len(history.rows)} weeks\n" + "\n".join(lines)),
        bk.context(
            f"{bk.escape(how)} Owner: {catalog.TEAM_LABELS[metric.owner]}. "
            f"{'Higher' if metric.higher_is_better else 'Lower'} is better."
        ),
    ]
    return bk.ephemeral(bk.escape(f"{metric.name}, last {len(history.rows)} weeks"), blocks)


def catalog_reply() -> dict[str, Any]:
    lines = []
    for metric in catalog.CATALOG:
        target = f", target {catalog.format_value(metric, metric.default_target)}" if metric.default_target else ""
        kind = f"calculated: {metric.description}" if metric.is_ratio else metric.description
        if metric.counted_from_content:
            kind += " (counted from /content shares unless recorded)"
        aliases = f" · also: {', '.join(metric.aliases[:3])}" if metric.aliases else ""
        lines.append(
            f"• *{bk.escape(metric.name)}* — {catalog.TEAM_LABELS[metric.owner].lower()}, {metric.unit}, "
            f"{metric.period}, {'higher' if metric.higher_is_better else 'lower'} is better{target}. "
            f"{bk.escape(kind)}{bk.escape(aliases)}"
        )
    half = len(lines) // 2
    blocks = [
        bk.header("KPI catalog"),
        bk.section("\n".join(lines[:half])),
        bk.section("\n".join(lines[half:])),
        bk.context(
            "Ratios can't be typed in: record their parts. Default targets shown; `/kpi targets` shows this week's."
        ),
    ]
    return bk.ephemeral("KPI catalog", blocks)


def help_reply(usage: list[tuple[str, str]]) -> dict[str, Any]:
    lines = "\n".join(f"`{bk.escape(command)}` — {bk.escape(summary)}" for command, summary in usage)
    return bk.ephemeral("/kpi help", [bk.section(f"*/kpi*\n{lines}")])
