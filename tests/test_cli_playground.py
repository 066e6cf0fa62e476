"""The first hour on the command line: `revalign demo` makes the default workspace, plain `ask`
uses it (with no progress bars in its output), `ask` reuses a running playground, and a real
workspace is never overwritten by the demo."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.test_cli import REVALIGN, run_cli


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("first-hour")
    result = run_cli("demo", cwd=folder, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return folder, result


def test_demo_writes_the_default_database_and_points_at_the_playground(demo_folder):
    folder, result = demo_folder
    assert (folder / "revalign.db").exists() and not (folder / "revalign-demo.db").exists()
    lines = result.stdout.strip().splitlines()
    assert "default database (revalign.db)" in lines[-2]
    assert "revalign playground" in lines[-1]
    assert "Loading weights" not in result.stdout + result.stderr


def test_plain_ask_after_the_demo_uses_the_demo_workspace(demo_folder):
    folder, _ = demo_folder
    agenda = run_cli("ask", "/agenda", cwd=folder)
    assert agenda.returncode == 0, agenda.stderr
    assert "Webinar leads arrive without company size" in agenda.stdout  # the demo's agenda item
    # The demo workspace is fully set up: a proposal opens its modal (the alignment channel is set).
    propose = run_cli("ask", "/lead-def propose MQL", "--user", "U0MARKETER", cwd=folder)
    assert propose.returncode == 0, propose.stderr
    assert "--- modal ---" in propose.stdout and "Propose: MQL" in propose.stdout
    assert not (folder / "revalign-demo.db").exists()


def test_ask_output_has_no_progress_bar(demo_folder):
    folder, _ = demo_folder
    result = run_cli("ask", "/content we're 2x the price of Vantage", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "Content for" in result.stdout
    for noise in ("Loading weights", "it/s]", "%|"):
        assert noise not in result.stdout and noise not in result.stderr


def test_ask_reuses_a_running_playground(demo_folder):
    folder, _ = demo_folder
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"REVALIGN_PLAYGROUND_PORT": str(port)}
    process = subprocess.Popen([*REVALIGN, "playground"], cwd=folder, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               env={**_clean_env(), **env})
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, process.stdout.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ping", timeout=2) as response:
                    assert json.loads(response.read())["playground"] is True
                    break
            except OSError:
                assert time.monotonic() < deadline, "the playground did not start"
                time.sleep(0.5)
        # A model that cannot load proves the reply came from the playground's warm process.
        result = run_cli("ask", "/content they need SSO", cwd=folder,
                         env={**env, "REVALIGN_EMBEDDING_MODEL": str(folder / "no-such-model")})
        assert result.returncode == 0, result.stderr
        assert "Content for" in result.stdout and "SSO" in result.stdout
        # Another folder's database is not this playground's: ask does not use it.
        other = folder / "elsewhere"
        other.mkdir(exist_ok=True)
        elsewhere = run_cli("ask", "/content they need SSO", cwd=other,
                            env={**env, "REVALIGN_EMBEDDING_MODEL": str(folder / "no-such-model")})
        assert elsewhere.returncode != 0
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_demo_never_overwrites_a_real_workspace(tmp_path):
    from bot import migrate

    migrate.upgrade(f"sqlite:///{tmp_path / 'revalign.db'}")
    result = run_cli("demo", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [(
        "revalign: revalign.db is not a demo workspace, so the demo leaves it alone: run it elsewhere or pass "
        "--database demo.db.")]
    assert (tmp_path / "revalign.db").stat().st_size > 0


def _clean_env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REVALIGN_", "DATABASE_URL"))}
