"""`revalign kpi import|export|list|metrics` and `revalign digest preview|send`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.errors import InvalidInput

kpi_cli = typer.Typer(help="Shared KPIs: import, export and list values.", no_args_is_help=True)
digest_cli = typer.Typer(help="The weekly KPI digest for the department heads.", no_args_is_help=True)

MAX_ERRORS_SHOWN = 25


def register(cli: typer.Typer) -> None:
    cli.add_typer(kpi_cli, name="kpi")
    cli.add_typer(digest_cli, name="digest")


@kpi_cli.command("import")
def kpi_import(
    file: Annotated[Path, typer.Argument(help="CSV with the header period,metric,value (e.g. 2026-W47,MQLs,120).")],
    by: Annotated[str, typer.Option(help="Recorded as who stored the values.")] = "cli",
    allow_future: Annotated[
        bool, typer.Option("--allow-future", help="Accept weeks after the current one (plans, not results).")
    ] = False,
) -> None:
    """Import KPI values; the whole file is checked first and nothing is stored if any line is wrong."""
    from bot.cli import open_services, progress_bar
    from bot.kpis import csv_io, values

    services = open_services()
    text = csv_io.read_text(file)
    entries, errors = csv_io.parse_csv(
        text, now=services.now(), tz=services.settings.timezone, allow_future=allow_future
    )
    if errors:
        for error in errors[:MAX_ERRORS_SHOWN]:
            typer.echo(f"{file}:{error.index}: {error.field}: {error.message}", err=True)
        more = f" (first {MAX_ERRORS_SHOWN} shown)" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise InvalidInput(f"{len(errors)} problem(s) in {file}{more}; nothing was imported.")
    with progress_bar() as progress:
        task = progress.add_task("Importing KPIs", total=len(entries))
        with services.db.session() as session:
            report = values.record(
                session,
                entries,
                source="csv",
                by=by,
                now=services.now(),
                progress=lambda done: progress.update(task, completed=done),
            )
    period_list = sorted({e.period for e in entries})
    span = period_list[0] if len(period_list) == 1 else f"{period_list[0]} – {period_list[-1]}"
    metric_count = len({e.metric.key for e in entries})
    typer.echo(
        f"Imported {len(entries)} value(s) for {metric_count} KPI(s), {span}: "
        f"{report.stored} new, {report.updated} updated, {report.unchanged} unchanged."
    )
    for outcome in report.outcomes:
        if outcome.status == "updated":
            from bot.kpis import catalog

            metric = outcome.entry.metric
            typer.echo(
                f"  updated {metric.name} {outcome.entry.period}: "
                f"{catalog.format_value(metric, outcome.previous)} → {catalog.format_value(metric, outcome.entry.value)}"
            )


@kpi_cli.command("export")
def kpi_export(
    out: Annotated[Path | None, typer.Argument(help="File to write (default: standard output).")] = None,
) -> None:
    """Write every recorded value as period,metric,value CSV (ratios are calculated, so not included)."""
    from bot.cli import open_services, write_export
    from bot.kpis import csv_io

    services = open_services()
    with services.db.session() as session:
        text = csv_io.export_csv(session)
    write_export(text, out, f"Wrote {text.count(chr(10)) - 1} value(s)")


@kpi_cli.command("list")
def kpi_list(
    period: Annotated[
        str | None, typer.Option("--period", help="e.g. 2026-W47 or 'last week' (default: this week).")
    ] = None,
) -> None:
    """Every KPI for a week: value, change from the week before, target and progress."""
    from bot.cli import open_services
    from bot.kpis import catalog, periods, values

    services = open_services()
    tz = services.settings.timezone
    chosen = periods.parse_period(period, services.now(), tz)
    with services.db.session() as session:
        lines = values.period_lines(session, chosen, tz=tz)
    typer.echo(f"KPIs for {periods.as_week(chosen).label()} (change vs {periods.previous_period(chosen)})")
    width = max(len(line.metric.name) for line in lines)
    for line in lines:
        target = catalog.format_value(line.metric, line.target) if line.target is not None else ""
        progress = f"{line.progress * 100:.0f}%" if line.progress is not None else ""
        typer.echo(
            f"  {line.metric.name:<{width}}  {catalog.format_value(line.metric, line.value):>12}  "
            f"{line.change_text:<12}  {('target ' + target) if target else '':<18} {progress}".rstrip()
            + (f"  ⚠ {line.problem}" if line.problem else "")
        )


@kpi_cli.command("metrics")
def kpi_metrics() -> None:
    """The metric catalog: names, aliases, owner team, unit, default target, how ratios are calculated."""
    from bot.kpis import catalog

    for metric in catalog.CATALOG:
        target = catalog.format_value(metric, metric.default_target) if metric.default_target is not None else "-"
        how = f"= {metric.description}" if metric.is_ratio else "recorded"
        typer.echo(
            f"{metric.name}\t{metric.owner}\t{metric.unit}\t"
            f"{'higher' if metric.higher_is_better else 'lower'} is better\ttarget {target}\t{how}\t"
            f"aliases: {', '.join(metric.aliases) or '-'}"
        )


@digest_cli.command("preview")
def digest_preview(
    period: Annotated[str | None, typer.Option("--period", help="Week to summarise (default: last week).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Where to write the trend chart PNG.")] = Path("digest.png"),
) -> None:
    """Print the weekly digest as the department heads would read it, and write its chart."""
    from bot.cli import open_services
    from bot.kpis import digest, periods
    from bot.render import blocks as bk
    from bot.render.digest import digest_blocks

    services = open_services()
    tz = services.settings.timezone
    now = services.now()
    chosen = periods.parse_period(period, now, tz) if period else digest.digest_period(now, tz)
    with services.db.session() as session:
        result = digest.build_digest(session, chosen, now, tz=tz)
        recipients = digest.digest_recipients(session, services.settings)
    blocks = digest_blocks(result)
    png = digest.render_chart(result)
    out.write_bytes(png)
    typer.echo(bk.render_blocks(blocks))
    typer.echo("")
    who = ", ".join(recipients) if recipients else "nobody yet (give someone the sales_head or marketing_head role)"
    typer.echo(f"Chart: {out} ({len(png):,} bytes) · {len(blocks)} blocks · would go to: {who}")


@digest_cli.command("send")
def digest_send(
    period: Annotated[str | None, typer.Option("--period", help="Week to summarise (default: last week).")] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="A user ID (DM) or channel ID (default: the usual recipients).")
    ] = None,
) -> None:
    """Send the digest now through Slack (the scheduler does this every week on its own)."""
    from bot.cli import open_services
    from bot.kpis import digest, periods

    services = open_services()
    services.settings.require("SLACK_BOT_TOKEN")
    tz = services.settings.timezone
    chosen = periods.parse_period(period, services.now(), tz) if period else digest.digest_period(services.now(), tz)
    with services.db.session() as session:
        recipients = [to] if to else digest.digest_recipients(session, services.settings)
    if not recipients:
        raise InvalidInput(
            "Nobody to send the digest to: give someone the sales_head or marketing_head role, "
            "set REVALIGN_DIGEST_CHANNEL, or pass --to."
        )
    from slack_sdk.errors import SlackApiError, SlackClientError

    for recipient in recipients:
        try:
            digest.send_digest(services, services.slack, recipient, chosen)
        except SlackApiError as exc:
            raise InvalidInput(f"Slack refused the digest for {recipient}: {exc.response.get('error')}.") from None
        except (SlackClientError, OSError) as exc:
            raise InvalidInput(f"Slack could not be reached for {recipient}: {exc.__class__.__name__}.") from None
        typer.echo(f"Sent the {chosen} digest to {recipient}.")
