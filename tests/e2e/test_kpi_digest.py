"""The weekly digest: content on realistic data, the chart upload through Slack's external-upload
API (as files_upload_v2 does it), 429/500 from Slack followed by success, and `revalign digest preview`."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from datetime import timedelta

import pytest

from bot.kpis import demo, digest
from bot.render.digest import digest_blocks
from tests.conftest import START, text_of

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_MAGIC)
    return struct.unpack(">II", data[16:24])


def _seed_content(services) -> None:
    """Shares and unanswered objections through the content feature's tables."""
    from bot.models.content import ContentEvent, ContentGap, ContentItem

    week_start = START - timedelta(days=8)   # Mon 2026-11-16 15:00 UTC, inside 2026-W47
    with services.db.session() as session:
        items = [ContentItem(url=f"https://content.example/{slug}", title=title, type="case_study",
                             stage="decision", persona="cfo", summary="", objections=[])
                 for slug, title in (("roi", "Northwind cut reporting time by 60%"),
                                     ("security", "Security & compliance overview <SOC 2>"),
                                     ("pricing", "Pricing FAQ"))]
        session.add_all(items)
        session.flush()
        for item, shares in zip(items, (7, 4, 1)):
            for n in range(shares):
                session.add(ContentEvent(kind="share", user_id="U0REP", channel_id="C0SALES", item_id=item.id,
                                         created_at=week_start + timedelta(hours=n)))
        session.add(ContentEvent(kind="helpful", user_id="U0REP", item_id=items[2].id, created_at=week_start))
        for n in range(2):   # this week (2026-W48), which has no recorded value
            session.add(ContentEvent(kind="share", user_id="U0REP", item_id=items[2].id,
                                     created_at=START - timedelta(hours=n + 1)))
        for text, count in (("we're 2x the price of Vantage", 6), ("does it run on a mainframe?", 3),
                            ("<!channel> no SSO support", 2)):
            session.add(ContentGap(objection=text, count=count, first_seen=week_start, last_seen=week_start,
                                   status="open"))
        session.add(ContentGap(objection="already answered", count=9, first_seen=week_start,
                               last_seen=week_start, status="tagged"))


def _seed_definitions(services) -> None:
    """One approved change in 2026-W47 and one proposal awaiting approval, through /lead-def's own service."""
    from bot import roles
    from bot.lead_defs import service as ld
    from bot.models import Role

    in_w47 = START - timedelta(days=7)
    with services.db.session() as session:
        for user, role in (("U0MKTHEAD", Role.marketing_head), ("U0SALESHEAD", Role.sales_head),
                           ("U0MARKETER", Role.marketer)):
            roles.set_role(session, user, role, by="test", now=START)
        ld.seed_defaults(session, START - timedelta(days=30))
        changed = ld.propose(session, ld.Draft("MQL", 1, {"sla": "Sales follows up within 1 business day"},
                                               "Tighter follow-up <!here>"), user_id="U0MARKETER", now=in_w47)
        ld.approve(session, changed.id, "U0MKTHEAD", in_w47)
        ld.approve(session, changed.id, "U0SALESHEAD", in_w47)
        ld.propose(session, ld.Draft("SQL", 1, {"sla": "Accepted or rejected within 2 business days"},
                                     "Faster SQL decisions"), user_id="U0MARKETER", now=in_w47)


def test_digest_content_on_realistic_data(services):
    demo.seed(services)
    _seed_content(services)
    _seed_definitions(services)
    expected = demo.weekly_values()
    with services.db.session() as session:
        result = digest.build_digest(session, "2026-W47", services.now())
    assert result.period == "2026-W47" and result.previous_period == "2026-W46"
    assert result.trend_periods == [f"2026-W{n}" for n in range(40, 48)]
    mqls = result.metric("mqls")
    assert mqls.value == expected[-1]["mqls"] and mqls.previous == expected[-2]["mqls"]
    change = (expected[-1]["mqls"] - expected[-2]["mqls"]) / expected[-2]["mqls"] * 100
    assert mqls.change_text == f"{'↑' if change > 0 else '↓'} {abs(change):.1f}%"
    assert mqls.trend == [row["mqls"] for row in expected[-8:]]
    # The MQL target was raised from 100 to 120 at the 7th of the 12 demo weeks (2026-W42).
    assert mqls.trend_targets == [100, 100, 120, 120, 120, 120, 120, 120]
    conversion = result.metric("mql_to_sql")
    assert conversion.value == pytest.approx(expected[-1]["sqls"] / expected[-1]["mqls"])
    win_rate = result.metric("win_rate")
    assert win_rate.value == pytest.approx(expected[-1]["deals_won"] / (expected[-1]["deals_won"] + expected[-1]["deals_lost"]))
    cpa = result.metric("cpa")
    assert cpa.value == pytest.approx(expected[-1]["marketing_spend"] / expected[-1]["new_customers"])
    assert cpa.on_target == (cpa.value <= 6000)

    blocks = digest_blocks(result)
    assert len(blocks) <= 50
    text = text_of({"blocks": blocks})
    assert "WEEKLY KPI DIGEST · 2026-W47" in text
    assert f"*MQLs*: {expected[-1]['mqls']}  ·  {mqls.change_text} vs {expected[-2]['mqls']}  ·  target 120" in text
    assert "MQL follow-up SLA compliance" in text and "Lead definitions changed or awaiting approval" in text
    assert [i.text for i in result.shared_content] == ["Northwind cut reporting time by 60%",
                                                       "Security & compliance overview <SOC 2>", "Pricing FAQ"]
    # Pricing FAQ's two shares in 2026-W48 are not the W47 digest's.
    assert [i.detail for i in result.shared_content] == ["7 shares", "4 shares", "1 share"]
    assert "1. Northwind cut reporting time by 60% (https://content.example/roi) — 7 shares" in text
    assert [i.text for i in result.objections][:1] == ["we're 2x the price of Vantage"]
    assert "already answered" not in text
    assert "<!channel>" not in json.dumps(blocks) and "<SOC 2>" not in json.dumps(blocks)
    # A recorded value wins; a week without one is counted from /content shares.
    assert result.metric("content_shares").value == expected[-1]["content_shares"]
    from bot.kpis import values

    with services.db.session() as session:
        assert values.metric_values(session, ["2026-W48"])[("content_shares", "2026-W48")] == 2
    assert [(i.text, i.detail.split(" — ")[0]) for i in result.definitions] == [
        ("MQL", "changed to v2: sla"), ("SQL", "awaiting approval from the marketing head and sales head")]
    raw = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b)
    assert "• *MQL* changed to v2: sla — “Tighter follow-up &lt;!here&gt;” (<@U0MARKETER>)" in raw
    assert "<!here>" not in raw
    png = digest.render_chart(result)
    width, height = _png_size(png)
    assert width >= 1200 and height >= 600


def test_send_digest_dm_survives_429_and_500_and_uploads_chart(slack_app):
    from slack_sdk.errors import SlackApiError

    services = slack_app.services
    demo.seed(services)
    slack_app.set_role("U0SALESHEAD", "sales_head")
    slack_app.set_role("U0MKTHEAD", "marketing_head")
    slack_app.set_role("U0MARKETER", "marketer")
    with services.db.session() as session:
        recipients = digest.digest_recipients(session, services.settings)
    assert recipients == ["U0MKTHEAD", "U0SALESHEAD"]
    slack = slack_app.slack
    slack.fail("files.getUploadURLExternal", status=429, retry_after=1)
    slack.fail("files.completeUploadExternal", status=500)
    slack.fail("chat.postMessage", status=500)
    digest.send_digest(services, services.slack, "U0SALESHEAD", "2026-W47")

    assert [c.method for c in slack.failed_calls] == ["chat.postMessage", "files.getUploadURLExternal",
                                                      "files.completeUploadExternal"]
    opened = slack.calls_to("conversations.open")
    assert len(opened) == 1 and opened[0].args["users"] == "U0SALESHEAD"
    dm = "D0SALESHEAD"
    (url_call,) = slack.calls_to("files.getUploadURLExternal")
    assert url_call.args["filename"] == "revalign-kpis-2026-W47.png"
    (upload,) = slack.calls_to("upload")
    assert upload.raw.startswith(PNG_MAGIC) and int(url_call.args["length"]) == len(upload.raw)
    (complete,) = slack.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == dm
    files = json.loads(complete.args["files"])
    assert files[0]["title"] == "KPI trend 2026-W40 – 2026-W47"
    assert "2026-W47" in complete.args["initial_comment"]
    (posted,) = slack.calls_to("chat.postMessage")
    assert posted.args["channel"] == dm
    blocks = posted.args["blocks"] if isinstance(posted.args["blocks"], list) else json.loads(posted.args["blocks"])
    assert 0 < len(blocks) <= 50
    assert "Weekly KPI digest for 2026-W47: MQLs" in posted.args["text"]
    assert "Top unanswered objections" in text_of({"blocks": blocks})
    # The message goes first, the chart after it (bot/meetings/digest_delivery.py: each part is
    # recorded, so a retry sends only the missing one).
    order = [c.method for c in slack.calls if c.method in ("upload", "chat.postMessage")]
    assert order == ["chat.postMessage", "upload"]

    # A configured channel replaces the DMs; a channel needs no conversations.open.
    settings = services.settings.model_copy(update={"digest_channel": "C0DIGEST01"})
    with services.db.session() as session:
        assert digest.digest_recipients(session, settings) == ["C0DIGEST01"]
    slack.reset()
    digest.send_digest(services, services.slack, "C0DIGEST01", "2026-W47")
    assert slack.calls_to("conversations.open") == []
    assert slack.calls_to("files.completeUploadExternal")[0].args["channel_id"] == "C0DIGEST01"
    assert slack.calls_to("chat.postMessage")[0].args["channel"] == "C0DIGEST01"
    # Slack still failing after the client's retries: the error reaches the scheduler.
    slack.fail("chat.postMessage", slack_error="channel_not_found")
    with pytest.raises(SlackApiError):
        digest.send_digest(services, services.slack, "C0DIGEST01", "2026-W47")


def test_digest_preview_cli_prints_digest_and_writes_png(services, database_url, tmp_path):
    demo.seed(services)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REVALIGN_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": database_url, "HF_HUB_OFFLINE": "1"})
    out = tmp_path / "preview.png"
    result = subprocess.run([sys.executable, "-m", "bot.cli", "digest", "preview", "--period", "2026-W47",
                             "--out", str(out)], capture_output=True, text=True, env=env, check=False, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "WEEKLY KPI DIGEST · 2026-W47" in result.stdout
    assert f"*MQLs*: {demo.weekly_values()[-1]['mqls']}" in result.stdout
    assert f"Chart: {out}" in result.stdout and "would go to: nobody yet" in result.stdout
    assert _png_size(out.read_bytes())[0] >= 1200
    # A bad period is one clear error (main() prints it as one line: tested in tests/test_cli.py).
    from typer.testing import CliRunner

    from bot.cli import cli
    from bot.errors import InvalidInput

    bad = CliRunner().invoke(cli, ["digest", "preview", "--period", "2026-W99"], env=env)
    assert isinstance(bad.exception, InvalidInput) and str(bad.exception) == "2026 has no week 99."
