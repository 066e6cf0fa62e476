"""Marketing's /content payloads pass slack_sdk's own Block Kit models, even at their largest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.content.gaps import GapSummary
from bot.content.report import (
    ContentReport,
    ItemUsage,
    Period,
    SearchedObjection,
    StageUsage,
    UnusedGroup,
)
from bot.content.requests import (
    AnswerItem,
    AnswerNotice,
    FiledRequest,
    GapRequests,
    RequestView,
)
from bot.content.vocabulary import DEFAULT_STAGES
from bot.render import content as render

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
LONG = "we can't <!channel> pay & " * 200


def check_message(payload: dict) -> None:
    assert len(payload["blocks"]) <= 50 and len(payload["text"]) <= 3000
    for block in payload["blocks"]:
        Block.parse(block).validate_json()


def check_view(view: dict) -> None:
    View(**view).validate_json()


def _item(i: int, **counts) -> ItemUsage:
    return ItemUsage(i, f"Item {i} " + "x" * 300, f"https://content.example/{i}", "case_study", "decision", "cfo",
                     last_used=NOW, not_helpful_phrasings=(LONG, "too expensive"), **counts)


def _report(n: int = 400) -> ContentReport:
    items = [_item(i, shown=n - i, shares=i % 3, helpful=1, not_helpful=i % 5) for i in range(n)]
    unused = [UnusedGroup(f"type_{g}", "decision", tuple(items[:30]), tuple(items[30:60])) for g in range(20)]
    return ContentReport(Period(NOW - timedelta(days=30), NOW, "the last 30 days"), 100000, 1500, 20000, 10000,
                         5000, items, unused, items[:5], [SearchedObjection(LONG, 40, 3, NOW)] * 10,
                         [StageUsage(s, 10, 5, 1, 1, 1, 3) for s in DEFAULT_STAGES])


def test_report_reply_and_chart_at_their_largest():
    report = _report()
    payload = render.report_reply(report)
    check_message(payload)
    assert "<!channel>" not in str(payload)
    assert render.report_chart(report)[:4] == b"\x89PNG"
    assert render.report_csv(report).count("\n") == 401


def test_gaps_requests_modals_and_notices():
    request = RequestView(1, 7, "U0REP0001", LONG, LONG, "decision", date(2026, 12, 15), NOW)
    gaps = [GapSummary(i, LONG, 3, NOW, NOW, (LONG, LONG), 2) for i in range(40)]
    asked = {i: GapRequests(i, LONG, 2, (request,) * 3, NOW) for i in range(40)}
    for can_change in (True, False):
        check_message(render.gaps_reply(gaps, asked, can_change=can_change))
    check_view(render.request_modal(LONG, DEFAULT_STAGES, search_id=3, channel_id="C0SALES"))
    check_view(render.request_modal("", DEFAULT_STAGES, search_id=None, channel_id=""))
    filed = FiledRequest(request, LONG, 3)
    check_view(render.request_sent_view(filed, "C0MKTG"))
    check_message(render.request_post(filed))
    check_message(render.answer_notice(AnswerNotice("U0REP0001", 7, LONG, (LONG,),
                                                    AnswerItem(1, "Security overview", "https://c.example/s", LONG))))
    check_view(render.tag_modal(LONG[:300], 7))
    for block in render.requests_home_blocks(list(asked.values())):
        Block.parse(block).validate_json()


def test_report_periods():
    import pytest

    from bot.content.report import parse_period
    from bot.errors import InvalidInput

    assert parse_period("", NOW).start == NOW - timedelta(days=30)
    assert parse_period("12w", NOW).start == NOW - timedelta(days=84)
    assert parse_period("quarter", NOW).label == "the last 91 days"
    assert parse_period("since 2026-11-01", NOW).start == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_period("ALL", NOW).label == "all time"
    for bad in ("fortnight", "2026-13-01", "2027-01-01", "0d", "<!channel>"):
        with pytest.raises(InvalidInput):
            parse_period(bad, NOW)
