"""`revalign crm check` and `revalign crm sync`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from bot.errors import InvalidInput, RevalignError

crm_cli = typer.Typer(help="KPIs and SLA alerts from HubSpot or Salesforce.", no_args_is_help=True)


def register(cli: typer.Typer) -> None:
    cli.add_typer(crm_cli, name="crm")


class CrmFailed(RevalignError):
    """The CRM refused or failed: one line, exit code 1."""


def parse_since(text: str | None, now: datetime) -> datetime | None:
    """'2026-11-01', '2026-11-01T06:00:00Z' or '30d' / '12h' ago."""
    if text is None:
        return None
    raw = text.strip()
    match = re.fullmatch(r"(\d{1,4})\s*([dh])", raw.lower())
    if match:
        amount = int(match.group(1))
        return now - (timedelta(days=amount) if match.group(2) == "d" else timedelta(hours=amount))
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"--since '{raw[:40]}' is not a date (2026-11-01), a time or an age like 30d.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@crm_cli.command("check")
def crm_check() -> None:
    """Log in with the configured credentials and list what revalign can see."""
    from bot.cli import open_services
    from bot.crm import funnel
    from bot.crm.records import LABELS, CrmError
    from bot.crm.sync import make_connector

    services = open_services()
    connector = make_connector(services.settings)
    try:
        result = connector.check()
    except CrmError as exc:
        raise CrmFailed(str(exc)) from None
    typer.echo(f"Connected to {result.account}.")
    for label, count in result.counts.items():
        typer.echo(f"  {label}: {count:,}")
    if result.api_usage:
        typer.echo(f"  API: {result.api_usage}")
    with services.db.session() as session:
        maps = funnel.stage_maps(session, connector.name)
    if maps:
        for m in maps:
            sla = f", SLA {m.sla_text!r}" if m.sla else ", no SLA deadline found"
            typer.echo(f"  stage {m.key} ← {LABELS[connector.name]} {', '.join(m.values)}{sla}")
    else:
        typer.echo(
            f"  No /lead-def stage names its {LABELS[connector.name]} counterpart yet: add "
            f"`crm: {{{connector.name}: [...]}}` to the stages (revalign lead-def export / import)."
        )


@crm_cli.command("sync")
def crm_sync(
    since: str | None = typer.Option(
        None,
        help="Pull records changed since a date, time or age (30d); "
        "default: since the last sync (everything the first time).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Pull and compute, store nothing, post nothing."),
    alerts: bool = typer.Option(True, help="Post SLA-breach alerts and the heads' summary after the sync."),
) -> None:
    """Pull changed contacts/leads and deals/opportunities, fill the weekly KPIs, post SLA alerts."""
    from bot.cli import open_services, progress_bar
    from bot.crm import funnel
    from bot.crm.records import CrmError
    from bot.crm.sync import make_connector, run_sync
    from bot.kpis import catalog

    services = open_services()
    connector = make_connector(services.settings)
    start = parse_since(since, services.now())
    tasks: dict[str, Any] = {}
    with progress_bar() as progress:

        def advance(label: str, count: int, total: int | None) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(f"Pulling {label}", total=total)
            progress.update(tasks[label], advance=count, total=total if total is not None else None)

        try:
            report = run_sync(services, connector=connector, since=start, dry_run=dry_run, progress=advance)
        except CrmError as exc:
            raise CrmFailed(str(exc)) from None
    typer.echo(("Dry run (nothing stored): " if dry_run else "") + report.summary() + ".")
    for period in sorted(report.weeks)[-2:]:
        numbers = report.weeks[period]
        counts = ", ".join(f"{m.key} {numbers.stage_counts.get(m.key, 0):,}" for m in report.maps)
        typer.echo(f"  {period}: {counts or 'no mapped stages'}")
        rates = [f"{a}→{b} {r * 100:.0f}%" for a, b, r in funnel.conversions(report.maps, numbers) if r is not None]
        if rates:
            typer.echo(f"    conversion: {', '.join(rates)}")
        money = [
            f"{catalog.BY_KEY[k].name} {catalog.format_value(catalog.BY_KEY[k], numbers.metrics[k])}"
            for k in ("pipeline_created", "revenue_closed", "deals_won")
            if k in numbers.metrics
        ]
        if money:
            typer.echo(f"    {', '.join(money)}")
    if report.kpis:
        for line in report.kpis.overridden[:20]:
            typer.echo(f"  overrode typed value {line}")
    if not report.maps:
        typer.echo("  No /lead-def stage is mapped to this CRM yet, so no stage counts (see `revalign crm check`).")
    if not dry_run and alerts:
        _post_alerts(services, connector.name)
    if report.stopped:
        raise CrmFailed(f"stopped early (run it again later to resume): {report.stopped}")


def _post_alerts(services, connector_name: str) -> None:
    from bot.crm.alerts import post_breaches

    alert_report = post_breaches(services, connector_name)
    typer.echo(
        f"SLA alerts: {len(alert_report.breaches)} breach(es) in the last 14 days, "
        f"{len(alert_report.sent)} posted now, {alert_report.already} already posted, "
        f"{len(alert_report.failed)} failed, {alert_report.summaries} summary DM(s)."
    )
