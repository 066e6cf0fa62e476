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


# --- Slack's encoding, action permissions, reminders, cadences (governance) ----------------------------

def dms_to(fake_slack, user: str, *, wait_for: int = 0) -> list[dict]:
    """Messages Slack accepted for `user`'s DM (calls it failed on purpose left out)."""
    import time

    deadline = time.monotonic() + 10
    while True:
        found = [c.args for c in fake_slack.calls_to("chat.postMessage")
                 if c.args.get("channel") == user and not any(c is f for f in fake_slack.failed_calls)]
        if len(found) >= wait_for or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_agenda_text_is_decoded_once_and_escaped_once(slack_app):
    import json

    from bot.meetings import agenda as ag

    added = slack_app.command("/agenda", "add " + ("R&D budget <b>for</b> 2027 & <!here>"))
    assert "R&D budget <b>for</b> 2027 & <!here>" in text_of(added)
    raw = json.dumps(added)
    assert "R&amp;D budget &lt;b&gt;for&lt;/b&gt; 2027 &amp; &lt;!here&gt;" in raw and "&amp;amp;" not in raw
    with slack_app.services.db.session() as session:
        assert [i.text for i in ag.open_items(session)] == ["R&D budget <b>for</b> 2027 & <!here>"]
    listing = slack_app.command("/agenda")
    assert "#1 R&D budget <b>for</b> 2027 & <!here>" in text_of(listing) and "&amp;amp;" not in json.dumps(listing)
    action = slack_app.command("/agenda", "action <@U0MKT0001> 2026-12-03 " + ("Q&A deck <v2>"))
    assert "Q&A deck <v2>" in text_of(action) and "&amp;amp;" not in json.dumps(action)
    [dm] = dms_to(slack_app.slack, "U0MKT0001", wait_for=1)
    refused = slack_app.command("/agenda", "action <@U0MKT0001> " + ("<!here> do it"))
    assert "'<!here>' is not a date" in text_of(refused) and "<!here>" not in json.dumps(refused)
    slack_app.set_role("U0ADMIN01", "admin")
    bad = slack_app.command("/revalign", "schedule monthly " + ("<!channel> 10:00 UTC #x"),
                            user_id="U0ADMIN01")
    assert "'<!channel>' is not a day of the month" in text_of(bad) and "<!channel>" not in json.dumps(bad)
    assert "Q&amp;A deck &lt;v2&gt;" in dm["text"] and "<v2>" not in json.dumps(dm)


def test_only_owner_author_heads_and_admins_close_or_reassign(slack_app):
    owner, author, other, head, admin = "U0MKT0001", "U0REP0001", "U0REP0002", "U0SLSH0001", "U0ADMIN01"
    slack_app.set_role(head, "sales_head")
    slack_app.set_role(admin, "admin")
    recorded = text_of(slack_app.command("/agenda", f"action <@{owner}> 2026-12-03 Send the deck", user_id=author))
    assert "Action #1 for @U0MKT0001" in recorded
    [assigned] = dms_to(slack_app.slack, owner, wait_for=1)
    assert "gave you action #1" in _text_of(assigned).replace("*", "") and "due 2026-12-03" in _text_of(assigned)
    # Duplicates (same owner, same text, still open) point to the existing one.
    dup = text_of(slack_app.command("/agenda", f"action <@{owner}> 2026-12-09 send  the DECK", user_id=other))
    assert "already has this as action #1 (due 2026-12-03)" in dup and "Nothing was added" in dup
    for verb in ("done 1", f"reassign 1 <@{other}>"):
        refused = text_of(slack_app.command("/agenda", verb, user_id=other))
        assert "Only the owner of #1 (@U0MKT0001), the person who recorded it (@U0REP0001)" in refused, refused
    assert "#1 Send the deck" in text_of(slack_app.command("/agenda"))
    moved = text_of(slack_app.command("/agenda", f"reassign 1 <@{other}>", user_id=head))
    assert "Action #1 now belongs to @U0REP0002" in moved
    assert len(dms_to(slack_app.slack, other, wait_for=1)) == 1, "the new owner is told"
    assert "already belongs" in text_of(slack_app.command("/agenda", f"reassign 1 <@{other}>", user_id=admin))
    # The old owner may no longer close it; the new owner, the author, a head or an admin may.
    assert "Only the owner" in text_of(slack_app.command("/agenda", "done 1", user_id=owner))
    assert "Action #1 is done" in text_of(slack_app.command("/agenda", "done 1", user_id=author))
    # Once done, the same text may be given again.
    again = text_of(slack_app.command("/agenda", f"action <@{other}> 2026-12-10 Send the deck", user_id=admin))
    assert "Action #2" in again
    assert "Action #2 is done" in text_of(slack_app.command("/agenda", "done 2", user_id=other))
    slack_app.command("/agenda", f"action <@{owner}> 2026-12-10 Draft the battlecard", user_id=author)
    assert "Action #3 is done" in text_of(slack_app.command("/agenda", "done 3", user_id=admin))
    # Nobody is DMed about an action they gave themselves.
    before = len(dms_to(slack_app.slack, head))
    slack_app.command("/agenda", f"action <@{head}> 2026-12-10 Review pipeline", user_id=head)
    assert len(dms_to(slack_app.slack, head)) == before


def test_reminders_before_due_and_when_overdue_exactly_once(services, fake_slack, clock):
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select

    from bot.meetings import agenda as ag
    from bot.models.reminders import ActionReminder
    from tests.e2e.test_scheduler import other_process

    owner = "U0MKT0001"
    with services.db.session() as session:
        action = ag.add_action(session, "U0REP0001", owner, datetime(2026, 12, 3).date(), "Send the deck", clock())
        ag.add_action(session, "U0REP0001", "U0MKT0002", datetime(2026, 12, 20).date(), "Later", clock())
    clock.now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)        # the day before, but before 09:00
    dl.run_due(services, clock.now)
    assert dms_to(fake_slack, owner) == []
    clock.now = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    second = other_process(services, fake_slack, clock)
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda s: dl.run_due(s, clock.now), [services, second, services]))
    finally:
        second.close()
    [due_soon] = dms_to(fake_slack, owner)
    assert "Reminder: action #1 is due 2026-12-03" in _text_of(due_soon).replace("*", "")
    clock.now = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    dl.run_due(services, clock.now)
    clock.now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)       # the due date itself: nothing new
    dl.run_due(services, clock.now)
    assert len(dms_to(fake_slack, owner)) == 1
    # Overdue: one a day; a Slack failure is retried on a later tick, still once.
    fake_slack.fail("chat.postMessage", status=500, times=4)
    clock.now = datetime(2026, 12, 4, 9, 5, tzinfo=UTC)
    dl.run_due(services, clock.now)
    assert len(dms_to(fake_slack, owner)) == 1
    clock.now = datetime(2026, 12, 4, 9, 10, tzinfo=UTC)
    dl.run_due(services, clock.now)
    dl.run_due(services, clock.now)
    overdue = dms_to(fake_slack, owner)[1:]
    assert len(overdue) == 1 and "is overdue by 1 day" in _text_of(overdue[0])
    clock.now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    dl.run_due(services, clock.now)
    dl.run_due(services, clock.now)
    assert len(dms_to(fake_slack, owner)) == 3 and "overdue by 2 days" in _text_of(dms_to(fake_slack, owner)[2])
    with services.db.session() as session:
        ag.complete_action(session, owner, action.id, clock.now)
    clock.now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    dl.run_due(services, clock.now)
    assert len(dms_to(fake_slack, owner)) == 3, "done: no more reminders"
    assert dms_to(fake_slack, "U0MKT0002") == []
    with services.db.session() as session:
        rows = list(session.scalars(select(ActionReminder).where(ActionReminder.recipient == owner)))
    assert sorted((r.period, r.reason, r.status) for r in rows) == [
        ("2026-12-02", "due_soon", "sent"), ("2026-12-04", "overdue", "sent"), ("2026-12-05", "overdue", "sent")]


def _posts(fake_slack) -> list[dict]:
    return [c.args for c in fake_slack.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL]


def test_biweekly_and_monthly_meetings_across_dst_over_http(slack_app):
    services, clock, fake_slack = slack_app.services, slack_app.clock, slack_app.slack
    slack_app.set_role("U0ADMIN01", "admin")
    clock.now = datetime(2026, 10, 19, 12, 0, tzinfo=UTC)
    saved = text_of(slack_app.command("/revalign", "schedule every 2 weeks tue 10:00 America/New_York "
                                      "<#C0SALESMKT|sales-marketing> --agenda-lead 2h --from 2026-10-20",
                                      user_id="U0ADMIN01"))
    assert "every other Tuesday (from 2026-10-20) at 10:00 America/New_York" in saved
    assert "next 2026-10-20 10:00 EDT (America/New_York)" in saved
    sent = []
    for moment in (datetime(2026, 10, 20, 12, 0, tzinfo=UTC), datetime(2026, 10, 27, 12, 0, tzinfo=UTC),
                   datetime(2026, 10, 27, 13, 0, tzinfo=UTC), datetime(2026, 11, 3, 12, 0, tzinfo=UTC),
                   datetime(2026, 11, 3, 13, 0, tzinfo=UTC), datetime(2026, 11, 10, 13, 0, tzinfo=UTC),
                   datetime(2026, 11, 17, 13, 0, tzinfo=UTC)):
        clock.now = moment
        if dl.run_due(services, moment).sent:
            sent.append(moment.strftime("%m-%d %H:%M"))
    # 10:00 New York is 14:00 UTC in October and 15:00 UTC after DST ends on Nov 1; the agenda goes 2 h before.
    assert sent == ["10-20 12:00", "11-03 13:00", "11-17 13:00"]
    texts = [p["text"] for p in _posts(fake_slack)]
    assert texts[1].startswith("Alignment meeting agenda — 2026-11-03 10:00 EST (America/New_York)"), texts[1]
    assert "UTC" not in texts[1]

    clock.now = datetime(2026, 9, 1, 0, 0, tzinfo=UTC)
    saved = text_of(slack_app.command("/revalign", "schedule monthly last thursday 09:00 Europe/Berlin C0SALESMKT "
                                      "--agenda-lead 1h", user_id="U0ADMIN01"))
    assert "the last Thursday of every month at 09:00 Europe/Berlin" in saved
    sent = []
    for moment in (datetime(2026, 9, 24, 6, 0, tzinfo=UTC), datetime(2026, 10, 1, 6, 0, tzinfo=UTC),
                   datetime(2026, 10, 29, 6, 0, tzinfo=UTC), datetime(2026, 10, 29, 7, 0, tzinfo=UTC)):
        clock.now = moment
        if dl.run_due(services, moment).sent:
            sent.append(moment.strftime("%m-%d %H:%M"))
    # Berlin is UTC+2 until Sun 2026-10-25, then UTC+1.
    assert sent == ["09-24 06:00", "10-29 07:00"]
    assert _posts(fake_slack)[-1]["text"].startswith("Alignment meeting agenda — 2026-10-29 09:00 CET (Europe/Berlin)")

    # The digest accepts the same cadences.
    digest = text_of(slack_app.command("/revalign", "schedule digest monthly first mon 08:00 Europe/Berlin",
                                       user_id="U0ADMIN01"))
    assert "KPI digest: the first Monday of every month at 08:00 Europe/Berlin to the department heads" in digest
    assert "only admins" in text_of(slack_app.command("/revalign", "schedule digest weekly mon 08:00 UTC"))


def test_missed_delivery_names_the_time_in_the_schedules_zone(services, fake_slack, clock):
    from tests.e2e.test_scheduler import deliveries, set_meeting

    set_meeting(services)
    clock.now = AGENDA_DUE + timedelta(hours=3)          # past the 1 h grace
    assert len(dl.run_due(services, clock.now).missed) == 1
    [row] = deliveries(services)
    assert row.due_at == AGENDA_DUE                                          # 13:00 UTC
    assert "after 2026-12-01 08:00 EST (America/New_York)" in row.last_error, row.last_error
