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


# --- serve: start-up against a failing Slack, graceful stop --------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(database_url, api_url, tmp_path, *extra, **env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REVALIGN_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": "xoxb-test-serve",
                "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": api_url, "HF_HUB_OFFLINE": "1",
                "PYTHONUNBUFFERED": "1", **env_extra})
    port = _free_port()
    process = subprocess.Popen([*REVALIGN, "serve", "--port", str(port), *extra], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, f"http://127.0.0.1:{port}"


def _health(url):
    import json

    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return None, None


def _wait_health(process, url, predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = _health(url)
        if status is not None and predicate(status, body):
            return status, body
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    raise AssertionError(f"/healthz never matched; last: {status} {body}")


def _stop(process, timeout=60):
    import signal

    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def test_serve_with_a_token_slack_rejects_stops_with_one_line_and_exit_2(database_url, fake_slack, tmp_path):
    fake_slack.fail("auth.test", slack_error="invalid_auth", times=10)
    process, _ = _serve(database_url, fake_slack.api_url, tmp_path)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2, err
    assert err.strip().splitlines() == [(
        "revalign: Slack rejected SLACK_BOT_TOKEN (invalid_auth): use the app's Bot User OAuth Token "
        "(xoxb-…, OAuth & Permissions), and reinstall the app if it was revoked.")]
    assert out == "" and "xoxb-test-serve" not in err


def test_serve_with_slack_unreachable_retries_reports_on_healthz_and_stops_cleanly(database_url, tmp_path):
    unreachable = f"http://127.0.0.1:{_free_port()}/api/"
    process, url = _serve(database_url, unreachable, tmp_path)
    status, body = _wait_health(process, url, lambda s, b: "attempt 2" in b.get("slack", ""))
    assert status == 503 and "Slack unreachable" in body["slack"] and "ConnectionRefusedError" in body["slack"]
    code, _out, err = _stop(process)
    assert code == 0, err
    lines = err.strip().splitlines()
    attempts = [line for line in lines if line.startswith("revalign: cannot reach Slack")]
    assert len(attempts) >= 2 and "attempt 1, retrying in 1 s" in attempts[0]
    assert lines[-2:] == ["revalign: stopping: finishing the requests in flight (at most 20 s)", "revalign: stopped"]
    assert "Traceback" not in err and " INFO " not in err       # no library noise without --verbose


def test_sigterm_during_a_burst_replies_to_every_acked_command_and_releases_the_lease(database_url, fake_slack,
                                                                                        tmp_path):
    """20 signed /content at once; SIGTERM right after they are acknowledged, while the replies are
    still on their way (the fake's response_url answers slowly): every one is replied to, exit 0."""
    import threading

    from bot.db import Database
    from bot.meetings.delivery import lease_holder
    from bot.models.scheduling import SchedulerLease

    process, url = _serve(database_url, fake_slack.api_url, tmp_path)
    _wait_health(process, url, lambda s, b: s == 200)
    db = Database(database_url)
    try:
        deadline = time.monotonic() + 30
        while lease_holder(db, _utcnow()) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert lease_holder(db, _utcnow()) is not None, "the in-process scheduler took the lease"
        fake_slack.slow_down("response_url", 1.5)
        sender = SlackSender(url, fake_slack)
        statuses: list[int] = []
        threads = [threading.Thread(target=lambda i=i: statuses.append(
            sender.command("/content", f"we are 2x the price of vantage &amp; co #{i}", user_id=f"U0REP{i:04d}").status))
            for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert statuses == [200] * 20                       # all acknowledged
        assert len(fake_slack.calls_to("response_url")) < 20   # replies still in flight
        code, _out, err = _stop(process)
        assert code == 0, err
        assert len(fake_slack.calls_to("response_url")) == 20
        assert lease_holder(db, _utcnow()) is None
        with db.session() as session:
            assert session.get(SchedulerLease, "scheduler") is not None   # it was held, then released
        assert "revalign: stopped" in err and "cut short" not in err
    finally:
        if process.poll() is None:
            process.kill()
        db.dispose()


def _utcnow():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def test_socket_mode_start_while_slack_fails_retries_then_connects_and_answers(database_url, fake_slack, tmp_path):
    # Each of our attempts is 1 + 3 tries by the client (its 5xx retries): 8 failures = 2 attempts.
    fake_slack.fail("apps.connections.open", status=500, times=8)
    process, url = _serve(database_url, fake_slack.api_url, tmp_path, "--no-scheduler",
                          SLACK_APP_TOKEN="xapp-test-socket")
    status, body = _wait_health(process, url, lambda s, b: "attempt" in b.get("socket_mode", ""))
    assert status == 503 and "Slack answered 500" in body["socket_mode"]
    assert fake_slack.calls_to("socket_mode.connect") == []    # no envelope can arrive yet
    _wait_health(process, url, lambda s, b: s == 200, timeout=60)
    assert len(fake_slack.calls_to("socket_mode.connect")) == 1
    envelope_id = fake_slack.send_envelope("slash_commands", {
        "token": "x", "team_id": "T0LOCAL01", "team_domain": "local", "channel_id": "C0SALESMKT",
        "channel_name": "sales", "user_id": "U0REP0001", "user_name": "rep", "command": "/revalign",
        "text": "help", "api_app_id": "A0REVALIGN", "response_url": fake_slack.response_url(),
        "trigger_id": "1.2.3"})
    acks = fake_slack.wait_for("socket_mode.ack", 1, timeout=30)
    assert acks[0].args["envelope_id"] == envelope_id
    reply = fake_slack.wait_for("response_url", 1, timeout=30)[0].args
    assert "/content" in text_of(reply)
    code, _out, err = _stop(process)
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("revalign: ")]
    assert next(line for line in lines if "Socket Mode cannot connect" in line).endswith("attempt 1, retrying in 1 s")
    assert "revalign: Socket Mode connected; health on " + url + "/healthz" in lines
    assert "Traceback" not in err
