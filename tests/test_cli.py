"""The command line: clear one-line failures, fast start, and `revalign serve` for real."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import text_of
from tests.slack_requests import SIGNING_SECRET, SlackSender

REVALIGN = [sys.executable, "-m", "bot.cli"]
ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, env=None, cwd=None, timeout=120):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REVALIGN_", "DATABASE_URL"))}
    full_env.update(env or {})
    return subprocess.run([*REVALIGN, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout)


def test_malformed_token_stops_with_one_line_and_exit_2(tmp_path):
    result = run_cli("roles", "list", env={"SLACK_BOT_TOKEN": "xoxp-secret-value-123"}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SLACK_BOT_TOKEN" in lines[0] and "xoxb-" in lines[0]
    assert "secret-value" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_missing_token_for_serve(tmp_path):
    result = run_cli("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "revalign: SLACK_BOT_TOKEN is not set: expected a bot token starting with 'xoxb-'."
    )


def test_malformed_database_url(tmp_path):
    result = run_cli("db", "current", env={"DATABASE_URL": "mysql://x@y/z"}, cwd=tmp_path)
    assert result.returncode == 2 and "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_unmigrated_postgres_is_refused_clearly(empty_database_url, backend, tmp_path):
    if backend == "sqlite":
        pytest.skip("embedded SQLite is migrated automatically (tested in test_migrations)")
    result = run_cli("roles", "list", env={"DATABASE_URL": empty_database_url}, cwd=tmp_path)
    assert result.returncode == 2
    assert "revalign db upgrade" in result.stderr and "Traceback" not in result.stderr


def test_db_commands_round_trip(empty_database_url, tmp_path):
    env = {"DATABASE_URL": empty_database_url}
    assert "pending" in run_cli("db", "current", env=env, cwd=tmp_path).stdout
    assert run_cli("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    assert "up to date" in run_cli("db", "current", env=env, cwd=tmp_path).stdout
    assert run_cli("db", "downgrade", "base", env=env, cwd=tmp_path).returncode == 0


def test_roles_cli(database_url, tmp_path):
    env = {"DATABASE_URL": database_url}
    assert run_cli("roles", "set", "U0HEAD001", "marketing_head", env=env, cwd=tmp_path).returncode == 0
    listing = run_cli("roles", "list", env=env, cwd=tmp_path)
    assert "U0HEAD001\tmarketing_head" in listing.stdout
    bad = run_cli("roles", "set", "U0HEAD001", "boss", env=env, cwd=tmp_path)
    assert bad.returncode == 1 and "not a role" in bad.stderr


def test_help_does_not_import_torch(tmp_path):
    code = "import sys; sys.argv=['revalign','--help']\nfrom bot import cli\ntry:\n    cli.main()\nexcept SystemExit:\n    pass\nprint('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.stdout.strip().splitlines()[-1] == "False False"


def test_serve_answers_signed_help_over_http(database_url, fake_slack, tmp_path):
    """`revalign serve` as its own process, against the fake Slack, answering /revalign help."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REVALIGN_"))}
    env.update({
        "DATABASE_URL": database_url, "SLACK_BOT_TOKEN": "xoxb-test-serve", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url, "HF_HUB_OFFLINE": "1",
    })
    process = subprocess.Popen([*REVALIGN, "serve", "--port", str(port), "--no-scheduler"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                    status = response.status
                    break
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                pass
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.3)
        assert status == 200
        sender = SlackSender(url, fake_slack)
        assert sender.command("/revalign", "help").status == 200
        reply = fake_slack.wait_for("response_url")[0].args
        assert "/lead-def" in text_of(reply) and "/content" in text_of(reply)
        assert fake_slack.calls_to("auth.test"), "the app checks its token against SLACK_API_URL"
    finally:
        process.terminate()
        process.wait(timeout=10)
