"""Alembic, driven from code: upgrade, downgrade, current, and the start-up check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import migrations
from bot.errors import DatabaseNotReady


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # ConfigParser treats % as interpolation; passwords may contain it.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revisions(database_url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def current_revisions(engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def ensure_ready(database_url: str, engine, *, auto_migrate_sqlite: bool, say=print) -> None:
    """Refuse to run against an un-migrated database, or migrate an embedded SQLite file.

    Production PostgreSQL is never migrated behind the admin's back: migrations
    there are a deliberate step.
    """
    from sqlalchemy.exc import OperationalError

    try:
        current = current_revisions(engine)
    except OperationalError as exc:
        raise DatabaseNotReady(f"cannot connect to the database: {_short(exc)}") from None
    heads = head_revisions(database_url)
    if current == heads:
        return
    if auto_migrate_sqlite and engine.dialect.name == "sqlite":
        say("Migrating the embedded SQLite database to the latest schema…")
        upgrade(database_url)
        return
    if not current:
        raise DatabaseNotReady("the database has no revalign tables yet: run `revalign db upgrade` first.")
    unknown = current - _all_revisions(database_url)
    if unknown:
        raise DatabaseNotReady(
            f"the database is at revision {', '.join(sorted(unknown))}, which this version of revalign "
            "does not know: upgrade revalign, or point DATABASE_URL at another database."
        )
    raise DatabaseNotReady("the database schema is out of date: run `revalign db upgrade`.")


def _all_revisions(database_url: str) -> set[str]:
    script = ScriptDirectory.from_config(alembic_config(database_url))
    return {rev.revision for rev in script.walk_revisions()}


def _short(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0]
