"""/agenda and /revalign schedule through the real app, and the posted agenda on realistic data."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.meetings import delivery as dl
from bot.meetings import schedules as sch
from tests.conftest import text_of as _text_of


def text_of(payload: dict) -> str:
    """What a person reads, without mrkdwn bold markers."""
    return _text_of(payload).replace("*", "")

UTC = timezone.utc
CHANNEL = "C0SALESMKT"
AGENDA_DUE = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)   # 2 h before Tue 2026-12-01 10:00 New York
MEETING = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def test_agenda_items_add_list_remove(slack_app):
    added = slack_app.command("/agenda", "add Lead routing for EMEA takes 2 days <!channel> <@U0BOSS>",
                              user_id="U0REP0001")
    text = text_of(added)
    assert added["response_type"] == "ephemeral" and "#1" in text and "Lead routing for EMEA" in text
    raw = str(added["blocks"])
    assert "<!channel>" not in raw and "<@U0BOSS>" not in raw
    slack_app.command("/agenda", "add Webinar leads arrive without a company name", user_id="U0REP0002")
    assert "Say what to discuss" in text_of(slack_app.command("/agenda", "add   "))
    listing = text_of(slack_app.command("/agenda", ""))
    assert "#1 Lead routing for EMEA" in listing and "#2 Webinar leads" in listing
    assert "No meeting is scheduled yet" in listing
    refused = text_of(slack_app.command("/agenda", "remove 1", user_id="U0REP0002"))
    assert "Only the person who raised #1" in refused
    assert "Removed agenda item #2" in text_of(slack_app.command("/agenda", "remove #2", user_id="U0REP0002"))
    slack_app.set_role("U0ADMIN01", "admin")
    assert "Removed agenda item #1" in text_of(slack_app.command("/agenda", "remove 1", user_id="U0ADMIN01"))
    assert "no open agenda item #1" in text_of(slack_app.command("/agenda", "remove 1", user_id="U0ADMIN01"))
    assert "Give the item's number" in text_of(slack_app.command("/agenda", "remove first"))
    assert "I don't know `/agenda frobnicate`" in text_of(slack_app.command("/agenda", "frobnicate"))


def test_action_items_record_and_complete(slack_app):
    done = text_of(slack_app.command("/agenda", "action <@U0MKT0001|maria> 2026-12-03 Send the <b>pricing</b> one-pager"))
    assert "Action #1 for @U0MKT0001, due 2026-12-03" in done and "<b>pricing</b>" in done
    late = text_of(slack_app.command("/agenda", "action <@U0SALES01> 2026-11-20 Fix the SLA report"))
    assert "already passed" in late
    assert "not a date" in text_of(slack_app.command("/agenda", "action <@U0MKT0001> next-friday Do it"))
    assert "not a real date" in text_of(slack_app.command("/agenda", "action <@U0MKT0001> 2026-13-01 Do it"))
    assert "Give an owner" in text_of(slack_app.command("/agenda", "action <@U0MKT0001>"))
    assert "@-mention" in text_of(slack_app.command("/agenda", "action maria 2026-12-01 Do it"))
    listing = text_of(slack_app.command("/agenda"))
    assert listing.index("#2 Fix the SLA report") < listing.index("#1 Send the <b>pricing</b>")  # overdue first
    assert "overdue" in listing
    assert "Action #2 is done" in text_of(slack_app.command("/agenda", "done 2"))
    assert "already done" in text_of(slack_app.command("/agenda", "done 2"))
    assert "no action #9" in text_of(slack_app.command("/agenda", "done 9"))
    assert "Fix the SLA report" not in text_of(slack_app.command("/agenda"))


def test_schedule_is_admin_only_and_shown_to_everyone(slack_app):
    line = "weekly tue 10:00 America/New_York <#C0SALESMKT|sales-marketing> --agenda-lead 2h"
    assert "only admins" in text_of(slack_app.command("/revalign", f"schedule {line}", user_id="U0REP0001"))
    slack_app.set_role("U0ADMIN01", "admin")
    saved = text_of(slack_app.command("/revalign", f"schedule {line}", user_id="U0ADMIN01"))
    assert "Meeting schedule saved" in saved
    assert "every Tuesday at 10:00 America/New_York in #C0SALESMKT; agenda posted 2h before" in saved
    assert "Weekly KPI digest: every Monday at 08:00 UTC" in saved
    shown = text_of(slack_app.command("/revalign", "schedule", user_id="U0REP0001"))
    assert "every Tuesday at 10:00" in shown and "2026-12-01 10:00 EST" in shown
    bad = text_of(slack_app.command("/revalign", "schedule weekly tue 10:00 Mars/Base #x", user_id="U0ADMIN01"))
    assert "not a time zone" in bad
    off = text_of(slack_app.command("/revalign", "schedule disable digest", user_id="U0ADMIN01"))
    assert "digest schedule is now off" in off
    assert "schedule weekly tue" in text_of(slack_app.command("/revalign", "help"))
    assert "next meeting" in text_of(slack_app.command("/agenda")).lower()


def _seed_realistic(services):
    from bot import roles
    from bot.content.gaps import add_to_gap
    from bot.demo import DEMO_USERS
    from bot.kpis import demo as kpis_demo
    from bot.lead_defs import demo as lead_defs_demo
    from bot.meetings import agenda as ag

    now = services.now()
    with services.db.session() as session:
        for user_id, role in DEMO_USERS.items():
            roles.set_role(session, user_id, role, by="test", now=now)
    kpis_demo.seed(services)
    lead_defs_demo.seed(services)
    with services.db.session() as session:
        gap = add_to_gap(session, None, "Your SOC 2 report is from last year", now - timedelta(days=3))
        add_to_gap(session, gap, "soc2 report outdated?", now - timedelta(days=1))
        add_to_gap(session, None, "We already use HubSpot for this", now - timedelta(days=2))
        ag.add_item(session, "U0REP0001", "EMEA leads wait 2 days for routing", now)
        ag.add_item(session, "U0MKT0001", "Idea: co-host the Q1 webinar with sales <!here>", now)
        ag.add_action(session, "U0ADMIN01", "U0SALES01", datetime(2026, 11, 20).date(), "Fix the SLA report", now)
        ag.add_action(session, "U0ADMIN01", "U0MKT0001", datetime(2026, 12, 10).date(), "Draft battlecard v2", now)
        done = ag.add_action(session, "U0ADMIN01", "U0MKT0001", datetime(2026, 11, 30).date(), "Old task", now)
        ag.complete_action(session, "U0MKT0001", done.id, now)
    with services.db.session() as session:
        sch.set_meeting(session, sch.parse_schedule(
            f"weekly tue 10:00 America/New_York {CHANNEL} --agenda-lead 2h".split()), by="U0ADMIN01", now=now)


def test_posted_agenda_on_realistic_data_then_meeting_closes_items(services, fake_slack, clock):
    from bot.meetings import agenda as ag

    _seed_realistic(services)
    clock.now = AGENDA_DUE
    assert len(dl.run_due(services, clock.now).sent) == 1
    [post] = [c.args for c in fake_slack.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL]
    assert len(post["blocks"]) <= 50
    text = text_of(post)
    sections = ["1. KPI review against shared goals (2026-W48)", "2. Raised by the team",
                "3. Definitions proposed, changed or stale", "4. Top content gaps",
                "5. Open action items (overdue first)"]
    positions = [text.index(s) for s in sections]
    assert positions == sorted(positions)
    kpi_part = text[positions[0]:positions[1]]
    assert "MQLs" in kpi_part and "SQLs: 14" in kpi_part and "target" in kpi_part
    assert "EMEA leads wait 2 days" in text and "<!here>" not in str(post["blocks"])
    defs = text[positions[2]:positions[3]]
    assert "Proposed: SAL" in defs and "Stale: CPA" in defs
    gaps = text[positions[3]:positions[4]]
    assert gaps.index("SOC 2 report") < gaps.index("HubSpot") and "asked 2×" in gaps
    actions = text[positions[4]:]
    assert actions.index("Fix the SLA report") < actions.index("Draft battlecard v2")
    assert "overdue (due 2026-11-20)" in actions and "Old task" not in actions

    # Raised during the meeting: stays for next time.
    clock.now = MEETING + timedelta(minutes=30)
    with services.db.session() as session:
        ag.add_item(session, "U0REP0001", "Follow-up: routing rules owner", clock.now)
    assert dl.run_due(services, clock.now).closed_items == 0        # meeting still on
    clock.now = MEETING + timedelta(minutes=61)
    assert dl.run_due(services, clock.now).closed_items == 2
    assert dl.run_due(services, clock.now).closed_items == 0
    with services.db.session() as session:
        agenda = ag.build_agenda(session, services, clock.now, full=False)
    assert [i.text for i in agenda.items] == ["Follow-up: routing rules owner"]
    assert [a.text for a in agenda.actions] == ["Fix the SLA report", "Draft battlecard v2"]   # carried over
    assert agenda.meeting_at == datetime(2026, 12, 8, 15, 0, tzinfo=UTC)

    clock.now = AGENDA_DUE + timedelta(days=7)
    assert len(dl.run_due(services, clock.now).sent) == 1
    second = text_of([c.args for c in fake_slack.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL][-1])
    assert "Follow-up: routing rules owner" in second and "EMEA leads" not in second
    assert "Fix the SLA report" in second and "Draft battlecard v2" in second
