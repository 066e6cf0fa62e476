"""Deliveries under Slack faults where the outcome is unknown: the answer arrives after the
client's timeout (Slack did act), the process is killed while waiting for it, and a part of the
digest fails after another arrived. Nothing is sent twice and nothing is left "unconfirmed"
when the conversation's history can be read. SQLite and PostgreSQL (the `backend` fixture)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.meetings import delivery as dl
from bot.meetings import schedules as sch
from bot.models.scheduling import Delivery
from tests.conftest import make_settings

CHANNEL = "C0SALESMKT"
AGENDA_DUE = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)      # see test_scheduler.py
DIGEST_DUE = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)      # Monday 08:00 UTC, the default digest
HEAD, HEAD_DM = "U0SALESH1", "D0SALESH1"
LATE = 2.0        # the fake answers this late; the client gives up after 1 s


@pytest.fixture
def services(database_url, fake_slack, clock, embedder):
    """The bot with a 1 s Slack timeout, so a late answer is an unknown outcome quickly."""
    from bot.services import Services

    services = Services(make_settings(database_url, fake_slack.api_url, REVALIGN_SLACK_TIMEOUT="1"),
                        clock=clock, embedder=embedder)
    yield services
    services.close()


def set_meeting(services):
    spec = f"weekly tue 10:00 America/New_York {CHANNEL} --agenda-lead 2h"
    with services.db.session() as session:
        sch.set_meeting(session, sch.parse_schedule(spec.split()), by="U0ADMIN01", now=services.now())


def with_head(services, clock):
    from bot import roles
    from bot.models import Role

    with services.db.session() as session:
        roles.set_role(session, HEAD, Role.sales_head, by="test", now=clock.now)
    dl.run_due(services, clock.now)      # the bot was running before: the default digest schedule exists


def rows(services, kind):
    with services.db.session() as session:
        return list(session.scalars(select(Delivery).where(Delivery.kind == kind).order_by(Delivery.id)))


def texts(fake_slack, channel):
    return [m for m in fake_slack.messages_in(channel) if not m.get("files")]


def charts(fake_slack, channel):
    return [m for m in fake_slack.messages_in(channel) if m.get("files")]


# --- the answer arrives after the timeout -----------------------------------------------------------
def test_agenda_post_whose_answer_is_lost_is_confirmed_not_resent(services, fake_slack, clock):
    set_meeting(services)
    fake_slack.lose_response("chat.postMessage", delay=LATE)
    clock.now = AGENDA_DUE
    report = dl.run_due(services, clock.now)
    assert fake_slack.lost_calls == ["chat.postMessage"]
    assert len(report.sent) == 1 and report.failed == [] and report.unconfirmed == []
    for minutes in (1, 2, 4, 8, 20):
        assert dl.run_due(services, AGENDA_DUE + timedelta(minutes=minutes)).sent == []
    assert len(texts(fake_slack, CHANNEL)) == 1
    [row] = rows(services, "agenda")
    assert (row.status, row.attempts, row.in_doubt) == ("sent", 1, False)
    assert row.message_ts == texts(fake_slack, CHANNEL)[0]["ts"] and "recovered" in row.last_error


def test_lost_answer_with_history_down_is_checked_again_before_the_retry(services, fake_slack, clock):
    set_meeting(services)
    fake_slack.lose_response("chat.postMessage", delay=LATE)
    fake_slack.fail("conversations.history", status=500, times=4)   # the client's 1 + 3 tries
    clock.now = AGENDA_DUE
    report = dl.run_due(services, clock.now)
    assert report.sent == [] and len(report.failed) == 1
    [row] = rows(services, "agenda")
    assert (row.status, row.in_doubt) == ("failed", True) and "outcome unknown" in row.last_error
    clock.now = AGENDA_DUE + timedelta(minutes=1)
    assert len(dl.run_due(services, clock.now).sent) == 1
    assert len(texts(fake_slack, CHANNEL)) == 1          # found in the history, not posted again
    [row] = rows(services, "agenda")
    assert (row.status, row.attempts) == ("sent", 2) and "recovered" in row.last_error


def test_an_error_answer_is_a_known_outcome_and_needs_no_check(services, fake_slack, clock):
    set_meeting(services)
    fake_slack.fail("chat.postMessage", status=500, times=4)
    clock.now = AGENDA_DUE
    assert len(dl.run_due(services, clock.now).failed) == 1
    [row] = rows(services, "agenda")
    assert row.in_doubt is False         # Slack answered 500: it did not act, so no check is needed
    clock.now += timedelta(minutes=1)
    assert len(dl.run_due(services, clock.now).sent) == 1
    assert len(texts(fake_slack, CHANNEL)) == 1 and fake_slack.calls_to("conversations.history") == []


def test_digest_dm_whose_message_answer_is_lost_is_confirmed_in_the_dm(services, fake_slack, clock):
    with_head(services, clock)
    fake_slack.lose_response("chat.postMessage", delay=LATE)
    clock.now = DIGEST_DUE + timedelta(seconds=30)
    report = dl.run_due(services, clock.now)
    assert len(report.sent) == 1 and report.unconfirmed == []
    dl.run_due(services, clock.now + timedelta(hours=1))
    assert len(texts(fake_slack, HEAD_DM)) == 1 and len(charts(fake_slack, HEAD_DM)) == 1
    [row] = rows(services, "digest")
    assert row.status == "sent" and set(json.loads(row.parts)) == {"text", "chart"}
    assert row.message_channel == HEAD_DM


def test_digest_chart_upload_whose_answer_is_lost_is_confirmed_not_reuploaded(services, fake_slack, clock):
    with_head(services, clock)
    fake_slack.lose_response("files.completeUploadExternal", delay=LATE)
    clock.now = DIGEST_DUE + timedelta(seconds=30)
    report = dl.run_due(services, clock.now)
    assert fake_slack.lost_calls == ["files.completeUploadExternal"]
    assert len(report.sent) == 1 and report.failed == []
    for hours in (1, 2, 3):
        dl.run_due(services, clock.now + timedelta(hours=hours))
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 1
    assert len(texts(fake_slack, HEAD_DM)) == 1 and len(charts(fake_slack, HEAD_DM)) == 1
    [row] = rows(services, "digest")
    assert row.status == "sent" and json.loads(row.parts)["chart"] == charts(fake_slack, HEAD_DM)[0]["files"][0]["id"]


# --- one digest, one outcome --------------------------------------------------------------------------
def test_chart_failing_after_the_message_retries_only_the_chart(services, fake_slack, clock):
    with_head(services, clock)
    fake_slack.fail("files.completeUploadExternal", status=500, times=4)
    clock.now = DIGEST_DUE + timedelta(seconds=30)
    assert len(dl.run_due(services, clock.now).failed) == 1
    [row] = rows(services, "digest")
    assert row.status == "failed" and list(json.loads(row.parts)) == ["text"] and row.message_ts
    assert len(texts(fake_slack, HEAD_DM)) == 1 and charts(fake_slack, HEAD_DM) == []
    clock.now += timedelta(minutes=1)
    assert len(dl.run_due(services, clock.now).sent) == 1
    assert len(texts(fake_slack, HEAD_DM)) == 1 and len(charts(fake_slack, HEAD_DM)) == 1
    # The chart comes after its message, in the same conversation.
    text, chart = fake_slack.messages_in(HEAD_DM)
    assert float(chart["ts"]) > float(text["ts"]) and "2026-W48" in text["text"]


def test_message_failing_sends_nothing_then_both_parts_once(services, fake_slack, clock):
    with_head(services, clock)
    fake_slack.fail("chat.postMessage", status=500, times=4)      # the client's 1 + 3 tries
    clock.now = DIGEST_DUE + timedelta(seconds=30)
    assert len(dl.run_due(services, clock.now).failed) == 1
    assert fake_slack.messages_in(HEAD_DM) == [] and fake_slack.calls_to("files.completeUploadExternal") == []
    clock.now += timedelta(minutes=1)
    assert len(dl.run_due(services, clock.now).sent) == 1
    assert len(texts(fake_slack, HEAD_DM)) == 1 and len(charts(fake_slack, HEAD_DM)) == 1
    assert rows(services, "digest")[0].attempts == 2


# --- killed mid-send ---------------------------------------------------------------------------------------
def _die_before_recording(services, clock, parts=None):
    """Make the delivery look like its process was killed after Slack acted, before recording it."""
    with services.db.session() as session:
        session.execute(update(Delivery).values(status="sending", sent_at=None, in_doubt=False,
                                                parts=json.dumps(parts) if parts else None,
                                                claimed_by="dead-host:1:abc", claimed_at=clock.now))


def test_killed_after_the_chart_was_shared_recovers_without_a_second_chart(services, fake_slack, clock):
    with_head(services, clock)
    clock.now = DIGEST_DUE + timedelta(seconds=30)
    dl.run_due(services, clock.now)
    [row] = rows(services, "digest")
    _die_before_recording(services, clock, parts={"text": row.message_ts})
    clock.now += timedelta(minutes=11)
    report = dl.run_due(services, clock.now)
    assert len(report.sent) == 1 and report.unconfirmed == []
    assert len(texts(fake_slack, HEAD_DM)) == 1 and len(charts(fake_slack, HEAD_DM)) == 1
    [row] = rows(services, "digest")
    assert row.status == "sent" and "recovered" in row.last_error


def test_killed_before_the_chart_went_out_sends_only_the_chart(services, fake_slack, clock):
    with_head(services, clock)
    fake_slack.fail("files.getUploadURLExternal", status=500, times=4)
    clock.now = DIGEST_DUE + timedelta(seconds=30)
    dl.run_due(services, clock.now)
    [row] = rows(services, "digest")
    _die_before_recording(services, clock, parts=json.loads(row.parts))
    clock.now += timedelta(minutes=11)
    assert len(dl.run_due(services, clock.now).sent) == 1
    assert len(texts(fake_slack, HEAD_DM)) == 1 and len(charts(fake_slack, HEAD_DM)) == 1


def test_dm_history_not_granted_is_unconfirmed_with_the_fix_named(services, fake_slack, clock):
    """An install without im:history: the one case a person must decide (and is told how)."""
    with_head(services, clock)
    clock.now = DIGEST_DUE + timedelta(seconds=30)
    dl.run_due(services, clock.now)
    _die_before_recording(services, clock)
    fake_slack.fail("conversations.history", slack_error="missing_scope", times=5)
    clock.now += timedelta(minutes=11)
    report = dl.run_due(services, clock.now)
    assert report.sent == [] and len(report.unconfirmed) == 1
    [row] = rows(services, "digest")
    assert row.status == "unconfirmed" and "missing_scope" in row.last_error and "im:history" in row.last_error
    assert len(texts(fake_slack, HEAD_DM)) == 1


def test_a_claim_held_by_another_process_is_never_sent_here(services, fake_slack, clock):
    """The lost-claim branch, deterministically: the key is already claimed when this process tries."""
    set_meeting(services)
    clock.now = AGENDA_DUE
    with services.db.session() as session:
        schedule = sch.get_schedule(session, "agenda")
        session.add(Delivery(schedule_id=schedule.id, kind="agenda", period="2026-W49", recipient=CHANNEL,
                             due_at=AGENDA_DUE, status="sending", attempts=1, claimed_by="other-host:7:abc",
                             claimed_at=clock.now, message_channel=CHANNEL, created_at=clock.now,
                             updated_at=clock.now))
        key = dl.delivery_key(schedule.id, "2026-W49", CHANNEL)
    report = dl.run_due(services, clock.now)
    assert report.skipped == [key] and report.sent == [] and report.failed == []
    assert fake_slack.calls_to("chat.postMessage") == []
    [row] = rows(services, "agenda")
    assert (row.claimed_by, row.attempts) == ("other-host:7:abc", 1)


@pytest.mark.parametrize("kind", ["agenda", "digest"])
def test_scheduler_process_killed_while_slack_had_not_answered(services, fake_slack, clock, tmp_path, kind):
    """A real `revalign scheduler --once`, SIGKILLed while waiting for an answer Slack never sends in
    time (it did post): the next scheduler finds the post and records it; nothing goes out twice."""
    if kind == "agenda":
        set_meeting(services)
        now, channel, method = AGENDA_DUE + timedelta(minutes=1), CHANNEL, "chat.postMessage"
    else:
        with_head(services, clock)
        now, channel, method = DIGEST_DUE + timedelta(minutes=1), HEAD_DM, "files.completeUploadExternal"
    fake_slack.lose_response(method, delay=30)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REVALIGN_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": services.settings.database_url, "SLACK_BOT_TOKEN": "xoxb-test-0000-token",
                "SLACK_API_URL": fake_slack.api_url, "REVALIGN_SLACK_TIMEOUT": "60", "HF_HUB_OFFLINE": "1"})
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "scheduler", "--once", "--now", now.isoformat()],
                               env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        fake_slack.wait_for(method, 1, timeout=90)
        time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    [row] = rows(services, kind)
    assert row.status == "sending"
    clock.now = now + dl.SENDING_TIMEOUT + timedelta(minutes=1)
    report = dl.run_due(services, clock.now)
    assert len(report.sent) == 1 and report.unconfirmed == [] and report.failed == []
    dl.run_due(services, clock.now + timedelta(hours=1))
    assert len(texts(fake_slack, channel)) == 1
    assert len(charts(fake_slack, channel)) == (1 if kind == "digest" else 0)
    [row] = rows(services, kind)
    assert row.status == "sent" and "recovered" in row.last_error
