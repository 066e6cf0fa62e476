"""CLI: `revalign schedule set/show/enable/disable`, `revalign scheduler [--once]`, `revalign deliveries`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

schedule_cli = typer.Typer(help="The alignment meeting and digest schedules.", no_args_is_help=True)
deliveries_cli = typer.Typer(
    help="Agenda and digest deliveries: status, attempts, last error.", invoke_without_command=True
)


def _parse_now(value: str | None) -> datetime | None:
    if not value:
        return None
    from bot.errors import InvalidInput

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--now must be an ISO time such as 2026-12-01T13:00:00Z, not '{value[:30]}'.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@schedule_cli.command("set")
def schedule_set(
    spec: Annotated[
        list[str],
        typer.Argument(
            metavar="weekly tue 10:00 America/New_York C0123456789", help="cadence, day, time, time zone, channel"
        ),
    ],
    agenda_lead: str | None = typer.Option(None, "--agenda-lead", help="e.g. 2h (default 2h)"),
    grace: str | None = typer.Option(None, "--grace", help="e.g. 1h (default 1h)"),
) -> None:
    """Set the alignment meeting (the agenda is posted --agenda-lead before it).

    Example: revalign schedule set weekly tue 10:00 America/New_York C0123456789 --agenda-lead 2h
    """
    from bot.cli import open_services
    from bot.meetings import schedules as sch

    services = open_services()
    with services.db.session() as session:
        words = (
            list(spec) + (["--agenda-lead", agenda_lead] if agenda_lead else []) + (["--grace", grace] if grace else [])
        )
        schedule = sch.set_meeting(session, sch.parse_schedule(words, now=services.now()), by="cli", now=services.now())
        typer.echo(_describe(schedule, services.now()))


@schedule_cli.command("show")
def schedule_show() -> None:
    """Show the meeting and digest schedules and their next runs."""
    from bot.cli import open_services
    from bot.meetings import schedules as sch

    services = open_services()
    with services.db.session() as session:
        sch.ensure_defaults(session, services.settings, services.now())
        for kind in (sch.AGENDA, sch.DIGEST):
            schedule = sch.get_schedule(session, kind)
            if schedule is None:
                typer.echo(f"{kind}: not set (revalign schedule set weekly tue 10:00 America/New_York CHANNEL)")
            else:
                typer.echo(_describe(schedule, services.now()))


@schedule_cli.command("enable")
def schedule_enable(kind: str = typer.Argument(..., help="agenda or digest")) -> None:
    """Turn a schedule back on (occurrences while it was off are not sent)."""
    _toggle(kind, True)


@schedule_cli.command("disable")
def schedule_disable(kind: str = typer.Argument(..., help="agenda or digest")) -> None:
    """Turn a schedule off."""
    _toggle(kind, False)


def _toggle(kind: str, enabled: bool) -> None:
    from bot.cli import open_services
    from bot.errors import InvalidInput
    from bot.meetings import schedules as sch

    if kind not in (sch.AGENDA, sch.DIGEST):
        raise InvalidInput("Name the schedule: agenda or digest.")
    services = open_services()
    with services.db.session() as session:
        sch.ensure_defaults(session, services.settings, services.now())
        schedule = sch.set_enabled(session, kind, enabled, by="cli", now=services.now())
        typer.echo(_describe(schedule, services.now()))


def _describe(schedule, now: datetime) -> str:
    from bot.meetings import schedules as sch

    target = schedule.channel or "the department heads"
    state = "" if schedule.enabled else " [disabled]"
    line = f"{schedule.kind}: {sch.describe(schedule)} → {target}{state}"
    if schedule.kind == sch.AGENDA:
        line += f"; agenda posted {sch.format_minutes(schedule.lead_minutes)} before"
    line += f"; grace {sch.format_minutes(schedule.grace_minutes)}"
    nxt = sch.next_occurrence(schedule, now) if schedule.enabled else None
    if nxt:
        line += f"; next {sch.format_local(nxt, schedule.timezone)}"
    return line


def scheduler(
    once: bool = typer.Option(False, "--once", help="Run one tick (if the lease is free) and exit."),
    now: str | None = typer.Option(None, "--now", help="Pretend it is this ISO time (previews and tests)."),
) -> None:
    """Run the scheduler as its own process (a database lease keeps it to one process at a time).

    SIGTERM or Ctrl-C: the tick in progress finishes (at most 20 s), the lease is released, exit 0.
    """
    from bot.cli import open_services
    from bot.clock import FrozenClock
    from bot.meetings import delivery, runtime
    from bot.serving import StopSignal

    services = open_services()
    services.settings.require("SLACK_BOT_TOKEN")
    pretend = _parse_now(now)
    if pretend:
        services.clock = FrozenClock(pretend)
    if once:
        holder = delivery.new_holder_id()
        report = delivery.tick(services, holder)
        if report is None:
            typer.echo("scheduler: another process holds the lease; nothing done.")
        else:
            delivery.release_lease(services.db, holder, services.now())
            typer.echo(f"scheduler: {report.summary()}")
            for note in report.notes:
                typer.echo(f"  note: {note}")
        services.close()
        return
    stop = StopSignal()
    scheduler_ = runtime.Scheduler(services)
    typer.echo(f"revalign: scheduler running as {scheduler_.holder} (Ctrl-C or SIGTERM to stop)", err=True)
    finished = scheduler_.run_forever(stop.event)
    services.close()
    typer.echo(
        "revalign: scheduler stopped, lease released" + ("" if finished else " (a tick was cut short)"), err=True
    )


@deliveries_cli.callback()
def deliveries(
    ctx: typer.Context,
    status: str | None = typer.Option(None, help="Only this status: sent, failed, missed, unconfirmed, sending."),
    limit: int = typer.Option(50, help="How many, newest first."),
) -> None:
    """List deliveries with status, attempts and last error."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.cli import open_services
    from bot.meetings.delivery import list_deliveries

    services = open_services()
    with services.db.session() as session:
        rows = list_deliveries(session, limit=limit, status=status)
    if not rows:
        typer.echo("No deliveries yet.")
        return
    typer.echo("ID\tKIND\tPERIOD\tRECIPIENT\tDUE (UTC)\tSTATUS\tATTEMPTS\tLAST ERROR")
    for r in rows:
        typer.echo(
            f"{r.id}\t{r.kind}\t{r.period}\t{r.recipient}\t{r.due_at:%Y-%m-%d %H:%M}\t{r.status}\t"
            f"{r.attempts}\t{r.last_error or ''}"
        )


@deliveries_cli.command("resend")
def deliveries_resend(delivery_id: int = typer.Argument(..., help="ID from `revalign deliveries`")) -> None:
    """Send a failed, missed or unconfirmed delivery on the scheduler's next tick."""
    from bot.cli import open_services
    from bot.meetings.delivery import resend

    services = open_services()
    with services.db.session() as session:
        row = resend(session, delivery_id, services.now())
        typer.echo(f"Delivery {row.id} ({row.kind} {row.period} → {row.recipient}) will be sent on the next tick.")


def register(cli: typer.Typer) -> None:
    cli.add_typer(schedule_cli, name="schedule")
    cli.add_typer(deliveries_cli, name="deliveries")
    cli.command("scheduler")(scheduler)
