"""CRM → KPIs → digest, and SLA alerts exactly once: `revalign crm sync` with the REAL HubSpot and
Salesforce clients against local fakes of their APIs (paging, 429 with Retry-After, 5xx, an
expired session, the 10,000-result search cap), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from typing import ClassVar

import pytest

from bot.crm import schedule
from bot.render import digest as render_digest
from bot.crm.alerts import post_breaches
from bot.crm.sync import run_sync
from bot.kpis import digest, values
from bot.models import Role
from tests.conftest import ALIGNMENT_CHANNEL, START, make_settings, text_of
from tests.fake_crm import (
    HUBSPOT_TOKEN,
    SF_CLIENT_ID,
    SF_CLIENT_SECRET,
    SF_PASSWORD,
    SF_REFRESH_TOKEN,
    SF_SECURITY_TOKEN,
    SF_USERNAME,
    FakeHubSpot,
    FakeSalesforce,
    ms,
    sf_time,
    with_stage_mapping,
)
from tests.fake_slack import FakeSlack

UTC = dt.UTC
W47 = "2026-W47"                  # Nov 16-22; START is Tue Nov 24 15:00 UTC
MARKETING_CHANNEL = "C0MKTALERT"
REP_EMAIL = "rep.one@acme.example"
REP_SLACK_ID = "U0REPONE1"
HOSTILE_NAME = "<!channel> Ann & <b>Co</b>"


class DirectorySlack(FakeSlack):
    """Fake Slack plus users.lookupByEmail (scope users:read.email) from a small directory."""

    directory: ClassVar[dict[str, str]] = {REP_EMAIL: REP_SLACK_ID}

    def intercept(self, call):
        if call.method == "users.lookupByEmail":
            user = self.directory.get(call.args.get("email", ""))
            body = ({"ok": True, "user": {"id": user, "profile": {"email": call.args["email"]}}} if user
                    else {"ok": False, "error": "users_not_found"})
            return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
        return super().intercept(call)


@pytest.fixture
def slack():
    with DirectorySlack() as fake:
        yield fake


@pytest.fixture
def hubspot():
    with FakeHubSpot() as fake:
        _fill_hubspot(fake)
        yield fake


@pytest.fixture
def salesforce(monkeypatch):
    with FakeSalesforce(batch_size=4) as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_file)   # the fake's self-signed certificate
        _fill_salesforce(fake)
        yield fake


def _services(database_url, slack, clock, **crm):
    from bot.services import Services

    settings = make_settings(database_url, slack.api_url, REVALIGN_MARKETING_ALERTS_CHANNEL=MARKETING_CHANNEL,
                             REVALIGN_SALES_CHANNEL="C0SALESALR", **crm)
    services = Services(settings, clock=clock)
    _map_stages(services)
    with services.db.session() as session:
        from bot import roles

        roles.set_role(session, "U0SALESHD", Role.sales_head, by="test", now=START)
        roles.set_role(session, "U0MKTHEAD", Role.marketing_head, by="test", now=START)
    return services


def _map_stages(services) -> None:
    """Name the CRM counterparts of MQL and SQL the way an admin would: export, edit, import.

    Imports into a seeded workspace become proposals for both heads; the test applies the
    mapping with the admin override (recorded as such) to get straight to the sync.
    """
    from bot import roles
    from bot.lead_defs import service

    with services.db.session() as session:
        service.seed_defaults(session, START)
        roles.set_role(session, "U0ADMIN01", Role.admin, by="test", now=START)
        edited = with_stage_mapping(service.export_text(session), {
            "MQL": {"hubspot": ["marketingqualifiedlead"], "salesforce": ["Working - Contacted"]},
            "SQL": {"hubspot": ["lifecyclestage:salesqualifiedlead"], "salesforce": ["Qualified"]},
        })
        imported = service.import_text(session, edited, by="test", now=START, override_admin="U0ADMIN01")
        assert not imported.problems and imported.updated == ["MQL", "SQL"], imported
        assert service.get(session, "MQL").crm == {"hubspot": ["marketingqualifiedlead"],
                                                   "salesforce": ["Working - Contacted"]}
        assert "crm:" in service.export_text(session)   # and it round-trips through the YAML file


# --- the CRM data: one realistic week (2026-W47) --------------------------------------------------
def _at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=UTC)


def _fill_hubspot(fake: FakeHubSpot, shift: dt.timedelta = dt.timedelta(0)) -> None:
    """`shift` moves the whole week (whole weeks only) for runs on the real clock."""

    def at(day: int, hour: int) -> dt.datetime:
        return _at(day, hour) + shift

    fake.add_owner("101", REP_EMAIL, "Rep", "One")
    fake.add_owner("102", "nobody.in.slack@acme.example", "Ex", "Employee")
    for i in range(10):   # ten MQLs on Tue Nov 17, seven followed up within a business day, four became SQLs
        entered = at(17, 8 + i)
        props = {"firstname": "Lead", "lastname": str(i), "email": f"lead{i}@prospect.example",
                 "lifecyclestage": "salesqualifiedlead" if i < 4 else "marketingqualifiedlead",
                 "hs_lifecyclestage_lead_date": ms(entered - dt.timedelta(days=3)),
                 "hs_lifecyclestage_marketingqualifiedlead_date": ms(entered),
                 "hubspot_owner_id": "101" if i != 8 else "102"}
        if i < 4:
            props["hs_lifecyclestage_salesqualifiedlead_date"] = ms(at(19, 12))
        if i < 7:
            props["notes_last_contacted"] = ms(entered + dt.timedelta(hours=3))
        if i == 9:
            props["firstname"], props["lastname"] = HOSTILE_NAME, ""
        fake.add("contacts", str(1000 + i), props, entered - dt.timedelta(days=3), entered + dt.timedelta(hours=5))
    today = at(24, 9)   # an MQL this morning: not due until tomorrow
    fake.add("contacts", "1100", {"firstname": "Fresh", "lastname": "Lead", "lifecyclestage": "marketingqualifiedlead",
                                  "hs_lifecyclestage_marketingqualifiedlead_date": ms(today),
                                  "hubspot_owner_id": "101"}, today, today)
    deals = [("2001", "New logo A", 10000, at(17, 10), None, None), ("2002", "New logo B", 20000, at(18, 10), None, None),
             ("2003", "Expansion C", 5000, at(20, 10), None, None),
             ("2004", "Won D", 12000, at(27 - 31 + 31, 9) - dt.timedelta(days=28), at(20, 17), True),
             ("2005", "Won E", 8000, at(2, 9), at(19, 17), True),
             ("2006", "Lost F", 30000, at(1, 9), at(21, 17), False)]
    for deal_id, name, amount, created, closed, won in deals:
        props = {"dealname": name, "amount": str(amount), "pipeline": "default", "hubspot_owner_id": "101",
                 "dealstage": "closedwon" if won else ("closedlost" if closed else "qualifiedtobuy"),
                 "closedate": ms(closed) if closed else None,
                 "hs_is_closed_won": "true" if won else "false", "hs_is_closed": "true" if closed else "false"}
        fake.add("deals", deal_id, props, created, closed or created + dt.timedelta(hours=1))


def _fill_salesforce(fake: FakeSalesforce) -> None:
    owner = {"attributes": {"type": "User"}, "Email": REP_EMAIL}
    for i in range(6):   # six leads worked on Wed Nov 18; four with an activity the same day, two became Qualified
        created = _at(18, 9 + i)
        status = "Qualified" if i < 2 else "Working - Contacted"
        fake.add("Lead", {"Id": f"00Q00000000000{i:02d}AA", "FirstName": "Sf", "LastName": f"Lead {i}",
                          "Email": f"sf{i}@prospect.example", "Status": status, "OwnerId": "005000000000001AAA",
                          "Owner": owner, "CreatedDate": sf_time(created), "LastModifiedDate": sf_time(created),
                          "IsConverted": False, "ConvertedDate": None,
                          "LastActivityDate": "2026-11-18" if i < 4 else None})
    for i, (amount, created, close, won, closed) in enumerate([(40000, _at(16, 10), "2026-12-20", False, False),
                                                               (15000, _at(1, 10), "2026-11-20", True, True)]):
        fake.add("Opportunity", {"Id": f"006000000000000{i}AA", "Name": f"Opp {i}", "StageName":
                                 "Closed Won" if won else "Prospecting", "Amount": amount,
                                 "OwnerId": "005000000000001AAA", "Owner": owner, "CreatedDate": sf_time(created),
                                 "CloseDate": close, "IsClosed": closed, "IsWon": won,
                                 "LastModifiedDate": sf_time(created + dt.timedelta(hours=2))})


def _w47(services) -> dict[str, float | None]:
    with services.db.session() as session:
        found = values.metric_values(session, [W47])
    return {key: value for (key, period), value in found.items() if period == W47}


# --- HubSpot -----------------------------------------------------------------------------------------
def test_hubspot_sync_fills_the_week_and_the_digest_shows_the_source(database_url, slack, clock, hubspot):
    services = _services(database_url, slack, clock, REVALIGN_CRM="hubspot", HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN,
                         HUBSPOT_API_URL=hubspot.url, HUBSPOT_PORTAL_ID="4455")
    hubspot.fail("/crm/v3/objects/contacts/search", 429, retry_after=1)   # the client waits and retries
    hubspot.fail("/crm/v3/objects/deals/search", 502, times=2)
    with services.db.session() as session:   # a value typed in Slack before the sync: kept, but overridden
        values.set_value(session, values.catalog.BY_KEY["mqls"], 130, W47, by="U0MKTHEAD", source="slack", now=START)
    report = run_sync(services)
    assert report.pulled == {"contacts": 11, "deals": 6} and not report.stopped
    week = _w47(services)
    assert week["mqls"] == 10 and week["sqls"] == 4 and week["mqls_followed_up"] == 7
    assert week["mql_sla"] == pytest.approx(0.7) and week["mql_to_sql"] == pytest.approx(0.4)
    assert week["pipeline_created"] == 35000 and week["revenue_closed"] == 20000
    assert week["deals_won"] == 2 and week["deals_lost"] == 1
    assert report.kpis.overridden and "130" in report.kpis.overridden[0]
    with services.db.session() as session:
        row = next(r for r in values.all_values(session) if r.metric == "mqls" and r.period == W47)
        assert (row.source, row.overridden_value, row.overridden_source) == ("hubspot", 130, "slack")
        built = digest.build_digest(session, W47, START)
    mqls = built.metric("mqls")
    assert mqls.value == 10 and mqls.source.startswith("from HubSpot, synced Tue 15:00")
    assert "overrides 130 typed via slack" in mqls.source
    shown = text_of({"blocks": render_digest.digest_blocks(built)})
    assert "from HubSpot, synced Tue 15:00" in shown
    # A second sync resumes from the cursor: only records changed since come again, nothing doubles.
    searches = len(hubspot.searches)
    again = run_sync(services)
    assert again.pulled["contacts"] <= 1 and _w47(services)["mqls"] == 10
    assert any(f.get("filters") for r in hubspot.searches[searches:] for f in r.get("filterGroups") or [])
    services.close()


def test_sla_breaches_are_posted_once_each_to_the_owner_or_the_team(database_url, slack, clock, hubspot):
    services = _services(database_url, slack, clock, REVALIGN_CRM="hubspot", HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN,
                         HUBSPOT_API_URL=hubspot.url, HUBSPOT_PORTAL_ID="4455")
    run_sync(services)
    first = post_breaches(services, "hubspot")
    # MQLs 7, 8 and 9 had no follow-up within a business day; this morning's MQL is not due yet.
    assert len(first.sent) == 3 and not first.failed and first.summaries == 2
    posts = [c.args for c in slack.calls_to("chat.postMessage")]
    alerts = [p for p in posts if "SLA missed" in p["text"]]
    by_channel = {p["channel"]: p for p in alerts}
    assert set(by_channel) == {REP_SLACK_ID, MARKETING_CHANNEL}   # owner 102 is not in Slack: the team channel
    assert sum(1 for p in alerts if p["channel"] == REP_SLACK_ID) == 2
    hostile = next(p for p in alerts if "Ann" in p["text"])
    raw = hostile["text"] + json.dumps(hostile["blocks"])
    assert "<!channel>" not in raw and "&lt;!channel&gt; Ann &amp; &lt;b&gt;Co&lt;/b&gt;" in raw
    assert "https://app.hubspot.com/contacts/4455/record/0-1/1009" in raw
    summaries = [p for p in posts if "SLA summary" in p["text"]]
    assert {p["channel"] for p in summaries} == {"D0SALESHD", "D0MKTHEAD"}
    assert "MQL 70% (7/10)" in text_of(summaries[0])
    # Again (the scheduler and a person at the CLI, or a second process): nothing is posted twice.
    slack_calls = len(slack.calls_to("chat.postMessage"))
    second = post_breaches(services, "hubspot")
    assert second.sent == [] and second.already == 3 and second.summaries == 0
    assert len(slack.calls_to("chat.postMessage")) == slack_calls
    services.close()


def test_a_failed_alert_is_retried_later_and_still_sent_once(database_url, slack, clock, hubspot):
    services = _services(database_url, slack, clock, REVALIGN_CRM="hubspot", HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN,
                         HUBSPOT_API_URL=hubspot.url)
    run_sync(services)
    slack.fail("chat.postMessage", slack_error="channel_not_found", times=1)
    first = post_breaches(services, "hubspot", summary=False)
    assert len(first.failed) == 1 and len(first.sent) == 2
    second = post_breaches(services, "hubspot", summary=False)
    assert len(second.sent) == 1 and second.already == 2
    assert len([c for c in slack.calls_to("chat.postMessage") if "SLA missed" in c.args["text"]]) == 3
    services.close()


def test_hubspot_wrong_token_is_one_clear_error(database_url, slack, clock, hubspot):
    from bot.crm.records import CrmError

    services = _services(database_url, slack, clock, REVALIGN_CRM="hubspot", HUBSPOT_ACCESS_TOKEN="pat-na1-wrong",
                         HUBSPOT_API_URL=hubspot.url)
    with pytest.raises(CrmError, match="rejected the access token"):
        run_sync(services)
    services.close()


def test_hubspot_search_past_ten_thousand_restarts_from_the_cursor(database_url, slack, clock, monkeypatch):
    from sqlalchemy import func, select

    from bot.crm import hubspot as hubspot_module
    from bot.models.crm import CrmRecord

    monkeypatch.setattr(hubspot_module, "SEARCH_WINDOW", 400)   # the real cap is 10,000; the fake enforces it too
    monkeypatch.setattr("tests.fake_crm.HS_SEARCH_CAP", 400)
    with FakeHubSpot() as fake:
        base = _at(10, 0)
        for i in range(1100):
            moment = base + dt.timedelta(minutes=i)
            fake.add("contacts", str(i + 1), {"lifecyclestage": "lead"}, moment, moment)
        services = _services(database_url, slack, clock, REVALIGN_CRM="hubspot",
                             HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN, HUBSPOT_API_URL=fake.url)

        def stored() -> int:
            with services.db.session() as session:
                return session.scalar(select(func.count()).select_from(CrmRecord))

        report = run_sync(services)
        assert stored() == 1100 and report.pulled["contacts"] >= 1100
        restarts = [r for r in fake.searches if r.get("filterGroups") and not r.get("after")]
        assert len(restarts) >= 2
        # More records in one millisecond than one search can page through: the sync steps over
        # that millisecond instead of searching the same window forever.
        same = _at(23, 12)
        for i in range(500):
            fake.add("contacts", str(5000 + i), {"lifecyclestage": "lead"}, same, same)
        again = run_sync(services)
        assert again.pulled["contacts"] >= 400 and stored() >= 1500
        services.close()


# --- Salesforce --------------------------------------------------------------------------------------
def test_salesforce_sync_with_expired_session_5xx_and_paging(database_url, slack, clock, salesforce):
    services = _services(database_url, slack, clock, REVALIGN_CRM="salesforce", SALESFORCE_USERNAME=SF_USERNAME,
                         SALESFORCE_PASSWORD=SF_PASSWORD, SALESFORCE_SECURITY_TOKEN=SF_SECURITY_TOKEN,
                         SALESFORCE_LOGIN_URL=salesforce.url)
    from bot.crm.sync import make_connector

    connector = make_connector(services.settings)
    connector.retry_pause = 0.01
    connector.login()
    salesforce.expire_sessions()                       # the session from the login expired meanwhile
    salesforce.fail("/query/01g", 503)                    # and a nextRecordsUrl page fails once
    report = run_sync(services, connector=connector)
    assert report.pulled == {"leads": 6, "opportunities": 2} and connector.logins == 2
    assert any(path.startswith("/services/data/v59.0/query/01g") for _, path in salesforce.requests)
    week = _w47(services)
    # Without field history a lead counts in the status it has now: four are MQLs, two went on to SQL.
    assert week["mqls"] == 4 and week["sqls"] == 2
    assert week["pipeline_created"] == 40000 and week["revenue_closed"] == 15000 and week["deals_won"] == 1
    with services.db.session() as session:
        assert digest.build_digest(session, W47, START).metric("sqls").source.startswith("from Salesforce")
    services.close()


def test_salesforce_request_limit_stops_and_the_next_sync_resumes(database_url, slack, clock, salesforce):
    services = _services(database_url, slack, clock, REVALIGN_CRM="salesforce", SALESFORCE_CLIENT_ID=SF_CLIENT_ID,
                         SALESFORCE_CLIENT_SECRET=SF_CLIENT_SECRET, SALESFORCE_REFRESH_TOKEN=SF_REFRESH_TOKEN,
                         SALESFORCE_LOGIN_URL=salesforce.url)
    salesforce.fail("/query/01g", 403)                    # REQUEST_LIMIT_EXCEEDED on the second page of leads
    stopped = run_sync(services)
    assert "REQUEST_LIMIT_EXCEEDED" in stopped.stopped and stopped.pulled["leads"] == 4
    resumed = run_sync(services)
    assert not resumed.stopped and resumed.pulled["opportunities"] == 2
    assert resumed.pulled["leads"] <= 3               # from the cursor, not from the start
    assert _w47(services)["mqls"] == 4
    services.close()


# --- the scheduler and the CLI -------------------------------------------------------------------------
def test_daily_sync_runs_once_a_day_from_the_scheduler_tick(database_url, slack, clock, hubspot):
    services = _services(database_url, slack, clock, REVALIGN_CRM="hubspot", HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN,
                         HUBSPOT_API_URL=hubspot.url, REVALIGN_CRM_SYNC_HOUR="6")
    from bot.meetings.delivery import new_holder_id, tick

    holder = new_holder_id()
    tick(services, holder, now=START.replace(hour=5))       # before 06:00: nothing
    assert schedule.claim_daily(services, START.replace(hour=5)) is None
    thread_before = {t.name for t in __import__("threading").enumerate()}
    assert "crm-sync" not in thread_before
    tick(services, holder, now=START)
    for thread in __import__("threading").enumerate():
        if thread.name == "crm-sync":
            thread.join(60)
    assert _w47(services)["mqls"] == 10
    posted = len([c for c in slack.calls_to("chat.postMessage") if "SLA missed" in c.args["text"]])
    assert posted == 3
    tick(services, holder, now=START + dt.timedelta(hours=1))  # same day: claimed already
    assert schedule.on_tick(services, START + dt.timedelta(hours=2)) is None
    services.close()


def test_cli_check_sync_and_digest_preview(database_url, slack, clock, tmp_path):
    from bot.kpis import periods

    # The CLI runs on the real clock: move the scenario to the same weekday of the current week.
    this_week = periods.current_week(dt.datetime.now(UTC))
    shift = dt.timedelta(weeks=(this_week.monday - periods.current_week(START).monday).days // 7)
    last_week = periods.previous_period(str(this_week))
    services = _services(database_url, slack, clock)
    services.close()
    with FakeHubSpot() as hubspot:
        _fill_hubspot(hubspot, shift)
        env = {**os.environ, "DATABASE_URL": database_url, "REVALIGN_CRM": "hubspot",
               "HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN, "HUBSPOT_API_URL": hubspot.url,
               "SLACK_BOT_TOKEN": "xoxb-test-1", "SLACK_API_URL": slack.api_url,
               "REVALIGN_ALIGNMENT_CHANNEL": ALIGNMENT_CHANNEL}

        def run(*args, **extra):
            return subprocess.run([sys.executable, "-m", "bot.cli", *args], env={**env, **extra}, cwd=tmp_path,
                                  capture_output=True, text=True, timeout=120, check=False)

        check = run("crm", "check")
        assert check.returncode == 0, check.stderr
        assert "contacts: 11" in check.stdout and "deals: 6" in check.stdout and "stage MQL" in check.stdout
        assert HUBSPOT_TOKEN not in check.stdout + check.stderr
        dry = run("crm", "sync", "--dry-run", "--since", "60d")
        assert dry.returncode == 0, dry.stderr
        assert "Dry run" in dry.stdout and "Pulling contacts" in dry.stderr
        real = run("crm", "sync")
        assert real.returncode == 0, real.stderr
        assert "pulled 11 contacts, 6 deals" in real.stdout and "SLA alerts:" in real.stdout
        assert f"{last_week}: MQL 10, SQL 4" in real.stdout and "MQL→SQL 40%" in real.stdout
        preview = run("digest", "preview", "--period", last_week, "--out", str(tmp_path / "digest.png"))
        assert preview.returncode == 0, preview.stderr
        assert "MQLs" in preview.stdout and "from HubSpot, synced" in preview.stdout
        bad = run("crm", "check", HUBSPOT_ACCESS_TOKEN="pat-na1-wrong")
        assert bad.returncode == 1 and "rejected the access token" in bad.stderr and "Traceback" not in bad.stderr


def test_kpi_in_slack_shows_the_source_and_the_sync_wins_over_a_typed_value(slack_app, hubspot):
    from bot.crm.hubspot import HubSpotConnector

    services = slack_app.services
    _map_stages(services)
    run_sync(services, connector=HubSpotConnector(HUBSPOT_TOKEN, base_url=hubspot.url))
    slack_app.set_role("U0MKTHEAD", Role.marketing_head)
    reply = slack_app.command("/kpi", "set MQLs 130 week 2026-W47", user_id="U0MKTHEAD")
    assert "comes from the CRM sync (10), which wins" in text_of(reply)
    shown = text_of(slack_app.command("/kpi", "2026-W47", user_id="U0MKTHEAD"))
    assert "MQLs*: 10" in shown or "MQLs: 10" in shown
    assert "from HubSpot, synced Tue 15:00; overrides 130 typed via slack" in shown
    # The next sync keeps the CRM's number and the typed one beside it.
    run_sync(services, connector=HubSpotConnector(HUBSPOT_TOKEN, base_url=hubspot.url), since=START - dt.timedelta(days=30))
    assert _w47(services)["mqls"] == 10
