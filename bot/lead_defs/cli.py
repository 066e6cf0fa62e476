"""`revalign lead-def import|export|list|stale`: the definitions as a YAML file, round-trip exact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

lead_def_cli = typer.Typer(help="The shared funnel vocabulary (/lead-def) as a YAML file.", no_args_is_help=True)


def register(cli: typer.Typer) -> None:
    cli.add_typer(lead_def_cli, name="lead-def")


@lead_def_cli.command("export")
def export(
    out: Annotated[Path | None, typer.Argument(help="File to write (default: standard output).")] = None,
) -> None:
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
def import_(
    file: Annotated[Path, typer.Argument(help="A YAML file in the `export` format.")],
    check: Annotated[bool, typer.Option("--check", help="Only validate; change nothing.")] = False,
    by: Annotated[str, typer.Option("--by", help="Who proposes the changes (a Slack user ID).")] = "cli import",
    apply_without_approval: Annotated[
        bool,
        typer.Option(
            "--apply-without-approval",
            help="Admin override: apply at once, recorded in history and announced in the alignment channel.",
        ),
    ] = False,
    admin: Annotated[str | None, typer.Option("--admin", help="The admin's Slack user ID (with the override).")] = None,
) -> None:
    """Validate the whole file; then changes become proposals that both department heads approve
    (into an empty workspace the file is applied as the first vocabulary). Writes nothing if any entry is invalid."""
    from bot.cli import open_services
    from bot.errors import InvalidInput
    from bot.lead_defs import service as ld
    from bot.lead_defs import workflow
    from bot.roles import parse_user_ref

    if apply_without_approval != bool(admin):
        raise InvalidInput("The override needs both --apply-without-approval and --admin U… (an admin's Slack ID).")
    override_admin = parse_user_ref(admin) if admin else None
    proposer = parse_user_ref(by) if by != ld.IMPORT_PROPOSER else by
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}") from None
    services = open_services()
    try:
        if check:
            _entries, problems = ld.check_file(text)
            outcome = workflow.ImportOutcome(ld.ImportReport(problems=problems))
        else:
            # No seeding here: importing into an empty database makes the file the whole vocabulary.
            client = services.slack if services.settings.slack_bot_token else None
            outcome = workflow.import_file(services, client, text, by=proposer, override_admin=override_admin)
    finally:
        services.close()
    report = outcome.report
    if report.problems:
        for problem in report.problems:
            typer.echo(f"{file}:{problem}", err=True)
        raise InvalidInput(f"{len(report.problems)} problem(s) in {file}; nothing was imported.")
    if check:
        typer.echo(f"{file} is valid.")
        return
    if report.override_by:
        typer.echo(
            f"Applied {file} without approval (admin override by {report.override_by}): "
            f"{len(report.created)} created, {len(report.updated)} updated, {len(report.unchanged)} unchanged."
            + ("" if outcome.announced else " Could not announce it in the alignment channel.")
        )
    elif report.proposed or report.already_proposed:
        typer.echo(
            f"Imported {file}: {len(outcome.posted)} change(s) proposed in the alignment channel; "
            f"they apply once a marketing head and a sales head approve. "
            f"{len(report.already_proposed)} already waiting, {len(report.unchanged)} unchanged."
        )
    else:
        typer.echo(f"Imported {file}: {len(report.created)} created, {len(report.unchanged)} unchanged.")
    for label, keys in (
        ("created", report.created),
        ("updated", report.updated),
        ("proposed", [p.key for p in outcome.posted]),
        ("already waiting", report.already_proposed),
    ):
        if keys:
            typer.echo(f"  {label}: {', '.join(keys)}")
    if outcome.not_posted:
        raise InvalidInput(
            f"could not post {len(outcome.not_posted)} proposal(s) to the alignment channel "
            f"({', '.join(outcome.not_posted)}); nothing was proposed for them. Try again."
        )


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
def stale(days: Annotated[int | None, typer.Option(help="Override REVALIGN_STALE_AFTER_DAYS.")] = None) -> None:
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
