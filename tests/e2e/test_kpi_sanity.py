"""Numbers that must not break or mislead: a target of 0, impossible percentages, future weeks,
the digest's week boundaries, odd bodies on POST /api/kpis, and Slack's entity-encoded text.

Everything goes through the real app over signed HTTP (or the real CLI), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from bot.kpis import periods
from tests.conftest import API_TOKEN, START, text_of
from tests.e2e.test_home import open_home
from tests.helpers import kpi_values

SALES_HEAD = "U0SLSHEAD01"
MARKETING_HEAD = "U0MKTHEAD01"
CHANNEL = "C0SALESMKT"



def _kpi(slack_app, text: str, user: str = SALES_HEAD) -> str:
    return text_of(slack_app.command("/kpi", text, user_id=user))


def _line(text: str, name: str) -> str:
    """The one KPI line that starts with *name*."""
    (line,) = [row for row in text.splitlines() if row.startswith(f"• *{name}*")]
    return line


# --- a target of 0 ---------------------------------------------------------------------------------------
def test_a_zero_target_shows_everywhere_instead_of_crashing(slack_app, database_url, tmp_path):
    slack_app.set_role(SALES_HEAD, "sales_head")
    done = _kpi(slack_app, "target deals lost 0 from 2026-W40")
    assert "Shared target for Deals lost from 2026-W40 on: 0 (was none)" in done
    _kpi(slack_app, "target deals won 0 from 2026-W40")          # higher is better: any value meets it
    for line in ("set deals lost 3 last week", "set deals won 2 last week", "set deals lost 0", "set deals won 1"):
        assert "(new)" in _kpi(slack_app, line)

    this_week = _kpi(slack_app, "", user="U0REP0001")
    assert _line(this_week, "Deals lost") == "• *Deals lost*: 0  ·  ↓ 100.0% (better) vs 3  ·  target 0 ✅"
    assert _line(this_week, "Deals won") == "• *Deals won*: 1  ·  ↓ 50.0% vs 2  ·  target 0 ✅"
    last_week = _kpi(slack_app, "last week", user="U0REP0001")
    assert _line(last_week, "Deals lost") == "• *Deals lost*: 3  ·  target 0 ⚠️"
    assert "*Win rate*: 40.0%" in last_week
    assert "*Deals lost*: at most 0" in _kpi(slack_app, "targets", user="U0REP0001")

    # The digest preview (the heads' weekly digest, as the CLI prints it).
    from bot.cli import cli

    preview = CliRunner().invoke(cli, ["digest", "preview", "--period", "2026-W47", "--out",
                                       str(tmp_path / "digest.png")], env={"DATABASE_URL": database_url})
    assert preview.exit_code == 0, preview.output
    assert "*Deals lost*: 3  ·  target 0 ⚠️" in preview.stdout
    assert (tmp_path / "digest.png").read_bytes().startswith(b"\x89PNG")
    # …and as the scheduler sends it.
    from bot.kpis import digest

    digest.send_digest(slack_app.services, slack_app.services.slack, "C0DIGEST01", "2026-W47")
    (posted,) = slack_app.slack.calls_to("chat.postMessage")
    blocks = posted.args["blocks"] if isinstance(posted.args["blocks"], list) else json.loads(posted.args["blocks"])
    assert _line(text_of({"blocks": blocks}), "Deals lost") == "• *Deals lost*: 3  ·  target 0 ⚠️"

    home = open_home(slack_app, SALES_HEAD, "Ev0ZEROTGT")
    assert "could not be loaded" not in home
    assert "Deals lost: 0  ·  ↓ 100.0% (better) vs 3  ·  target 0 ✅" in home


# --- impossible figures ------------------------------------------------------------------------------------
def test_an_impossible_percentage_is_flagged_never_met_in_kpi_digest_and_agenda(slack_app):
    from bot.kpis import digest
    from bot.meetings import delivery, schedules

    slack_app.set_role(SALES_HEAD, "sales_head")
    _kpi(slack_app, "set MQLs 100")
    stored = _kpi(slack_app, "set MQLs followed up within SLA 113")
    assert "MQLs followed up within SLA for 2026-W48: 113 (new)" in stored
    problem = "check the inputs (MQLs followed up within SLA ÷ MQLs can't be over 100.0%)"
    flag = f"MQL follow-up SLA compliance 113.0%: {problem}"
    assert f"⚠️ {flag}" in stored

    shown = _kpi(slack_app, "", user="U0REP0001")
    sla = _line(shown, "MQL follow-up SLA compliance")
    assert sla == f"• *MQL follow-up SLA compliance*: 113.0%  ·  ⚠️ {problem}  ·  target 90.0%"
    reply = slack_app.command("/kpi", "", user_id="U0REP0001")
    assert f"⚠️ {flag}." in reply["text"]
    assert f"`2026-W48`  113.0%  (target 90.0%)  ⚠️ {problem}" in _kpi(slack_app, "sla compliance", user="U0REP0001")

    services, slack = slack_app.services, slack_app.slack
    digest.send_digest(services, services.slack, "C0DIGEST01", "2026-W48")
    (posted,) = slack.calls_to("chat.postMessage")
    blocks = posted.args["blocks"] if isinstance(posted.args["blocks"], list) else json.loads(posted.args["blocks"])
    assert _line(text_of({"blocks": blocks}), "MQL follow-up SLA compliance") == sla
    assert f"⚠️ {flag}." in posted.args["text"]

    # The alignment meeting's agenda reviews the week before the meeting: 2026-W48 for Tue 2026-12-01.
    with services.db.session() as session:
        schedules.set_meeting(session, schedules.parse_schedule(
            f"weekly tue 10:00 America/New_York {CHANNEL} --agenda-lead 2h".split()), by="U0ADMIN01",
            now=slack_app.clock())
    slack_app.clock.now = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert len(delivery.run_due(services, slack_app.clock.now).sent) == 1
    [agenda] = [c.args for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL]
    assert _line(text_of(agenda), "MQL follow-up SLA compliance") == sla


# --- future weeks --------------------------------------------------------------------------------------------
def _post(slack_app, body, *, query: str = "", content_type: str = "application/json", raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(slack_app.url + "/api/kpis" + query, data=data, method="POST",
                                     headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_future_weeks_are_refused_unless_allowed_in_slack_api_and_csv(slack_app, database_url, tmp_path):
    slack_app.set_role(MARKETING_HEAD, "marketing_head")
    refused = _kpi(slack_app, "set MQLs 150 week 2027-W10", user=MARKETING_HEAD)
    assert "2027-W10 is after this week (2026-W48)" in refused and "--allow-future" in refused
    allowed = _kpi(slack_app, "set MQLs 150 week 2027-W10 --allow-future", user=MARKETING_HEAD)
    assert "MQLs for 2027-W10: 150 (new) · a future week, recorded as asked" in allowed
    assert "MQLs for 2026-W48: 120 (new)" in _kpi(slack_app, "set MQLs 120 --allow-future", user=MARKETING_HEAD)
    assert kpi_values(slack_app) == {("mqls", "2027-W10"): 150.0, ("mqls", "2026-W48"): 120.0}

    ahead = {"period": "2026-W49", "metric": "SQLs", "value": 40}
    status, body = _post(slack_app, {"values": [ahead]})
    assert status == 422 and body["errors"][0]["field"] == "period"
    assert "after this week" in body["errors"][0]["message"]
    assert _post(slack_app, ahead)[0] == 422
    assert _post(slack_app, ahead, query="?allow_future=maybe")[0] == 422
    assert _post(slack_app, {"values": [ahead], "allow_future": "yes"})[0] == 422
    assert ("sqls", "2026-W49") not in kpi_values(slack_app)
    assert _post(slack_app, {"values": [ahead], "allow_future": True}) == (
        200, {"stored": 1, "updated": 0, "unchanged": 0})
    assert _post(slack_app, {**ahead, "value": 41}, query="?allow_future=true") == (
        200, {"stored": 0, "updated": 1, "unchanged": 0})

    # The CLI runs on the real clock: a week two ahead of today's is in the future.
    from bot.cli import cli

    later = str(periods.current_week(datetime.now(UTC)).shift(2))
    plan = tmp_path / "plan.csv"
    plan.write_text(f"period,metric,value\n2026-W40,MQLs,90\n{later},MQLs,200\n", encoding="utf-8")
    runner, env = CliRunner(), {"DATABASE_URL": database_url}
    result = runner.invoke(cli, ["kpi", "import", str(plan)], env=env)
    assert result.exit_code == 1 and "nothing was imported" in str(result.exception)
    assert f"{plan}:3: period: {later} is after this week" in result.stderr
    assert ("mqls", "2026-W40") not in kpi_values(slack_app)
    result = runner.invoke(cli, ["kpi", "import", str(plan), "--allow-future"], env=env)
    assert result.exit_code == 0, result.output
    assert kpi_values(slack_app)[("mqls", later)] == 200.0


# --- the digest's week ends at the week's end -----------------------------------------------------------------
def test_digest_counts_only_shares_made_during_its_week(services):
    from bot.kpis import digest
    from bot.models.content import ContentEvent, ContentItem
    from bot.render.digest import digest_blocks

    monday_w47 = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)
    with services.db.session() as session:
        roi, pricing, late = (ContentItem(url=f"https://content.example/{slug}", title=title, type="case_study",
                                          stage="decision", persona="cfo", summary="", objections=[])
                              for slug, title in (("roi", "ROI study"), ("pricing", "Pricing FAQ"),
                                                  ("late", "Launched after W47")))
        session.add_all([roi, pricing, late])
        session.flush()
        shares = [(roi, monday_w47 + timedelta(days=1)), (roi, monday_w47 + timedelta(days=6, hours=23)),
                  (pricing, monday_w47),
                  (pricing, monday_w47 - timedelta(seconds=1)),           # Sunday of W46
                  (pricing, monday_w47 + timedelta(days=7)),              # Monday 00:00 of W48
                  (late, monday_w47 + timedelta(days=8)), (late, monday_w47 + timedelta(days=8, hours=1)),
                  (late, monday_w47 + timedelta(days=8, hours=2))]
        for item, when in shares:
            session.add(ContentEvent(kind="share", user_id="U0REP", channel_id=CHANNEL, item_id=item.id,
                                     created_at=when))
    with services.db.session() as session:
        w47 = digest.build_digest(session, "2026-W47", START)
        w48 = digest.build_digest(session, "2026-W48", START)
    assert [(i.text, i.detail) for i in w47.shared_content] == [("ROI study", "2 shares"), ("Pricing FAQ", "1 share")]
    assert [(i.text, i.detail) for i in w48.shared_content] == [("Launched after W47", "3 shares"),
                                                                 ("Pricing FAQ", "1 share")]
    assert "1. ROI study (https://content.example/roi) — 2 shares" in text_of({"blocks": digest_blocks(w47)})
    # The content-shares KPI uses the same week: counted from /content when not recorded.
    assert w47.metric("content_shares").value == 3 and w48.metric("content_shares").value == 4


# --- POST /api/kpis: odd bodies --------------------------------------------------------------------------------
def test_api_refuses_deep_nesting_and_non_json_content_types_storing_nothing(slack_app):
    deep = b'{"values": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    status, body = _post(slack_app, None, raw=deep)
    assert status == 400 and "nested too deeply" in body["error"]
    status, body = _post(slack_app, None, raw=b"[" * 5_000 + b"]" * 5_000)
    assert status == 400
    good = {"values": [{"period": "2026-W47", "metric": "MQLs", "value": 120}]}
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "text/json"):
        status, body = _post(slack_app, good, content_type=content_type)
        assert status == 415 and "Content-Type: application/json" in body["error"]
    assert kpi_values(slack_app) == {}
    assert _post(slack_app, good, content_type="application/json; charset=utf-8")[0] == 200
    assert kpi_values(slack_app) == {("mqls", "2026-W47"): 120.0}


# --- text as Slack sends it --------------------------------------------------------------------------------------
def test_kpi_text_from_slack_is_decoded_once_and_escaped_once(slack_app):
    slack_app.set_role(SALES_HEAD, "sales_head")
    reply = slack_app.command("/kpi", ("set R&D <spend> 5"), user_id=SALES_HEAD)
    raw = json.dumps(reply)
    assert "'R&amp;D &lt;spend&gt;' is not a KPI" in raw
    assert "&amp;amp;" not in raw and "&amp;lt;" not in raw and "<spend>" not in raw
    assert "'R&D <spend>' is not a KPI" in text_of(reply)
    # A person who typed an entity sees that entity, not the character (one decode, not two).
    literal = slack_app.command("/kpi", ("set &lt;b&gt; 5"), user_id=SALES_HEAD)
    assert "'&lt;b&gt;' is not a KPI" in text_of(literal)
    unknown = slack_app.command("/kpi", ("frobnicate <x> & y"), user_id="U0REP0001")
    assert "I don't understand `frobnicate <x> & y`" in text_of(unknown)
    assert "&amp;amp;" not in json.dumps(unknown)
    # Slack's own markup (a typed @channel) is never sent back live, in blocks or the fallback text.
    hostile = slack_app.command("/kpi", "set <!channel> 5 &amp; more", user_id=SALES_HEAD)
    assert "<!channel>" not in json.dumps(hostile)
    assert "'<!channel>' is not a KPI" in text_of(hostile) and "&lt;!channel&gt;" in hostile["text"]
    stored = slack_app.command("/kpi", ("set Marketing spend $12.5k"), user_id=SALES_HEAD)
    assert stored["text"] == "Marketing spend for 2026-W48: $12,500 (new)"
    assert kpi_values(slack_app) == {("marketing_spend", "2026-W48"): 12_500.0}
