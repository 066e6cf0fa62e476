"""Shared fixtures: a real SQLite file and a real PostgreSQL database per test, the
fake Slack Web API, a controllable clock, and the real app served over HTTP.

Every test that takes `database_url` (directly or through `services`/`slack_app`)
runs on SQLite, and again on PostgreSQL when REVALIGN_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bot import migrate
from bot.clock import FrozenClock
from bot.models import Role
from tests.fake_slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, SlackSender

POSTGRES_URL = os.environ.get("REVALIGN_TEST_POSTGRES_URL")
API_TOKEN = "test-api-token-0123456789abcdef"
ALIGNMENT_CHANNEL = "C0ALIGN001"
# A Tuesday afternoon, so "this week" is 2026-W48.
START = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=pytest.mark.skipif(
            not POSTGRES_URL, reason="REVALIGN_TEST_POSTGRES_URL is not set: PostgreSQL runs skipped"
        ),
    ),
]


# --- databases -------------------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    _checkpoint_sqlite(path)
    return path


def _checkpoint_sqlite(path) -> None:
    import sqlite3

    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.close()


@pytest.fixture(scope="session")
def postgres_template():
    """A migrated template database; each test gets a copy (CREATE DATABASE … TEMPLATE)."""
    if not POSTGRES_URL:
        pytest.skip("REVALIGN_TEST_POSTGRES_URL is not set: PostgreSQL runs skipped")
    name = f"revalign_tpl_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    migrate.upgrade(_pg_url(name))
    yield name
    _drop_pg_database(name)


def _pg_url(database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


def _pg_admin(sql: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(sql))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(backend, request, tmp_path):
    """A migrated, empty database of the test's backend."""
    if backend == "sqlite":
        path = tmp_path / "revalign.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        template = request.getfixturevalue("postgres_template")
        name = f"revalign_t_{uuid.uuid4().hex[:10]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield _pg_url(name)
        _drop_pg_database(name)


def _drop_pg_database(name: str) -> None:
    """Drop a test database; a leftover one is only disk space, never a reason to fail a test."""
    import warnings

    from sqlalchemy.exc import SQLAlchemyError

    try:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except SQLAlchemyError as exc:
        warnings.warn(f"could not drop test database {name}: {str(exc).splitlines()[0]}", stacklevel=1)


@pytest.fixture
def empty_database_url(backend, tmp_path):
    """A database with no tables at all, for migration tests."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        if not POSTGRES_URL:
            pytest.skip("REVALIGN_TEST_POSTGRES_URL is not set")
        name = f"revalign_e_{uuid.uuid4().hex[:10]}"
        _pg_admin(f'CREATE DATABASE "{name}"')
        yield _pg_url(name)
        _drop_pg_database(name)


# --- the model, Slack, the clock ------------------------------------------------------
@pytest.fixture(scope="session")
def embedder():
    """The bundled all-MiniLM-L6-v2, loaded once for the whole run (offline)."""
    from content_index import Embedder

    return Embedder(None)


@pytest.fixture
def fake_slack():
    """The fake Slack; a test fails if the app sent anything Slack would refuse (see FakeSlack.violations)."""
    with FakeSlack() as slack:
        yield slack
    assert not slack.violations, "the app sent payloads Slack refuses:\n" + "\n".join(slack.violations[:20])


@pytest.fixture
def clock():
    return FrozenClock(START)


def make_settings(database_url: str, slack_api_url: str, **extra):
    from bot.settings import load_settings

    values = {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-test-0000-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
        "REVALIGN_API_TOKEN": API_TOKEN,
        "REVALIGN_ALIGNMENT_CHANNEL": ALIGNMENT_CHANNEL,
        "_env_file": None,
    }
    values.update(extra)
    return load_settings(**values)


@pytest.fixture
def services(database_url, fake_slack, clock, embedder):
    from bot.services import Services

    services = Services(make_settings(database_url, fake_slack.api_url), clock=clock, embedder=embedder)
    yield services
    services.close()


# --- the app over HTTP ----------------------------------------------------------------
@dataclass
class AppUnderTest:
    url: str
    send: SlackSender
    slack: FakeSlack
    services: object
    clock: FrozenClock
    registrar: object

    def set_role(self, user_id: str, role: Role | str) -> None:
        from bot import roles

        with self.services.db.session() as session:
            roles.set_role(session, user_id, Role(role), by="test", now=self.clock())

    def command(self, command: str, text: str = "", *, user_id: str = "U0REP0001", **kwargs) -> dict:
        """Send a signed slash command; return what the app posted to its response_url."""
        before = len(self.slack.calls_to("response_url"))
        result = self.send.command(command, text, user_id=user_id, **kwargs)
        assert result.status == 200, (result.status, result.body)
        return self.slack.wait_for("response_url", before + 1)[before].args

    def action(self, action_id: str, value: str = "", **kwargs) -> dict:
        """Click a button; return the next response_url post."""
        before = len(self.slack.calls_to("response_url"))
        result = self.send.block_action(action_id, value, **kwargs)
        assert result.status == 200, (result.status, result.body)
        return self.slack.wait_for("response_url", before + 1)[before].args


@pytest.fixture
def slack_app(services, fake_slack, clock):
    from bot.app import create_app
    from bot.server import HttpServer, create_http_app

    bolt_app, registrar = create_app(services)
    server = HttpServer(create_http_app(services, bolt_app), port=0).start()
    services.start()
    yield AppUnderTest(server.url, SlackSender(server.url, fake_slack), fake_slack, services, clock, registrar)
    server.stop()


def text_of(payload: dict) -> str:
    """Everything a person would read in a message payload, as plain text."""
    from bot.render.blocks import render_message

    return render_message(payload)
