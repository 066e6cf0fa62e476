"""`revalign lead-def import|export|list|stale`: the definitions as a YAML file, round-trip exact."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

lead_def_cli = typer.Typer(help="The shared funnel vocabulary (/lead-def) as a YAML file.", no_args_is_help=True)


def register(cli: typer.Typer) -> None:
    cli.add_typer(lead_def_cli, name="lead-def")


@lead_def_cli.command("export")
def export(out: Optional[Path] = typer.Argument(None, help="File to write (default: standard output).")) -> None:
    """Write every definition (with version and review dates) as YAML."""
    from bot.cli import open_services, write_export
    from bot.lead_defs import service as ld

    services = open_services()
    ld.ensure_seeded(services)
    with services.db.session() as session:
        text = ld.export_text(session)
    write_export(text, out, f"Wrote {text.count('- key:')} definitions")
    services.close()


@lead_def_cli.command("import")
def import_(file: Path = typer.Argument(..., help="A YAML file in the `export` format."),
            check: bool = typer.Option(False, "--check", help="Only validate; change nothing.")) -> None:
    """Validate the whole file, then create or update definitions; writes nothing if any entry is invalid."""
    from bot.cli import open_services
    from bot.errors import InvalidInput
    from bot.lead_defs import service as ld

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}") from None
    services = open_services()
    # No seeding here: importing into an empty database makes the file the whole vocabulary.
    with services.db.session() as session:
        if check:
            _entries, problems = ld.check_file(text)
            report = ld.ImportReport(problems=problems)
        else:
            report = ld.import_text(session, text, by="cli import", now=services.now())
    services.close()
    if report.problems:
        for problem in report.problems:
            typer.echo(f"{file}:{problem}", err=True)
        raise InvalidInput(f"{len(report.problems)} problem(s) in {file}; nothing was imported.")
    if check:
        typer.echo(f"{file} is valid.")
        return
    typer.echo(f"Imported {file}: {len(report.created)} created, {len(report.updated)} updated "
               f"(new versions), {len(report.unchanged)} unchanged.")
    for label, keys in (("created", report.created), ("updated", report.updated)):
        if keys:
            typer.echo(f"  {label}: {', '.join(keys)}")


@lead_def_cli.command("list")
def list_() -> None:
    """The funnel stages in order, then the glossary."""
    from bot.cli import open_services
    from bot.lead_defs import service as ld

    services = open_services()
    ld.ensure_seeded(services)
    with services.db.session() as session:
        for d in ld.all_definitions(session):
            where = f"{d.position}." if d.kind == "stage" else "  -"
            extra = f"  owner {d.owner}; SLA: {d.sla}" if d.kind == "stage" else ""
            typer.echo(f"{where:>3} {d.key} (v{d.version}) — {d.full_name}{extra}")
    services.close()


@lead_def_cli.command("stale")
def stale(days: Optional[int] = typer.Option(None, help="Override REVALIGN_STALE_AFTER_DAYS.")) -> None:
    """Definitions not reviewed for the configured number of days."""
    from bot.cli import open_services
    from bot.lead_defs.queries import stale_definitions

    services = open_services()
    limit = days or services.settings.stale_after_days
    with services.db.session() as session:
        rows = stale_definitions(session, services.now(), limit)
    if not rows:
        typer.echo(f"Every definition was reviewed in the last {limit} days.")
    for row in rows:
        typer.echo(f"{row.key}\tlast reviewed {row.last_reviewed:%Y-%m-%d} ({row.days_since_review} days)")
    services.close()
