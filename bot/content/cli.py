"""`revalign content import|export|remove|search` and `revalign eval`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from bot.errors import InvalidInput

content_cli = typer.Typer(help="The marketing content library behind /content.", no_args_is_help=True)


@content_cli.command("import")
def import_library(
    file: Path = typer.Argument(..., help="CSV or JSONL with title,url,type,stage,persona,summary,objections"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Import the valid rows even if some are invalid."),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv or jsonl (default: from the file name)"),
) -> None:
    """Add or update content items (matched by URL), then embed what changed."""
    from bot.cli import open_services, progress_bar
    from bot.content import catalog, library

    services = open_services()
    content = services.content
    parsed = library.read_file(file, library.detect_format(file, fmt), content.vocabulary)
    if parsed.rejected and not skip_invalid:
        _print_rejections(parsed.rejected)
        typer.echo(
            f"Nothing was imported: {len(parsed.rejected)} invalid row(s) of "
            f"{len(parsed.rows) + len(parsed.rejected)}. Fix them, or import the rest with --skip-invalid."
        )
        raise typer.Exit(1)
    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task("Embedding new and changed text", total=None)

        def step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=max(total, 1) if total else 1)
            if total == 0:
                progress.update(task, completed=1, total=1, description="Nothing new to embed")

        with services.db.session() as session:
            report = library.upsert_items(session, parsed, skip_invalid=skip_invalid, now=services.now())
            count = catalog.item_count(session)
        outcome = catalog.index_import(content.keeper, report, progress=step)  # after the commit
    typer.echo(f"Imported {file.name}: {report.summary()}.")
    typer.echo(
        f"Embedded {outcome.embedded} text(s), reused {outcome.reused} from the cache "
        f"({time.perf_counter() - started:.1f}s); the library has {count} items."
    )
    if report.rejected:
        _print_rejections(report.rejected)
    if report.changed_ids:
        close_answered_gaps(services, by="import")
    services.close()


def close_answered_gaps(services, *, by: str) -> None:
    """After a change to the library: close the gaps it answered and DM their requesters (when Slack is set up)."""
    from bot.cli import progress_bar
    from bot.content import gap_closing

    client = services.slack if services.settings.slack_bot_token else None
    with progress_bar() as progress:
        task = progress.add_task("Re-checking open content gaps", total=None)
        outcome = gap_closing.after_content_change(
            services, client, by=by, progress=lambda done, total: progress.update(task, completed=done, total=total)
        )
    for closed in outcome.closed:
        typer.echo(f"Gap answered: “{closed.objection}” by {closed.item_title} ({closed.item_url})")
    typer.echo(
        f"{len(outcome.closed)} content gap(s) answered"
        + (
            f"; {outcome.notified} requester(s) told by DM."
            if client is not None
            else "; requesters will be told once SLACK_BOT_TOKEN is set and content changes again."
        )
    )


@content_cli.command("report")
def report_command(
    since: str = typer.Option("30d", "--since", help="30d, 12w, week, month, quarter, year, all, or a date YYYY-MM-DD"),
    fmt: str = typer.Option("table", "--format", help="table or csv"),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the table/CSV here instead of stdout."),
    chart: Optional[Path] = typer.Option(None, "--chart", help="Also write the usage-by-stage chart (PNG) here."),
) -> None:
    """What content is used, unused and not helpful: per item shown, shares, Helpful, Not helpful, last used."""
    from bot.cli import open_services, write_export
    from bot.content import report as report_mod
    from bot.render import content as render

    if fmt not in ("table", "csv"):
        raise InvalidInput("--format must be table or csv.")
    services = open_services()
    with services.db.session() as session:
        report = report_mod.build_report(session, report_mod.parse_period(since, services.now()))
    text = render.report_table(report) if fmt == "table" else render.report_csv(report)
    write_export(text, out, f"Wrote the content report ({len(report.items)} items)")
    if chart is not None:
        chart.write_bytes(render.report_chart(report))
        typer.echo(f"Wrote the chart to {chart}.", err=True)
    services.close()


@content_cli.command("summary")
def summary_command(
    post: bool = typer.Option(False, "--post", help="Post it to REVALIGN_MARKETING_CHANNEL instead of printing it."),
) -> None:
    """Marketing's weekly summary: top gaps and requests, Not helpful items, unused content."""
    from bot.cli import open_services
    from bot.content.summary import marketing_summary
    from bot.render import blocks as bk
    from bot.render import content as render

    services = open_services()
    with services.db.session() as session:
        summary = marketing_summary(session, services.now())
    blocks = render.summary_blocks(summary)
    if post:
        channel = services.settings.marketing_channel
        if not channel:
            raise InvalidInput("set REVALIGN_MARKETING_CHANNEL to post the summary.")
        services.slack.chat_postMessage(
            channel=channel, text=render.summary_text(summary), blocks=blocks, unfurl_links=False
        )
        typer.echo(f"Posted marketing's summary to {channel}.")
    else:
        typer.echo(bk.render_blocks(blocks))
    services.close()


def _print_rejections(rejected) -> None:
    typer.echo(f"Rejected rows ({len(rejected)}):")
    for rejection in rejected:
        typer.echo(f"  line {rejection.line}: {rejection.reason}")


@content_cli.command("export")
def export_library(
    file: Optional[Path] = typer.Argument(None, help="Output file (.csv or .jsonl); default: stdout"),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv or jsonl (default: from the file name, else csv)"),
) -> None:
    """Write the library in the import format."""
    from bot.cli import open_services, write_export
    from bot.content import catalog, library

    services = open_services()
    chosen = library.detect_format(file, fmt) if file is not None else (fmt or "csv")
    if chosen not in ("csv", "jsonl"):
        raise InvalidInput("--format must be csv or jsonl.")
    with services.db.session() as session:
        text = library.export_items(session, chosen)
        count = catalog.item_count(session)
    write_export(text, file, f"Wrote {count} items")
    services.close()


@content_cli.command("remove")
def remove_item(ref: str = typer.Argument(..., help="The item's URL")) -> None:
    """Delete a content item (running bots drop it from search within seconds)."""
    from bot.cli import open_services
    from bot.content import catalog

    services = open_services()
    with services.db.session() as session:
        item = catalog.delete_item(session, services.content.keeper, ref)
    typer.echo(f"Removed {item.title} ({item.url}).")
    services.close()


def eval_command(
    library: Path = typer.Option(..., "--library", help="library JSONL (with id fields)"),
    queries: Path | None = typer.Option(None, "--queries", help="one labelled query set: every method"),
    tune_on: Path | None = typer.Option(None, "--tune-on", help="labelled set to choose the design on"),
    report_on: Path | None = typer.Option(None, "--report-on", help="labelled set to report held out"),
    method: str = typer.Option("all", "--method", help="all, or comma-separated: bm25,dense,rrf,hybrid"),
    learning: bool = typer.Option(False, "--learning", help="also measure learning from Helpful clicks"),
    model: str | None = typer.Option(None, "--model", help="sentence-transformers name or path (default: bundled)"),
) -> None:
    """Measure search quality on labelled queries (recall@k, MRR, nDCG, abstention), baselines beside the shipped method."""
    if (tune_on is None) != (report_on is None):
        raise InvalidInput("give both --tune-on and --report-on")
    if queries is None and tune_on is None:
        raise InvalidInput("give --queries, or --tune-on and --report-on")
    for path in (library, queries, tune_on, report_on):
        if path is not None and not path.is_file():
            raise InvalidInput(f"no such file: {path}")
    from content_index.evaluation import run_eval_report, run_held_out_report

    if tune_on is not None and report_on is not None:
        run_held_out_report(str(library), str(tune_on), str(report_on), out=typer.echo, model=model)
    if queries is not None:
        run_eval_report(str(library), str(queries), method, learning=learning, out=typer.echo, model=model)


def register(cli: typer.Typer) -> None:
    cli.add_typer(content_cli, name="content")
    cli.command("eval")(eval_command)
