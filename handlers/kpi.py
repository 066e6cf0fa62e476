"""`/kpi`: this week's shared KPIs against targets, recording values and setting targets."""

from __future__ import annotations

from bot.render import blocks as bk
from bot.errors import InvalidInput, RevalignError
from bot.kpis import catalog, commands, periods, targets, values
from bot.kpis.digest import digest_metric, metric_line
from bot.services import Services
from handlers.registry import Registrar

HELP = [
    ("/kpi", "this week's shared KPIs against their targets (`/kpi last week`, `/kpi 2026-W47` for others)"),
    ("/kpi set MQLs 120 [week 2026-W47]", "record a value (heads and admins; marketers for marketing KPIs)"),
    ("/kpi target MQLs 150 [from 2026-W47]", "set a shared target from a week on (heads and admins)"),
    ("/kpi MQLs", "one KPI over the last 8 weeks"),
    ("/kpi metrics", "every KPI: owner team, unit, target, and how ratios are calculated"),
]


def register(registrar: Registrar, services: Services) -> None:
    @registrar.command("/kpi", help=HELP)
    def kpi_command(ack, command, respond) -> None:
        ack()
        try:
            payload = kpi_reply(services, command["user_id"], command.get("text", ""))
        except RevalignError as exc:
            # KPI errors quote metric names and periods as typed, so they are escaped here;
            # the shared guard sends error text as written (other features' errors carry mentions).
            payload = bk.ephemeral(bk.escape(str(exc)))
        respond(**payload)


def kpi_reply(services: Services, user_id: str, text: str) -> dict:
    words = text.split()
    verb = words[0].lower() if words else ""
    now, tz = services.now(), services.settings.timezone
    with services.db.session() as session:
        if verb == "set":
            return set_reply(commands.set_kpi(session, user_id, words[1:], now=now, tz=tz))
        if verb in ("target", "targets"):
            if len(words) == 1:
                return targets_reply(session, periods.current_period(now, tz))
            return target_reply(commands.set_target_from_words(session, user_id, words[1:], now=now, tz=tz))
        if verb in ("metrics", "catalog", "list"):
            return catalog_reply()
        if verb == "help":
            return help_reply()
        if not words:
            return summary_reply(session, periods.current_period(now, tz), tz=tz, fall_back=True, in_progress=True)
        metric = catalog.find_metric(text)
        if metric is not None:
            return history_reply(commands.metric_history(session, metric, periods.current_period(now, tz), tz=tz))
        try:
            period = periods.parse_period(text, now, tz)
        except InvalidInput:
            hint = catalog.suggest(text)
            did_you_mean = f"Did you mean *{hint.name}*? " if hint else ""
            raise InvalidInput(f"I don't understand `{bk.quote_user_text(text, 60)}`. {did_you_mean}"
                               "Try `/kpi`, `/kpi last week`, `/kpi set MQLs 120` or `/kpi help`.") from None
        return summary_reply(session, period, tz=tz, in_progress=period == periods.current_period(now, tz))


def summary_reply(session, period: str, *, tz: str, fall_back: bool = False, in_progress: bool = False) -> dict:
    lines = values.period_lines(session, period, tz=tz)
    note = ""
    if fall_back and not values.stored_values(session, [period]):
        note = f"Nothing is recorded for {period} yet, so here is last week."
        period = periods.previous_period(period)
        lines = values.period_lines(session, period, tz=tz)
    week = periods.as_week(period)
    metrics = [digest_metric(line) for line in lines]
    from bot.crm.kpi_values import sources_for  # "from HubSpot, synced Mon 06:00" (bot/crm)

    synced = sources_for(session, period, tz)
    for m in metrics:
        m.source = synced.get(m.key, "")
    recorded = sum(1 for m in metrics if m.value is not None)
    blocks = [bk.header(f"Shared KPIs · {week.label()}")]
    if note:
        blocks.append(bk.section(f"_{note}_"))
    so_far = "week in progress, numbers so far · " if in_progress and not note else ""
    blocks.append(bk.context(f"{so_far}{recorded} of {len(metrics)} recorded · change vs "
                             f"{periods.previous_period(period)} · ratios are calculated from their parts"))
    for owner in (catalog.SHARED, catalog.MARKETING, catalog.SALES):
        owned = [metric_line(m) for m in metrics if m.owner == owner]
        if owned:
            blocks.append(bk.section(f"*{catalog.TEAM_LABELS[owner]} KPIs*\n" + "\n".join(owned)))
    blocks.append(bk.context("`/kpi set MQLs 120` records a value · `/kpi MQLs` shows one KPI's trend · "
                             "`/kpi metrics` lists every KPI"))
    summary = ", ".join(f"{m.name} {m.value_text}" for m in metrics if m.value is not None and m.key_metric)
    return bk.ephemeral(f"Shared KPIs for {period}: {summary or 'nothing recorded yet'}", blocks)


def set_reply(result: commands.SetResult) -> dict:
    metric, outcome = result.metric, result.outcome
    stored = catalog.format_value(metric, outcome.entry.value)
    if outcome.status == "overridden":   # a value synced from the CRM wins (bot/crm)
        synced = catalog.format_value(metric, outcome.previous)
        text = (f"{metric.name} for {result.period} comes from the CRM sync ({synced}), which wins; "
                f"your {stored} is kept beside it, marked overridden.")
        return bk.ephemeral(text, [bk.section(f":information_source: {bk.escape(text)}")])
    if outcome.status == "unchanged":
        detail = "(unchanged)"
    elif outcome.previous is None:
        detail = "(new)"
    else:
        detail = f"(was {catalog.format_value(metric, outcome.previous)})"
    text = f"{metric.name} for {result.period}: {stored} {detail}"
    blocks = [bk.section(f":white_check_mark: {bk.escape(text)}")]
    if result.ratios:
        derived = " · ".join(f"{bk.escape(m.name)} {catalog.format_value(m, v)}" for m, v in result.ratios)
        blocks.append(bk.context(f"Now: {derived}"))
    return bk.ephemeral(text, blocks)


def target_reply(change: targets.TargetChange) -> dict:
    metric = change.metric
    was = catalog.format_value(metric, change.previous) if change.previous is not None else "none"
    text = (f"Shared target for {metric.name} from {change.effective_from} on: "
            f"{catalog.format_value(metric, change.value)} (was {was})")
    return bk.ephemeral(text, [bk.section(f":dart: {bk.escape(text)}")])


def targets_reply(session, period: str) -> dict:
    goals = targets.targets_for(session, [period])
    lines = []
    for metric in catalog.CATALOG:
        goal = goals[(metric.key, period)]
        if goal is not None:
            direction = "at least" if metric.higher_is_better else "at most"
            lines.append(f"• *{bk.escape(metric.name)}*: {direction} {catalog.format_value(metric, goal)}")
    blocks = [bk.section(f"*Shared targets for {period}*\n" + "\n".join(lines)),
              bk.context(f"Heads and admins change one with `{commands.TARGET_USAGE}`.")]
    return bk.ephemeral(f"Shared targets for {period}", blocks)


def history_reply(history: commands.MetricHistory) -> dict:
    metric = history.metric
    lines = []
    for period, value, goal in reversed(history.rows):
        goal_text = f"  (target {catalog.format_value(metric, goal)})" if goal is not None else ""
        lines.append(f"`{period}`  {catalog.format_value(metric, value)}{goal_text}")
    how = f"Calculated: {bk.escape(metric.description)}." if metric.is_ratio else bk.escape(metric.description) + "."
    blocks = [bk.section(f"*{bk.escape(metric.name)}*, last {len(history.rows)} weeks\n" + "\n".join(lines)),
              bk.context(f"{how} Owner: {catalog.TEAM_LABELS[metric.owner]}. "
                         f"{'Higher' if metric.higher_is_better else 'Lower'} is better.")]
    return bk.ephemeral(f"{metric.name}, last {len(history.rows)} weeks", blocks)


def catalog_reply() -> dict:
    lines = []
    for metric in catalog.CATALOG:
        target = f", target {catalog.format_value(metric, metric.default_target)}" if metric.default_target else ""
        kind = f"calculated: {metric.description}" if metric.is_ratio else metric.description
        if metric.counted_from_content and values.content_share_counter() is not None:
            kind += " (counted from /content shares unless recorded)"
        aliases = f" · also: {', '.join(metric.aliases[:3])}" if metric.aliases else ""
        lines.append(f"• *{bk.escape(metric.name)}* — {catalog.TEAM_LABELS[metric.owner].lower()}, {metric.unit}, "
                     f"{metric.period}, {'higher' if metric.higher_is_better else 'lower'} is better{target}. "
                     f"{bk.escape(kind)}{bk.escape(aliases)}")
    half = len(lines) // 2
    blocks = [bk.header("KPI catalog"),
              bk.section("\n".join(lines[:half])), bk.section("\n".join(lines[half:])),
              bk.context("Ratios can't be typed in: record their parts. Default targets shown; "
                         "`/kpi targets` shows this week's.")]
    return bk.ephemeral("KPI catalog", blocks)


def help_reply() -> dict:
    lines = "\n".join(f"`{bk.escape(usage)}` — {bk.escape(summary)}" for usage, summary in HELP)
    return bk.ephemeral("/kpi help", [bk.section(f"*/kpi*\n{lines}")])
