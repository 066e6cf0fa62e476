"""The `revalign` command line.

Heavy imports (torch, sentence-transformers, Bolt) happen inside the commands
that need them, so `--help`, `db` and `roles` start instantly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from bot.errors import ConfigError, RevalignError

cli = typer.Typer(
    name="revalign",
    help="revalign: sales and marketing alignment in Slack.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_cli = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
roles_cli = typer.Typer(help="Who is a marketer, head or admin.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(roles_cli, name="roles")


def open_services(
    *,
    migrate_embedded: bool = True,
    check_schema: bool = True,
    database_url: str | None = None,
    overrides: dict[str, str] | None = None,
):
    """Settings + database, refusing an un-migrated database with a clear message.

    `overrides` (env-style names) win over the environment, e.g. the local Slack's URL for `ask`."""
    from bot import migrate
    from bot.services import Services
    from bot.settings import load_settings

    overrides = dict(overrides or {})
    if database_url:
        overrides["DATABASE_URL"] = database_url
    settings = load_settings(**overrides)
    services = Services(settings)
    if check_schema:
        migrate.ensure_ready(
            settings.database_url,
            services.db.engine,
            auto_migrate_sqlite=migrate_embedded and settings.is_embedded_sqlite,
            say=lambda m: typer.echo(m, err=True),
        )
    return services


def write_export(text: str, out: Path | None, summary: str) -> None:
    """An export goes to the file given (with `summary` on stderr) or, without one, to stdout."""
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{summary} to {out}.", err=True)


def progress_bar():
    """The CLIs' progress bar on stderr (stdout stays clean for exports): each task's description,
    a bar, done/total and the time taken."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def echo_error(message: str) -> None:
    typer.echo(f"revalign: {message}", err=True)


# Our own loggers; everything else (alembic, Bolt, slack_sdk, waitress, urllib3…) only warns.
OWN_LOGGERS = ("bot", "handlers", "content_index", "revalign.handlers")


def setup_logging(verbose: bool = False) -> None:
    """Warnings and our own INFO lines by default; `--verbose` or REVALIGN_LOG_LEVEL=INFO/DEBUG for
    every library's. A one-line error stays one line."""
    import logging
    import os

    level_name = os.environ.get("REVALIGN_LOG_LEVEL", "").strip().upper()
    level = getattr(logging, level_name, None) if level_name in ("DEBUG", "INFO", "WARNING", "ERROR") else None
    if level is None and level_name:
        raise ConfigError("REVALIGN_LOG_LEVEL is malformed: expected DEBUG, INFO, WARNING or ERROR.")
    if verbose and level is None:
        level = logging.DEBUG
    logging.basicConfig(
        level=level if level is not None else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    if level is None:
        for name in OWN_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)
        # Each failed try of a Slack call; the caller says what failed, once, in its own words.
        logging.getLogger("slack_sdk.web.base_client").setLevel(logging.CRITICAL)
        logging.getLogger("revalign.bolt").addFilter(_BoltTokenNotice())


class _BoltTokenNotice:
    """Bolt warns that SLACK_BOT_TOKEN in the environment is unused when given a client (built from it)."""

    def filter(self, record) -> bool:
        return "`token` will be unused" not in record.getMessage()


@cli.callback()
def main_options(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Log everything, libraries included (or set REVALIGN_LOG_LEVEL)."
    ),
) -> None:
    setup_logging(verbose)


# --- db -------------------------------------------------------------------------
@db_cli.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads", help="Target revision (default: latest).")) -> None:
    """Create or update the schema."""
    from bot import migrate
    from bot.settings import load_settings

    settings = load_settings()
    migrate.upgrade(settings.database_url, revision)
    typer.echo(f"Database is at: {_current(settings.database_url)}")


@db_cli.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="Target revision, or 'base' to remove every table.")) -> None:
    """Step the schema back (data in removed tables is lost)."""
    from bot import migrate
    from bot.settings import load_settings

    settings = load_settings()
    migrate.downgrade(settings.database_url, revision)
    typer.echo(f"Database is at: {_current(settings.database_url) or 'base (empty)'}")


@db_cli.command("current")
def db_current() -> None:
    """Show the schema revision of the database and whether it is up to date."""
    from bot import migrate
    from bot.db import Database
    from bot.settings import load_settings

    settings = load_settings()
    db = Database(settings.database_url)
    current = migrate.current_revisions(db.engine)
    heads = migrate.head_revisions(settings.database_url)
    typer.echo(f"current: {', '.join(sorted(current)) or 'none (not migrated)'}")
    typer.echo(f"latest:  {', '.join(sorted(heads))}")
    typer.echo("up to date" if current == heads else "pending: run `revalign db upgrade`")


def _current(database_url: str) -> str:
    from bot import migrate
    from bot.db import Database

    db = Database(database_url)
    try:
        return ", ".join(sorted(migrate.current_revisions(db.engine)))
    finally:
        db.dispose()


# --- roles --------------------------------------------------------------------------
@roles_cli.command("set")
def roles_set(
    user: str = typer.Argument(..., help="Slack user ID, e.g. U012ABC3DEF"),
    role: str = typer.Argument(..., help="rep, marketer, sales_head, marketing_head or admin"),
) -> None:
    """Give a Slack user a role."""
    from bot import roles

    services = open_services()
    user_id = roles.parse_user_ref(user)
    new_role = roles.parse_role(role)
    with services.db.session() as session:
        previous = roles.set_role(session, user_id, new_role, by="cli", now=services.now())
    typer.echo(f"{user_id} is now {new_role.value} (was {previous.value}).")


@roles_cli.command("list")
def roles_list() -> None:
    """List everyone with a role other than rep."""
    from bot import roles

    services = open_services()
    with services.db.session() as session:
        rows = roles.all_roles(session)
        if not rows:
            typer.echo("Nobody has a role yet: everyone is a rep.")
        for row in rows:
            typer.echo(f"{row.slack_user_id}\t{row.role}\t(set by {row.updated_by} on {row.updated_at:%Y-%m-%d})")


# --- serve ---------------------------------------------------------------------------
@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface for HTTP mode."),
    port: int = typer.Option(3000, help="Port for HTTP mode (and /healthz in Socket Mode)."),
    scheduler: bool = typer.Option(
        True, help="Also run the scheduler in this process (a database lease keeps it to one process)."
    ),
) -> None:
    """Serve Slack: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on POST /slack/events.

    SIGTERM or Ctrl-C stops it gracefully: requests in flight are answered (at most 20 s), then exit 0.
    """
    from bot import serving
    from bot.app import create_app
    from bot.server import HttpServer, create_http_app

    services = open_services()
    settings = services.settings
    settings.require("SLACK_BOT_TOKEN")
    socket_mode = settings.slack_app_token is not None
    if not socket_mode:
        settings.require("SLACK_SIGNING_SECRET")
    stop = serving.StopSignal()
    executor = serving.DrainingExecutor()
    # The token is checked below, with retries and one clear line, not by Bolt at construction.
    bolt_app, _ = create_app(services, verify_requests=not socket_mode, verify_token=False, listener_executor=executor)
    try:
        http = HttpServer(create_http_app(services, bolt_app), host=host, port=port, threads=settings.http_threads)
    except OSError as exc:
        raise RevalignError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    http.start()

    def say(message: str) -> None:
        typer.echo(message, err=True)

    handler = serving.socket_mode_handler(bolt_app, settings.secret("SLACK_APP_TOKEN")) if socket_mode else None
    background = None
    try:
        if serving.wait_for_slack(services, stop, say) and serving.load_model(services, stop):
            if scheduler:
                from bot.meetings.runtime import start_background_scheduler

                background = start_background_scheduler(services)
            if handler is not None:
                if serving.connect_socket_mode(handler, services, stop, say):
                    say(f"revalign: Socket Mode connected; health on {http.url}/healthz")
            else:
                say(f"revalign: listening on {http.url}/slack/events")
            stop.wait_forever()
    except BaseException:
        # A start-up error (e.g. the token rejected) is reported by main() in one line.
        serving.shutdown(
            services,
            http=http,
            socket_handler=handler,
            executor=executor,
            scheduler=background,
            say=lambda _message: None,
            grace=5,
        )
        raise
    serving.shutdown(services, http=http, socket_handler=handler, executor=executor, scheduler=background, say=say)


# --- ask, demo, playground (dev tooling in revalign_dev/, imported only here) ----------------
@cli.command()
def ask(
    command_line: str = typer.Argument(..., metavar="'/COMMAND TEXT'", help='e.g. "/lead-def MQL"'),
    user: str = typer.Option("U0REP", "--user", help="Slack user ID to act as (the demo's rep by default)."),
    channel: str = typer.Option("C0SALESMKT", "--channel", help="Channel ID the command is run in."),
) -> None:
    """Run a slash command through the same code path as Slack and print the reply."""
    from revalign_dev.quiet import quiet_model_loading

    quiet_model_loading()
    from revalign_dev.commands import run_ask

    for reply in run_ask(open_services, command_line, user_ref=user, channel_id=channel):
        typer.echo(f"--- {reply.where} ---")
        typer.echo(reply.text)


@cli.command()
def demo(
    database: Path | None = typer.Option(
        None, help="SQLite file to (re)create (default: the default database, revalign.db here)."
    ),
) -> None:
    """Create a local SQLite workspace with realistic sample data and run example commands."""
    from bot.demo import run_demo
    from bot.settings import load_settings, sqlite_path

    default_database = database is None
    if database is None:
        database = sqlite_path(load_settings().database_url)
        if database is None:
            raise RevalignError(
                "DATABASE_URL points at a server database, which the demo never overwrites: "
                "pass --database demo.db or unset DATABASE_URL."
            )
    run_demo(database, default_database=default_database)


@cli.command()
def playground(
    port: int | None = typer.Option(None, help="Port on 127.0.0.1 (default: REVALIGN_PLAYGROUND_PORT, 8765)."),
) -> None:
    """A local web page that plays Slack for the bot: pick who you are, run commands, press buttons, fill modals."""
    from revalign_dev.quiet import quiet_model_loading

    quiet_model_loading()
    from bot.settings import load_settings
    from revalign_dev.commands import run_playground

    chosen = port if port is not None else load_settings().playground_port
    run_playground(open_services, port=chosen, say=lambda line: typer.echo(line, err=True))


@cli.command()
def shell(
    user: str = typer.Option("U0REP", "--user", help="Slack user ID to act as (`as USER` changes it)."),
    channel: str = typer.Option("C0SALESMKT", "--channel", help="Channel ID (`in CHANNEL` changes it)."),
) -> None:
    """One warm process for many slash commands: type them, read the replies (Ctrl-D quits)."""
    from revalign_dev.quiet import quiet_model_loading

    quiet_model_loading()
    from revalign_dev.commands import run_shell

    run_shell(
        open_services,
        user_ref=user,
        channel_id=channel,
        lines=sys.stdin,
        say=typer.echo,
        note=lambda line: typer.echo(line, err=True),
        interactive=sys.stdin.isatty(),
    )


def _register_features() -> None:
    from bot.content import cli as content_cli
    from bot.crm import cli as crm_cli
    from bot.kpis import cli as kpis_cli
    from bot.lead_defs import cli as lead_defs_cli
    from bot.meetings import cli as meetings_cli

    for feature in (lead_defs_cli, content_cli, kpis_cli, meetings_cli, crm_cli):
        feature.register(cli)


_register_features()


def main() -> None:
    try:
        cli(prog_name="revalign")
    except RevalignError as exc:
        echo_error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
