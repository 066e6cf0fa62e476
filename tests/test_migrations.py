"""The schema: migrations reach head on an empty database, go back to base, and match the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot import migrate
from bot.db import Database
from bot.errors import DatabaseNotReady
from bot.models import Base


def test_upgrade_to_head_then_downgrade_to_base(empty_database_url):
    migrate.upgrade(empty_database_url)
    db = Database(empty_database_url)
    try:
        assert migrate.current_revisions(db.engine) == migrate.head_revisions(empty_database_url)
        tables = set(inspect(db.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        migrate.downgrade(empty_database_url, "base")
        assert migrate.current_revisions(db.engine) == set()
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    finally:
        db.dispose()


def test_models_match_migrations(database_url):
    db = Database(database_url)
    try:
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"models and migrations differ; run alembic revision --autogenerate: {diff}"
    finally:
        db.dispose()


def test_unmigrated_database_is_refused_with_instructions(empty_database_url, backend):
    db = Database(empty_database_url)
    try:
        with pytest.raises(DatabaseNotReady, match="revalign db upgrade"):
            migrate.ensure_ready(empty_database_url, db.engine, auto_migrate_sqlite=False)
    finally:
        db.dispose()


def test_embedded_sqlite_is_migrated_automatically(tmp_path):
    url = f"sqlite:///{tmp_path / 'auto.db'}"
    db = Database(url)
    said = []
    try:
        migrate.ensure_ready(url, db.engine, auto_migrate_sqlite=True, say=said.append)
        assert migrate.current_revisions(db.engine) == migrate.head_revisions(url)
        assert said and "Migrating" in said[0]
    finally:
        db.dispose()
