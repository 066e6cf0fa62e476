"""`/kpi`: this week's shared KPIs against targets, recording values and setting targets."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from sqlalchemy.orm import Session

from bot.errors import InvalidInput, RevalignError
from bot.kpis import catalog, commands, periods
from bot.render import kpis as render
from bot.services import Services
from handlers.registry import Registrar

HELP = [
    ("/kpi", "this week's shared KPIs against their targets (`/kpi last week`, `/kpi 2026-W47` for others)"),
    (
        "/kpi set MQLs 120 [week 2026-W47]",
        (
            "record a value (heads and admins; marketers for marketing KPIs); "
            "a later week than this one needs `--allow-future`"
        ),
    ),
    ("/kpi target MQLs 150 [from 2026-W47]", "set a shared target from a week on (heads and admins)"),
    ("/kpi MQLs", "one KPI over the last 8 weeks"),
    ("/kpi metrics", "every KPI: owner team, unit, target, and how ratios are calculated"),
]


def register(registrar: Registrar, services: Services) -> None:
    registrar.command("/kpi", help=HELP)(kpi_command)


def kpi_command(ack: Ack, command: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    ack()
    try:
        payload = kpi_reply(context["services"], command["user_id"], command.get("text", ""))
    except RevalignError as exc:
        # KPI errors quote metric names and periods as typed, in plain text: escaped once, here.
        payload = render.error_reply(str(exc))
    respond(**payload)


def kpi_reply(services: Services, user_id: str, text: str) -> dict[str, Any]:
    words = text.split()
    verb = words[0].lower() if words else ""
    now, tz = services.now(), services.settings.timezone
    with services.db.session() as session:
        if verb == "set":
            return render.set_reply(commands.set_kpi(session, user_id, words[1:], now=now, tz=tz))
        if verb in ("target", "targets"):
            if len(words) == 1:
                period = periods.current_period(now, tz)
                return render.targets_reply(period, commands.current_targets(session, period))
            return render.target_reply(commands.set_target_from_words(session, user_id, words[1:], now=now, tz=tz))
        if verb in ("metrics", "catalog", "list"):
            return render.catalog_reply()
        if verb == "help":
            return render.help_reply(HELP)
        return show_reply(session, text, services)


def show_reply(session: Session, text: str, services: Services) -> dict[str, Any]:
    """`/kpi`, `/kpi last week`, `/kpi 2026-W47` or `/kpi MQLs`."""
    now, tz = services.now(), services.settings.timezone
    this_week = periods.current_period(now, tz)
    if not text.strip():
        return render.summary_reply(commands.week_summary(session, this_week, now=now, tz=tz, fall_back=True))
    metric = catalog.find_metric(text)
    if metric is not None:
        return render.history_reply(commands.metric_history(session, metric, this_week, tz=tz))
    try:
        period = periods.parse_period(text, now, tz)
    except InvalidInput:
        hint = catalog.suggest(text)
        did_you_mean = f"Did you mean *{hint.name}*? " if hint else ""
        shown = " ".join(text.split())[:60]
        raise InvalidInput(
            f"I don't understand `{shown}`. {did_you_mean}"
            "Try `/kpi`, `/kpi last week`, `/kpi set MQLs 120` or `/kpi help`."
        ) from None
    return render.summary_reply(commands.week_summary(session, period, now=now, tz=tz))
