"""The scheduler with a controllable clock: exactly-once across processes, DST, start-up catch-up
inside and outside the grace period, Slack 429/500 then success, restart mid-send, the lease.

Runs on SQLite and PostgreSQL (the `services` fixture is parametrised over both backends)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from bot.meetings import delivery as dl
from bot.meetings import schedules as sch
from bot.models.scheduling import Delivery
from tests.conftest import make_settings

UTC = timezone.utc
CHANNEL = "C0SALESMKT"
# The meeting after START (Tue 2026-11-24 15:00 UTC = 10:00 New York) is Tue 2026-12-01 10:00 EST
# = 15:00 UTC; with a 2 h lead the agenda is due at 13:00 UTC.
AGENDA_DUE = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def set_meeting(services, spec=f"weekly tue 10:00 America/New_York {CHANNEL} --agenda-lead 2h"):
    with services.db.session() as session:
        return sch.set_meeting(session, sch.parse_schedule(spec.split()), by="U0ADMIN01", now=services.now())


def agenda_posts(fake_slack):
    return [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL]


def deliveries(services, kind="agenda"):
    with services.db.session() as session:
        return list(session.scalars(select(Delivery).where(Delivery.kind == kind).order_by(Delivery.due_at)))


def other_process(services, fake_slack, clock):
    """A second bot process: its own Services, engine and Slack client on the same database."""
    from bot.services import Services

    return Services(make_settings(services.settings.database_url, fake_slack.api_url), clock=clock)


def test_agenda_is_sent_at_lead_time_exactly_once(services, fake_slack, clock):
    set_meeting(services)
    clock.now = AGENDA_DUE - timedelta(minutes=1)
    assert dl.run_due(services, clock.now).sent == []
    clock.now = AGENDA_DUE
    report = dl.run_due(services, clock.now)
    assert report.sent == [f"{deliveries(services)[0].schedule_id}:2026-W49:{CHANNEL}"]
    for _ in range(3):
        clock.advance(minutes=5)
        assert dl.run_due(services, clock.now).sent == []
    posts = agenda_posts(fake_slack)
    assert len(posts) == 1
    assert posts[0].args["metadata"]["event_type"] == "revalign_delivery"
    [row] = deliveries(services)
    assert (row.status, row.attempts, row.period, row.due_at) == ("sent", 1, "2026-W49", AGENDA_DUE)
    assert row.message_ts


def test_dst_change_over_keeps_wall_clock_time(services, fake_slack, clock):
    # US DST ends Sun 2026-11-01: the 10:00 New York meeting moves from 14:00 to 15:00 UTC,
    # so its agenda (2 h before) from 12:00 to 13:00 UTC.
    clock.now = datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    set_meeting(services)
    clock.now = datetime(2026, 10, 27, 11, 59, tzinfo=UTC)
    assert dl.run_due(services, clock.now).sent == []
    clock.now = datetime(2026, 10, 27, 12, 0, tzinfo=UTC)
    assert len(dl.run_due(services, clock.now).sent) == 1
    clock.now = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)      # 07:00 EST: not yet
    assert dl.run_due(services, clock.now).sent == []
    clock.now = datetime(2026, 11, 3, 12, 59, tzinfo=UTC)
    assert dl.run_due(services, clock.now).sent == []
    clock.now = datetime(2026, 11, 3, 13, 0, tzinfo=UTC)
    assert len(dl.run_due(services, clock.now).sent) == 1
    assert [(d.period, d.due_at.strftime("%m-%d %H:%M"), d.status) for d in deliveries(services)] == [
        ("2026-W44", "10-27 12:00", "sent"), ("2026-W45", "11-03 13:00", "sent")]
    assert len(agenda_posts(fake_slack)) == 2


def _race(workers, rounds_at):
    barrier = threading.Barrier(len(workers))
    errors = []

    def run(svc):
        try:
            barrier.wait(timeout=30)
            dl.run_due(svc, rounds_at)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(svc,)) for svc in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []


def test_exactly_once_with_two_processes_racing(services, fake_slack, clock):
    """Two Services (two engines, two Slack clients) on one database, several threads each."""
    from bot import roles
    from bot.models import Role

    with services.db.session() as session:
        roles.set_role(session, "U0SALESH1", Role.sales_head, by="test", now=clock.now)
        roles.set_role(session, "U0MKTHEAD1", Role.marketing_head, by="test", now=clock.now)
    set_meeting(services)
    dl.run_due(services, clock.now)   # the bot was running before: the default digest schedule exists
    second = other_process(services, fake_slack, clock)
    try:
        workers = [services, second] * 3
        # Round 1: the weekly digest (Monday 08:00 UTC) to both heads.
        clock.now = datetime(2026, 11, 30, 8, 0, 30, tzinfo=UTC)
        _race(workers, clock.now)
        # Round 2: the agenda.
        clock.now = AGENDA_DUE + timedelta(seconds=30)
        _race(workers, clock.now)
        _race(workers, clock.now + timedelta(seconds=30))
    finally:
        second.close()
    assert len(agenda_posts(fake_slack)) == 1
    digest_rows = deliveries(services, "digest")
    assert sorted(r.recipient for r in digest_rows) == ["U0MKTHEAD1", "U0SALESH1"]
    assert all(r.status == "sent" and r.attempts == 1 and r.period == "2026-W48" for r in digest_rows)
    dm_posts = [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("channel", "").startswith("D")]
    assert sorted(c.args["channel"] for c in dm_posts) == ["D0MKTHEAD1", "D0SALESH1"]
    assert all("2026-W48" in c.args["text"] for c in dm_posts)
    [row] = deliveries(services)
    assert (row.status, row.attempts) == ("sent", 1)


def test_exactly_once_with_real_scheduler_subprocesses(services, fake_slack, clock, tmp_path):
    """Two `revalign scheduler --once` processes and this process's run_due, at the same moment."""
    set_meeting(services)
    now = AGENDA_DUE + timedelta(minutes=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REVALIGN_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": services.settings.database_url, "SLACK_BOT_TOKEN": "xoxb-test-0000-token",
                "SLACK_API_URL": fake_slack.api_url, "HF_HUB_OFFLINE": "1"})
    command = [sys.executable, "-m", "bot.cli", "scheduler", "--once", "--now", now.isoformat()]
    procs = [subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    clock.now = now
    dl.run_due(services, now)
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all(out.startswith("scheduler: ") for out, _ in outputs), outputs
    dl.run_due(services, now + timedelta(minutes=1))
    assert len(agenda_posts(fake_slack)) == 1
    [row] = deliveries(services)
    assert (row.status, row.attempts) == ("sent", 1)


def test_restart_within_grace_sends_once(services, fake_slack, clock):
    set_meeting(services)                        # grace defaults to 1 h
    clock.now = AGENDA_DUE + timedelta(minutes=45)  # the bot was down at 13:00, back at 13:45
    restarted = other_process(services, fake_slack, clock)
    try:
        report = dl.run_due(restarted, clock.now)
        assert len(report.sent) == 1 and report.missed == []
        assert dl.run_due(restarted, clock.now + timedelta(seconds=30)).sent == []
        assert dl.run_due(services, clock.now + timedelta(minutes=1)).sent == []
    finally:
        restarted.close()
    assert len(agenda_posts(fake_slack)) == 1
    assert deliveries(services)[0].status == "sent"


def test_restart_outside_grace_records_missed_and_never_sends(services, fake_slack, clock, tmp_path):
    set_meeting(services)
    clock.now = AGENDA_DUE + timedelta(hours=3)
    report = dl.run_due(services, clock.now)
    assert report.sent == [] and len(report.missed) == 1
    assert dl.run_due(services, clock.now + timedelta(minutes=1)).missed == []
    assert agenda_posts(fake_slack) == []
    [row] = deliveries(services)
    assert row.status == "missed" and "grace period" in row.last_error
    # `revalign deliveries` shows it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REVALIGN_", "DATABASE_URL"))}
    env["DATABASE_URL"] = services.settings.database_url
    listing = subprocess.run([sys.executable, "-m", "bot.cli", "deliveries"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "missed" in listing.stdout and "2026-W49" in listing.stdout and CHANNEL in listing.stdout


def test_rate_limit_429_is_retried_and_sent_once(services, fake_slack, clock):
    set_meeting(services)
    fake_slack.fail("chat.postMessage", status=429, retry_after=1, times=1)
    clock.now = AGENDA_DUE
    report = dl.run_due(services, clock.now)
    assert len(report.sent) == 1 and report.failed == []
    assert len(fake_slack.failed_calls) == 1 and len(agenda_posts(fake_slack)) == 1
    assert deliveries(services)[0].status == "sent"


def test_server_errors_beyond_client_retries_are_recorded_and_retried_next_tick(services, fake_slack, clock):
    set_meeting(services)
    fake_slack.fail("chat.postMessage", status=500, times=4)  # the client itself tries 1 + 3 times
    clock.now = AGENDA_DUE
    report = dl.run_due(services, clock.now)
    assert report.sent == [] and len(report.failed) == 1
    [row] = deliveries(services)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "500" in row.last_error and row.next_attempt_at == AGENDA_DUE + timedelta(minutes=1)
    assert dl.run_due(services, clock.now + timedelta(seconds=30)).sent == []   # backing off
    clock.now = AGENDA_DUE + timedelta(minutes=1)
    assert len(dl.run_due(services, clock.now).sent) == 1
    [row] = deliveries(services)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(agenda_posts(fake_slack)) == 1 and len(fake_slack.failed_calls) == 4


def _crash_mid_send(services, clock):
    """Make the only delivery look like its process died after claiming it."""
    with services.db.session() as session:
        session.execute(update(Delivery).values(status="sending", sent_at=None, message_ts=None, parts=None,
                                                claimed_by="dead-host:1:abc", claimed_at=clock.now))


def test_restart_mid_send_after_slack_accepted_is_not_resent(services, fake_slack, clock):
    set_meeting(services)
    clock.now = AGENDA_DUE
    dl.run_due(services, clock.now)
    _crash_mid_send(services, clock)          # Slack has the message; the process died before recording it
    clock.advance(minutes=5)
    assert dl.run_due(services, clock.now).sent == []          # still within the sending timeout
    clock.advance(minutes=6)
    report = dl.run_due(services, clock.now)
    assert len(report.sent) == 1 and report.unconfirmed == []
    assert len(agenda_posts(fake_slack)) == 1
    [row] = deliveries(services)
    assert row.status == "sent" and row.message_ts and "recovered" in row.last_error


def test_restart_mid_send_before_slack_got_it_is_sent_once(services, fake_slack, clock):
    set_meeting(services)
    clock.now = AGENDA_DUE
    with services.db.session() as session:       # a claim whose process died before calling Slack
        schedule = sch.get_schedule(session, "agenda")
        session.add(Delivery(schedule_id=schedule.id, kind="agenda", period="2026-W49", recipient=CHANNEL,
                             due_at=AGENDA_DUE, status="sending", attempts=1, claimed_by="dead-host:1:abc",
                             claimed_at=clock.now, message_channel=CHANNEL, created_at=clock.now,
                             updated_at=clock.now))
    assert dl.run_due(services, clock.now).sent == []
    clock.advance(minutes=11)
    assert len(dl.run_due(services, clock.now).sent) == 1
    assert dl.run_due(services, clock.now + timedelta(minutes=20)).sent == []
    assert len(agenda_posts(fake_slack)) == 1
    [row] = deliveries(services)
    assert (row.status, row.attempts) == ("sent", 2)


def test_restart_mid_send_that_cannot_be_checked_is_recorded_not_resent(services, fake_slack, clock):
    set_meeting(services)
    clock.now = AGENDA_DUE
    dl.run_due(services, clock.now)
    _crash_mid_send(services, clock)
    fake_slack.fail("conversations.history", slack_error="missing_scope", times=10)
    clock.advance(minutes=11)
    report = dl.run_due(services, clock.now)
    assert report.sent == [] and len(report.unconfirmed) == 1
    [row] = deliveries(services)
    assert row.status == "unconfirmed" and "missing_scope" in row.last_error
    assert len(agenda_posts(fake_slack)) == 1
    # An operator decides it did not arrive: resend goes out once on the next tick.
    with services.db.session() as session:
        dl.resend(session, row.id, clock.now)
    assert len(dl.run_due(services, clock.now).sent) == 1
    assert len(agenda_posts(fake_slack)) == 2 and deliveries(services)[0].status == "sent"


def test_lease_is_held_by_one_process_and_taken_over_after_expiry(services, fake_slack, clock):
    second = other_process(services, fake_slack, clock)
    try:
        assert dl.acquire_lease(services.db, "A", clock.now)
        assert not dl.acquire_lease(second.db, "B", clock.now)
        assert dl.tick(second, "B", clock.now) is None
        clock.advance(seconds=10)
        assert dl.acquire_lease(services.db, "A", clock.now)          # renewed
        clock.advance(seconds=10)
        assert not dl.acquire_lease(second.db, "B", clock.now)        # renewal still valid
        clock.advance(seconds=6)                                       # A died: 16 s without renewal
        assert dl.acquire_lease(second.db, "B", clock.now)
        assert not dl.acquire_lease(services.db, "A", clock.now)
        assert dl.lease_holder(services.db, clock.now).holder == "B"
        dl.release_lease(second.db, "B", clock.now)
        assert dl.acquire_lease(services.db, "A", clock.now)
    finally:
        second.close()


def test_lease_race_has_one_winner(services, fake_slack, clock):
    others = [other_process(services, fake_slack, clock) for _ in range(3)]
    try:
        barrier = threading.Barrier(4)
        won = []

        def take(svc, name):
            barrier.wait(timeout=30)
            if dl.acquire_lease(svc.db, name, clock.now):
                won.append(name)

        threads = [threading.Thread(target=take, args=(svc, f"H{i}"))
                   for i, svc in enumerate([services, *others])]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(won) == 1
    finally:
        for svc in others:
            svc.close()


def test_background_scheduler_ticks_under_the_lease(services, fake_slack, clock):
    from bot.meetings.runtime import start_background_scheduler

    set_meeting(services)
    clock.now = AGENDA_DUE
    scheduler = start_background_scheduler(services)
    try:
        fake_slack.wait_for("chat.postMessage", 1, timeout=20)
    finally:
        scheduler.stop()
    assert len(agenda_posts(fake_slack)) == 1
    assert deliveries(services)[0].status == "sent"
    blocks = agenda_posts(fake_slack)[0].args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert blocks[0]["type"] == "header" and "agenda" in blocks[0]["text"]["text"]  # real blocks went out


def test_cli_schedule_set_show_and_resend_errors(database_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REVALIGN_", "DATABASE_URL"))}
    env["DATABASE_URL"] = database_url

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)

    done = cli("schedule", "set", "weekly", "thu", "14:30", "Europe/Berlin", "C0SALESMKT", "--agenda-lead", "1d")
    assert done.returncode == 0, done.stderr
    assert "agenda: every Thursday at 14:30 Europe/Berlin → C0SALESMKT; agenda posted 1d before" in done.stdout
    shown = cli("schedule", "show")
    assert "every Thursday at 14:30" in shown.stdout and "digest: every Monday at 08:00 UTC" in shown.stdout
    bad = cli("schedule", "set", "weekly", "thu", "14:30", "Atlantis/Central", "C0SALESMKT")
    assert bad.returncode == 1 and bad.stderr.strip() == (
        "revalign: 'Atlantis/Central' is not a time zone; use an IANA name such as America/New_York.")
    missing = cli("deliveries", "resend", "42")
    assert missing.returncode == 1 and "no delivery 42" in missing.stderr


def _scheduler_process(services, fake_slack, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REVALIGN_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": services.settings.database_url, "SLACK_BOT_TOKEN": "xoxb-test-0000-token",
                "SLACK_API_URL": fake_slack.api_url, "HF_HUB_OFFLINE": "1"})
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "scheduler"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for_holder(services, pid, timeout):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lease = dl.lease_holder(services.db, datetime.now(UTC))
        if lease is not None and f":{pid}:" in lease.holder:
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"process {pid} never held the lease")


def test_takeover_after_sigkill_of_a_real_scheduler_and_graceful_stop(services, fake_slack, tmp_path, backend):
    """Two real `revalign scheduler` processes: SIGKILL the holder, time how long until the standby
    holds the lease (reported; the bound is only generous), then SIGTERM the new holder: exit 0 and
    the lease released at once."""
    import signal
    import time

    first = _scheduler_process(services, fake_slack, tmp_path)
    second = None
    try:
        _wait_for_holder(services, first.pid, timeout=90)
        second = _scheduler_process(services, fake_slack, tmp_path)
        time.sleep(5)                                   # the standby is up and renewing in vain
        assert f":{first.pid}:" in dl.lease_holder(services.db, datetime.now(UTC)).holder
        first.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait(timeout=10)
        took_over = _wait_for_holder(services, second.pid, timeout=90) - killed_at
        print(f"\ntakeover after SIGKILL ({backend}): {took_over:.1f} s "
              f"(lease {dl.LEASE_TTL.total_seconds():.0f} s, renewed every 3 s)")
        assert took_over < 60
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=30)
        assert second.returncode == 0, err
        assert "scheduler stopped, lease released" in err
        assert dl.lease_holder(services.db, datetime.now(UTC)) is None
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
