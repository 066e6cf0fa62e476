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
    from slack_sdk.models.views import View

    View(**{k: v for k, v in view.items() if k in ("type", "blocks")}).validate_json()   # Slack's own model
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


def test_heads_see_proposals_waiting_for_them_stale_definitions_and_their_overdue_actions(slack_app):
    from sqlalchemy import update

    from bot.lead_defs import service as ld
    from bot.meetings import agenda as ag
    from bot.models.lead_defs import LeadDefinition
    from tests.e2e.test_lead_def import _propose

    services = slack_app.services
    marketer, mkt_head, sales_head = "U0MKTR0001", "U0MKTH0001", "U0SLSH0001"
    for user, role in ((marketer, "marketer"), (mkt_head, "marketing_head"), (sales_head, "sales_head")):
        slack_app.set_role(user, role)
    with services.db.session() as session:
        ld.seed_defaults(session, slack_app.clock())
        session.execute(update(LeadDefinition).values(reviewed_at=slack_app.clock() - timedelta(days=100)))
    proposal_id, _ = _propose(slack_app, marketer, "SQL", sla="Within 3 business days",
                              summary="Faster <!channel> meetings")
    now = slack_app.clock()
    with services.db.session() as session:
        ag.add_action(session, marketer, sales_head, (now - timedelta(days=3)).date(), "Fix the SLA report", now)
        ag.add_action(session, marketer, sales_head, (now + timedelta(days=3)).date(), "Not yet due", now)
        ag.add_action(session, marketer, mkt_head, (now - timedelta(days=1)).date(), "Someone else's", now)

    home = open_home(slack_app, sales_head, "Ev0HEAD1")
    mine = home[home.index("YOUR WORK AS A DEPARTMENT HEAD"):home.index("The funnel")]
    assert "Proposals waiting for your approval (sales)" in mine
    assert "SQL — Faster <!channel> meetings (by @U0MKTR0001, waiting for marketing head and sales head)" in mine
    assert "[Approve]" in mine and "[Mark reviewed]" in mine
    assert "Definitions not reviewed in 90 days" in mine and "BOFU — last reviewed 2026-08-16 (100 days ago)" in mine
    assert "Your overdue actions" in mine and "Fix the SLA report" in mine
    assert "Not yet due" not in mine and "Someone else's" not in mine
    raw = json.dumps(slack_app.slack.calls_to("views.publish")[-1].args)
    assert "<!channel>" not in raw

    # Approving from Home: a DM says what happened and Home is published again without it.
    publishes = len(slack_app.slack.calls_to("views.publish"))
    result = slack_app.send.interactive(home_button("lead_def_approve", proposal_id, mkt_head))
    assert result.status == 200
    [call] = slack_app.slack.wait_for("views.publish", publishes + 1)[publishes:]
    after = render_blocks(json.loads(call.args["view"]) ["blocks"] if isinstance(call.args["view"], str)
                          else call.args["view"]["blocks"]).replace("*", "")
    assert "Proposals waiting for your approval\n_None" in after or "None — you are up to date" in after
    dm = [c.args for c in slack_app.slack.calls_to("chat.postMessage") if c.args.get("channel") == mkt_head]
    assert dm and "Your approval for marketing is recorded" in dm[-1]["text"]
    # The sales head still sees it; a rep sees no heads' section.
    assert "waiting for sales head" in open_home(slack_app, sales_head, "Ev0HEAD2")
    assert "YOUR WORK AS A DEPARTMENT HEAD" not in open_home(slack_app, "U0REP0001", "Ev0HEAD3")


def home_button(action_id: str, value: str, user_id: str) -> dict:
    """A button press on App Home as Slack sends it: a view container and no response_url."""
    import time

    from bot.slack_payloads import API_APP_ID, TEAM_DOMAIN, TEAM_ID

    return {
        "type": "block_actions", "api_app_id": API_APP_ID, "token": "verification-token-deprecated",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
        "container": {"type": "view", "view_id": "V0HOME01"}, "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN}, "enterprise": None, "is_enterprise_install": False,
        "view": {"id": "V0HOME01", "type": "home", "blocks": [], "state": {"values": {}}, "hash": "1.2",
                 "app_id": API_APP_ID, "team_id": TEAM_ID},
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                     "action_ts": f"{time.time():.6f}"}],
    }
