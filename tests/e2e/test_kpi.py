"""/kpi over signed HTTP, POST /api/kpis with a bearer token, and `revalign kpi import` — good and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

from sqlalchemy import func, select

from bot.models.kpis import KpiTarget
from tests.conftest import API_TOKEN, text_of
from tests.helpers import kpi_values

HEAD = "U0MKTHEAD01"
SALES_HEAD = "U0SLSHEAD01"
MARKETER = "U0MARKETER1"


def _kpi(slack_app, text: str, user: str = HEAD) -> str:
    return text_of(slack_app.command("/kpi", text, user_id=user))


# --- /kpi set ------------------------------------------------------------------------------
def test_set_confirms_value_and_previous_and_is_idempotent(slack_app):
    slack_app.set_role(HEAD, "marketing_head")
    first = _kpi(slack_app, "set MQLs 110 week 2026-W47")
    assert "MQLs for 2026-W47: 110 (new)" in first
    second = _kpi(slack_app, "set mqls 120 2026-W47")
    assert "MQLs for 2026-W47: 120 (was 110)" in second
    again = _kpi(slack_app, "set MQL 120 week 2026-w47")
    assert "MQLs for 2026-W47: 120 (unchanged)" in again
    assert kpi_values(slack_app) == {("mqls", "2026-W47"): 120.0}
    # No period: the current week from the frozen clock (Tue 2026-11-24 → 2026-W48); "last week" → W47.
    assert "MQLs for 2026-W48: 131 (new)" in _kpi(slack_app, "set MQLs 131")
    assert "MQLs for 2026-W47: 125 (was 120)" in _kpi(slack_app, "set MQLs 125 last week")
    # Multi-word names, currency and a derived ratio shown after the change.
    slack_app.set_role(SALES_HEAD, "sales_head")
    reply = _kpi(slack_app, "set sqls 50 last week", user=SALES_HEAD)
    assert "SQLs for 2026-W47: 50 (new)" in reply and "MQL→SQL conversion 40.0%" in reply
    assert "Pipeline created for 2026-W47: $412,500 (new)" in _kpi(
        slack_app, "set Pipeline created $412.5k week 2026-W47", user=SALES_HEAD)


def test_set_refuses_bad_input_and_wrong_roles_and_stores_nothing(slack_app):
    slack_app.set_role(HEAD, "marketing_head")
    slack_app.set_role(MARKETER, "marketer")
    assert "only" in _kpi(slack_app, "set MQLs 120", user="U0REP0001")
    # Marketers may record marketing-owned KPIs only.
    assert "MQLs for 2026-W48: 99 (new)" in _kpi(slack_app, "set MQLs 99", user=MARKETER)
    refused = _kpi(slack_app, "set SQLs 40", user=MARKETER)
    assert "only" in refused and "record SQLs" in refused
    ratio = _kpi(slack_app, "set MQL→SQL conversion 30%")
    assert "calculated" in ratio and "Record SQLs and MQLs instead" in ratio
    assert "Record Deals won and Deals lost" in _kpi(slack_app, "set win rate 30")
    assert "Did you mean *MQLs*" in _kpi(slack_app, "set MQLz 120")
    assert "Give the value too" in _kpi(slack_app, "set MQLs")
    assert "Usage" in _kpi(slack_app, "set MQLs lots")
    assert "can't be negative" in _kpi(slack_app, "set MQLs -5")
    assert "whole number" in _kpi(slack_app, "set MQLs 12.5")
    assert "has no week 60" in _kpi(slack_app, "set MQLs 120 week 2026-W60")
    assert "is not a period" in _kpi(slack_app, "set MQLs 120 yesterday-ish")
    hostile = slack_app.command("/kpi", "set <!channel> 5", user_id=HEAD)
    assert "<!channel>" not in json.dumps(hostile)
    assert kpi_values(slack_app) == {("mqls", "2026-W48"): 99.0}


# --- /kpi (show), targets ------------------------------------------------------------------
def test_kpi_shows_this_week_against_targets_with_change(slack_app):
    slack_app.set_role(SALES_HEAD, "sales_head")
    for line in ("set MQLs 100 last week", "set MQLs 120", "set SQLs 30 last week", "set SQLs 42",
                 "set deals won 9", "set deals lost 21", "set marketing spend $45,000", "set new customers 9"):
        _kpi(slack_app, line, user=SALES_HEAD)
    text = _kpi(slack_app, "", user="U0REP0001")   # anyone may look
    assert "SHARED KPIS · 2026-W48 (NOV 23–29)" in text   # the header, as text_of renders it
    assert "*MQLs*: 120  ·  ↑ 20.0% vs 100  ·  target 120 ▓▓▓▓▓▓▓▓▓▓ 100% ✅" in text
    assert "*SQLs*: 42  ·  ↑ 40.0% vs 30  ·  target 40" in text
    assert "*MQL→SQL conversion*: 35.0%  ·  ↑ 5.0 pts vs 30.0%  ·  target 33.0%" in text
    assert "*Win rate*: 30.0%" in text
    assert "*Cost per acquisition*: $5,000" in text and "target $6,000" in text
    assert "*Revenue closed*: — _not recorded_" in text
    last = _kpi(slack_app, "last week", user="U0REP0001")
    assert "2026-W47" in last and "*MQLs*: 100" in last
    history = _kpi(slack_app, "mqls", user="U0REP0001")
    assert "`2026-W48`  120  (target 120)" in history and "`2026-W47`  100" in history
    assert "I don't understand" in _kpi(slack_app, "frobnicate", user="U0REP0001")
    assert "MQL→SQL conversion" in _kpi(slack_app, "metrics", user="U0REP0001")


def test_targets_by_heads_only_and_from_a_week_on(slack_app):
    slack_app.set_role(HEAD, "marketing_head")
    _kpi(slack_app, "set MQLs 90 last week")
    text = _kpi(slack_app, "", user="U0REP0001")
    assert "Nothing is recorded for 2026-W48 yet" in text and "*MQLs*: 90" in text
    assert "only" in _kpi(slack_app, "target MQLs 150", user="U0REP0001")
    done = _kpi(slack_app, "target MQLs 150")
    assert "Shared target for MQLs from 2026-W48 on: 150 (was 120)" in done
    pct = _kpi(slack_app, "target MQL→SQL conversion 35% from 2026-W50")
    assert "from 2026-W50 on: 35.0% (was 33.0%)" in pct
    assert "between 0% and 100%" in _kpi(slack_app, "target win rate 140%")
    _kpi(slack_app, "set MQLs 120")
    assert "target 150 ▓▓▓▓▓▓▓▓░░ 80%" in _kpi(slack_app, "")
    listing = _kpi(slack_app, "targets")
    assert "*MQLs*: at least 150" in listing and "*Cost per acquisition*: at most $6,000" in listing
    with slack_app.services.db.session() as session:
        assert session.scalar(select(func.count(KpiTarget.id))) == 2


# --- POST /api/kpis -------------------------------------------------------------------------
def _post(slack_app, body, token: str | None = API_TOKEN, raw: bytes | None = None):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(slack_app.url + "/api/kpis", data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), exc.headers


def test_api_push_stores_updates_and_is_idempotent(slack_app):
    body = {"values": [{"period": "2026-W47", "metric": "MQLs", "value": 120},
                       {"period": "2026-W47", "metric": "sql", "value": 40},
                       {"period": "2026-W46", "metric": "Pipeline created", "value": 385000.0},
                       {"period": "last week", "metric": "deals won", "value": "9"}]}
    assert _post(slack_app, body)[:2] == (200, {"stored": 4, "updated": 0, "unchanged": 0})
    assert _post(slack_app, body)[:2] == (200, {"stored": 0, "updated": 0, "unchanged": 4})
    body["values"][0]["value"] = 125
    assert _post(slack_app, body)[:2] == (200, {"stored": 0, "updated": 1, "unchanged": 3})
    single = {"period": "2026-W47", "metric": "Deals lost", "value": 20}
    assert _post(slack_app, single)[:2] == (200, {"stored": 1, "updated": 0, "unchanged": 0})
    stored = kpi_values(slack_app)
    assert stored[("mqls", "2026-W47")] == 125 and stored[("deals_won", "2026-W47")] == 9
    assert len(stored) == 5
    # The values pushed show up in Slack.
    assert "*Win rate*: 31.0%" in _kpi(slack_app, "2026-W47", user="U0REP0001")


def test_api_rejects_wrong_token_and_invalid_bodies_storing_nothing(slack_app):
    good = {"period": "2026-W47", "metric": "MQLs", "value": 120}
    for token in ("wrong-token-0123456789abcdef", None, ""):
        status, body, headers = _post(slack_app, good, token=token)
        assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer")
        assert "error" in body
    status, body, _ = _post(slack_app, {"values": [
        good,
        {"period": "2026-W99", "metric": "MQLs", "value": 1},
        {"period": "2026-W47", "metric": "MQL→SQL conversion", "value": 0.3},
        {"period": "2026-W47", "metric": "Bananas", "value": 3},
        {"period": "2026-W47", "metric": "SQLs", "value": "lots"},
        {"period": "2026-W47", "metric": "SQLs", "value": True},
        {"metric": "SQLs", "value": -4},
        "not an object",
        {"period": "2026-W47", "metric": "mqls", "value": 121},
    ]})
    assert status == 422
    problems = {(e["index"], e["field"]) for e in body["errors"]}
    assert problems == {(1, "period"), (2, "metric"), (3, "metric"), (4, "value"), (5, "value"),
                        (6, "period"), (6, "value"), (7, "entry"), (8, "value")}
    messages = " ".join(e["message"] for e in body["errors"])
    assert "Record SQLs and MQLs instead" in messages and "has no week 99" in messages
    assert _post(slack_app, None, raw=b"{nope")[0] == 422
    assert _post(slack_app, [1, 2])[0] == 422
    assert _post(slack_app, {"values": []})[0] == 422
    assert _post(slack_app, {"values": {"a": 1}})[0] == 422
    assert kpi_values(slack_app) == {}, "a request with any problem stores nothing"


def test_api_disabled_without_token(database_url, fake_slack, clock, embedder):
    from bot.app import create_app
    from bot.server import HttpServer, create_http_app
    from bot.services import Services
    from tests.conftest import make_settings

    services = Services(make_settings(database_url, fake_slack.api_url, REVALIGN_API_TOKEN=""), clock=clock,
                        embedder=embedder)
    bolt_app, _ = create_app(services)
    server = HttpServer(create_http_app(services, bolt_app), port=0).start()
    try:
        request = urllib.request.Request(server.url + "/api/kpis", method="POST",
                                         data=b'{"period": "2026-W47", "metric": "MQLs", "value": 1}',
                                         headers={"Authorization": "Bearer anything-at-all-here",
                                                  "Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=10)
            raise AssertionError("expected 503")
        except urllib.error.HTTPError as exc:
            assert exc.code == 503 and "REVALIGN_API_TOKEN" in json.loads(exc.read())["error"]
    finally:
        server.stop()
        services.close()


# --- revalign kpi import / export / list -------------------------------------------------------
def _cli(*args, database_url, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REVALIGN_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": database_url, "HF_HUB_OFFLINE": "1"})
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env, check=False,
                          cwd=cwd, timeout=120)


def test_cli_import_validates_whole_file_then_reports(database_url, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("period,metric,value\n2026-W46,MQLs,110\n2026-W47,MQLs,abc\n2026-W47,Win rate,0.3\n"
                   "2026-W47,MQLs,120\n2026-W47,MQLs,121\n", encoding="utf-8")
    result = _cli("kpi", "import", str(bad), database_url=database_url, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert f"{bad}:3: value: 'abc' is not a number" in result.stderr
    assert f"{bad}:4: metric: Win rate is calculated" in result.stderr
    assert f"{bad}:6: value: MQLs for 2026-W47 is also given as 120 on line 5" in result.stderr
    assert "3 problem(s)" in result.stderr and "nothing was imported" in result.stderr
    assert "Traceback" not in result.stderr

    good = tmp_path / "kpis.csv"
    good.write_text("\ufeffPeriod,Metric,Value\n2026-W46,MQLs,110\n2026-W46,SQLs,33\n"
                    "2026-W47,mqls,\"1,200\"\n2026-W47,Pipeline created,$410000\n\n", encoding="utf-8")
    first = _cli("kpi", "import", str(good), database_url=database_url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Imported 4 value(s) for 3 KPI(s), 2026-W46 – 2026-W47: 4 new, 0 updated, 0 unchanged." in first.stdout
    assert "Importing KPIs" in first.stderr   # the progress bar
    # The rest in-process (same code; a fresh interpreter per command costs seconds).
    from typer.testing import CliRunner

    from bot.cli import cli

    runner, env = CliRunner(), {"DATABASE_URL": database_url}
    good.write_text("period,metric,value\n2026-W46,MQLs,115\n2026-W46,SQLs,33\n", encoding="utf-8")
    second = runner.invoke(cli, ["kpi", "import", str(good)], env=env)
    assert "0 new, 1 updated, 1 unchanged" in second.stdout and "updated MQLs 2026-W46: 110 → 115" in second.stdout
    exported = runner.invoke(cli, ["kpi", "export"], env=env)
    assert exported.stdout.splitlines() == ["period,metric,value", "2026-W46,MQLs,115", "2026-W46,SQLs,33",
                                            "2026-W47,MQLs,1200", "2026-W47,Pipeline created,410000"]
    listing = runner.invoke(cli, ["kpi", "list", "--period", "2026-W47"], env=env)
    assert "MQLs" in listing.stdout and "1,200" in listing.stdout and "$410,000" in listing.stdout
