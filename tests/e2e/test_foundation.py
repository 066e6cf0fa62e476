"""The app over HTTP with Slack-signed requests: help, signatures, health, roles, manifest."""

import json
import time
import urllib.request
from pathlib import Path

import yaml

from tests.conftest import text_of
from tests.slack_requests import sign

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_command(slack_app):
    reply = slack_app.command("/revalign", "help")
    text = text_of(reply)
    assert reply["response_type"] == "ephemeral"
    manifest = yaml.safe_load((ROOT / "app.yaml").read_text())
    for entry in manifest["features"]["slash_commands"]:
        assert entry["command"] in text


def test_unknown_subcommand_gets_help_not_an_error(slack_app):
    reply = slack_app.command("/revalign", "<!channel> frobnicate")
    text = text_of(reply)
    assert "I don't know" in text and "/lead-def" in text
    assert "<!channel>" not in reply["blocks"][0]["text"]["text"]


def _form(slack_app, text="help"):
    from urllib.parse import urlencode

    from bot.slack_payloads import slash_command_form

    return urlencode(slash_command_form("/revalign", text, user_id="U0REP0001",
                                        response_url=slack_app.slack.response_url()))


def test_bad_signature_is_rejected_and_changes_nothing(slack_app):
    body = _form(slack_app, "roles set <@U0EVIL01> admin")
    now = int(time.time())
    result = slack_app.send.post(body, "application/x-www-form-urlencoded", signature=sign(body, now, "wrong-secret"),
                                 timestamp=now)
    assert result.status == 401
    missing = slack_app.send.post(body, "application/x-www-form-urlencoded", signature="", timestamp=now)
    assert missing.status == 401
    stale_ts = now - 6 * 60
    stale = slack_app.send.post(body, "application/x-www-form-urlencoded", signature=sign(body, stale_ts),
                                timestamp=stale_ts)
    assert stale.status == 401
    time.sleep(0.3)
    assert slack_app.slack.calls_to("response_url") == []
    from bot import roles

    with slack_app.services.db.session() as session:
        assert roles.role_of(session, "U0EVIL01").value == "rep"


def test_healthz_reports_ready(slack_app):
    with urllib.request.urlopen(slack_app.url + "/healthz", timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"database": "ok", "model": "loaded"}


def test_roles_set_by_admin_and_refused_for_rep(slack_app):
    slack_app.set_role("U0ADMIN01", "admin")
    refused = text_of(slack_app.command("/revalign", "roles set <@U0MKT0001|maria> marketer", user_id="U0REP0001"))
    assert "only admins" in refused
    done = text_of(slack_app.command("/revalign", "roles set <@U0MKT0001|maria> marketer", user_id="U0ADMIN01"))
    assert "marketer" in done and "was rep" in done
    listing = text_of(slack_app.command("/revalign", "roles"))
    assert "@U0MKT0001 — marketer" in listing
    bad = text_of(slack_app.command("/revalign", "roles set <@U0MKT0001> overlord", user_id="U0ADMIN01"))
    assert "not a role" in bad


def test_manifest_and_handlers_agree(slack_app):
    manifest = yaml.safe_load((ROOT / "app.yaml").read_text())
    features = manifest["features"]
    commands = {c["command"] for c in features["slash_commands"]}
    shortcuts = {s["callback_id"] for s in features.get("shortcuts", [])}
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    registrar = slack_app.registrar
    assert commands == registrar.commands
    assert shortcuts == registrar.shortcuts
    assert events == registrar.events
    assert set(registrar.help) == registrar.commands, "every command needs help entries"
