"""App Home: role, funnel, KPIs against targets, the next meeting and its agenda, gaps for marketers."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.render.blocks import render_blocks


def open_home(slack_app, user_id: str, event_id: str) -> str:
    before = len(slack_app.slack.calls_to("views.publish"))
    result = slack_app.send.event({"type": "app_home_opened", "user": user_id, "channel": "D0HOME001",
                                   "tab": "home", "event_ts": "1764000000.000100"}, event_id=event_id)
    assert result.status == 200
    call = slack_app.slack.wait_for("views.publish", before + 1)[before]
    assert call.args["user_id"] == user_id
    view = call.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    return render_blocks(view["blocks"]).replace("*", "")


def test_home_for_a_marketer_and_a_rep(slack_app):
    from bot.content.gaps import add_to_gap
    from bot.kpis import demo as kpis_demo
    from bot.lead_defs import service as ld
    from bot.meetings import agenda as ag
    from bot.meetings import schedules as sch

    services, now = slack_app.services, slack_app.clock()
    slack_app.set_role("U0MKT0001", "marketer")
    kpis_demo.seed(services)
    with services.db.session() as session:
        ld.seed_defaults(session, now - timedelta(days=10))
        add_to_gap(session, None, "Do you integrate with <b>Salesforce</b> CPQ?", now - timedelta(days=1))
        ag.add_item(session, "U0REP0001", "Lead routing for EMEA <!channel>", now)
        ag.add_action(session, "U0ADMIN01", "U0MKT0001", (now - timedelta(days=2)).date(), "Refresh the deck", now)
        sch.set_meeting(session, sch.parse_schedule("weekly tue 10:00 America/New_York C0SALESMKT".split()),
                        by="U0ADMIN01", now=now)
    home = open_home(slack_app, "U0MKT0001", "Ev0HOME1")
    assert "You are a marketer" in home
    assert "The funnel" in home and "MQL" in home
    assert "KPIs this week (2026-W48) against targets" in home and "SQLs: 14" in home and "target" in home
    assert "Next meeting" in home and "Lead routing for EMEA <!channel>" in home
    assert "Refresh the deck" in home and "overdue" in home
    assert "Open content gaps" in home and "Do you integrate with <b>Salesforce</b> CPQ?" in home

    rep_home = open_home(slack_app, "U0REP0001", "Ev0HOME2")
    assert "You are a rep" in rep_home and "Open content gaps" not in rep_home
    assert "Lead routing for EMEA" in rep_home
    raw = json.dumps(slack_app.slack.calls_to("views.publish")[-1].args)
    assert "<!channel>" not in raw
