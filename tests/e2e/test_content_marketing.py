"""Marketing's loop over signed HTTP, on SQLite and PostgreSQL: the content report, who may read
and change gaps, gaps that close themselves when content answers them, and reps' content requests
through to the DM that tells them their content exists.

Command text is sent entity-encoded, the way Slack sends it (`&amp;`, `&lt;`, `&gt;`).
"""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.conftest import text_of
from tests.e2e.test_content import (  # noqa: F401 - fixtures
    MARKETER,
    REP,
    content_app,
    item_id_by_url,
    library_vectors,
    mrkdwn_texts,
    result_buttons,
)
from tests.slack_requests import plain_value

SALES_HEAD = "U0SHEAD01"
MARKETING_HEAD = "U0MHEAD01"
REP2 = "U0REP0002"
MARKETING_CHANNEL = "C0MKTG0001"
SECURITY = "https://content.lumen.example/security_doc/security-overview"



def dm_channel(user_id: str) -> str:
    return "D" + user_id[1:]  # what the fake Slack's conversations.open answers


def posted_to(app, channel: str) -> list[dict]:
    return [m for m in app.slack.posted_messages() if m.get("channel") == channel]


def _view(call) -> dict:
    view = call.args["view"]
    return view if isinstance(view, dict) else json.loads(view)


def last_search_id(services) -> int:
    from bot.models.content import ContentSearch

    with services.db.session() as session:
        return session.scalar(select(ContentSearch.id).order_by(ContentSearch.id.desc()).limit(1))


def gap_row(services, gap_id: int):
    from bot.models.content import ContentGap

    with services.db.session() as session:
        gap = session.get(ContentGap, gap_id)
        session.expunge(gap)
        return gap


def tag_via_modal(app, objection: str, item_id: int, private_metadata: str = "") -> dict:
    done = app.send.view_submission("content_tag", {
        "objection": {"objection": plain_value(objection)},
        "items": {"content_items": {"type": "multi_external_select", "selected_options": [{"value": str(item_id)}]}}},
        user_id=MARKETER, private_metadata=private_metadata)
    assert done.status == 200, done.body
    return done.json()


# --- the report ------------------------------------------------------------------------------
def test_report_shows_usage_unused_and_not_helpful_with_phrasings(content_app):  # noqa: F811 - the fixture
    app = content_app
    services = app.services
    app.set_role(SALES_HEAD, "sales_head")
    price = "we're 2x the price of Vantage & <Acme> won't pay"
    reply = app.command("/content", (price), user_id=REP)
    buttons = result_buttons(reply)
    share = next(b for b in buttons if b["action_id"] == "content_share")
    unhelpful = [b for b in buttons if b["action_id"] == "content_not_helpful"][1]
    app.action("content_share", share["value"], user_id=REP)
    app.action("content_not_helpful", unhelpful["value"], user_id=REP)
    app.command("/content", (price), user_id=REP2)
    app.command("/content", "they need an on-prem install", user_id=REP2)

    from bot.content.report import build_report, parse_period

    with services.db.session() as session:
        report = build_report(session, parse_period("30d", app.clock()))
    shared_id, disliked_id = int(share["value"].split(":")[1]), int(unhelpful["value"].split(":")[1])
    by_id = {i.id: i for i in report.items}
    from bot.models.content import ContentSearch

    with services.db.session() as session:
        shown_lists = [s.result_ids for s in session.scalars(select(ContentSearch))]
    for item in report.items:  # the SQL unnesting agrees with counting in Python
        assert item.shown == sum(item.id in ids for ids in shown_lists), item.title
    assert by_id[shared_id].shown >= 2 and by_id[shared_id].shares == 1
    assert by_id[disliked_id].not_helpful == 1 and by_id[disliked_id].not_helpful_phrasings == (price,)
    assert by_id[disliked_id].last_used == app.clock()
    assert report.searches == 3 and report.no_match_searches == 1 and report.shares == 1
    assert report.top_objections[0].text == price and report.top_objections[0].searches == 2
    never_shown = {i.id for g in report.unused for i in g.never_shown}
    assert shared_id not in never_shown and disliked_id not in never_shown
    assert len(never_shown) >= len(report.items) - 6 and report.unused_count == len(report.items) - 1

    refused = text_of(app.command("/content", "report", user_id=REP))
    assert "Sorry, only" in refused and "sales heads" in refused
    shown = app.command("/content", "report 7d", user_id=SALES_HEAD)
    text = text_of(shown)
    assert "CONTENT REPORT · THE LAST 7 DAYS" in text
    assert "Not helpful most often" in text and "Objections searched most" in text and "Unused" in text
    blocks_text = mrkdwn_texts(shown)
    # Stored plain, escaped once when shown: no double escaping, no raw markup.
    assert "we're 2x the price of Vantage &amp; &lt;Acme&gt; won't pay" in blocks_text
    assert "&amp;amp;" not in json.dumps(shown) and "<Acme>" not in json.dumps(shown)
    assert "never shown" in text and f"shown {by_id[shared_id].shown} · shared 1" in text
    upload = app.slack.wait_for("files.completeUploadExternal")[0].args
    assert upload["channel_id"] == dm_channel(SALES_HEAD)

    bad = text_of(app.command("/content", "report fortnight", user_id=MARKETER))
    assert "I don't know the period" in bad and "30d" in bad


def test_cli_report_as_table_csv_and_chart(content_app, database_url, tmp_path, monkeypatch):  # noqa: F811 - the fixture
    from typer.testing import CliRunner

    from bot.cli import cli

    app = content_app
    reply = app.command("/content", "we're 2x the price of Vantage", user_id=REP)
    unhelpful = next(b for b in result_buttons(reply) if b["action_id"] == "content_not_helpful")
    app.action("content_not_helpful", unhelpful["value"], user_id=REP)
    monkeypatch.chdir(tmp_path)
    runner, env = CliRunner(), {"DATABASE_URL": database_url}
    table = runner.invoke(cli, ["content", "report", "--since", "all", "--chart", str(tmp_path / "usage.png")],
                          env=env)
    assert table.exit_code == 0, table.output
    assert "Content report · all time" in table.stdout and "Not helpful most often:" in table.stdout
    assert "we're 2x the price of Vantage" in table.stdout and "never shown" in table.stdout
    assert (tmp_path / "usage.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    as_csv = runner.invoke(cli, ["content", "report", "--since", "all", "--format", "csv"], env=env)
    rows = as_csv.stdout.splitlines()
    assert rows[0].startswith("id,title,url,type,stage,persona,shown,shares,helpful,not_helpful,last_used,unused")
    assert len(rows) == 1 + 43
    disliked = next(r for r in rows[1:] if r.startswith(unhelpful["value"].split(":")[1] + ","))
    assert ",1,0,0,1," in disliked and "we're 2x the price of Vantage" in disliked
    wrong = runner.invoke(cli, ["content", "report", "--format", "xml"], env=env)
    assert wrong.exit_code != 0


# --- permissions -------------------------------------------------------------------------------
def test_heads_read_gaps_only_marketing_changes_them(content_app):  # noqa: F811 - the fixture
    app = content_app
    app.set_role(SALES_HEAD, "sales_head")
    app.set_role(MARKETING_HEAD, "marketing_head")
    app.command("/content", "they need an on-prem install", user_id=REP)

    assert "Sorry, only" in text_of(app.command("/content", "gaps", user_id=REP))
    for head in (SALES_HEAD, MARKETING_HEAD):
        assert "they need an on-prem install" in text_of(app.command("/content", "gaps", user_id=head))
    sales_view = app.command("/content", "gaps", user_id=SALES_HEAD)
    assert not [b for b in result_buttons(sales_view) if b["action_id"].startswith("content_gap_")]
    marketing_view = app.command("/content", "gaps", user_id=MARKETING_HEAD)
    dismiss = next(b for b in result_buttons(marketing_view) if b["action_id"] == "content_gap_dismiss")
    # A sales head pressing a stale button changes nothing.
    refused = app.action("content_gap_dismiss", dismiss["value"], user_id=SALES_HEAD)
    assert "Sorry, only" in text_of(refused)
    app.send.block_action("content_gap_tag", dismiss["value"], user_id=SALES_HEAD)
    assert "Sorry, only" in app.slack.last_response()["text"] and app.slack.calls_to("views.open") == []
    assert gap_row(app.services, int(dismiss["value"])).status == "open"
    assert "Dismissed" in text_of(app.action("content_gap_dismiss", dismiss["value"], user_id=MARKETER))


# --- gaps that close themselves ---------------------------------------------------------------------
def test_gap_closes_itself_when_tagging_through_content_tag_answers_it(content_app):  # noqa: F811 - the fixture
    app = content_app
    services = app.services
    app.command("/content", "they need an on-prem install", user_id=REP)
    app.command("/content", "they want a Mandarin user interface", user_id=REP)
    on_prem_gap = gap_row_for(services, "they need an on-prem install")
    mandarin_gap = gap_row_for(services, "they want a Mandarin user interface")

    # `/content tag` (not the gap's button): the modal has no gap in its metadata.
    app.send.command("/content", ("tag customer needs an on-prem & self-hosted install"), user_id=MARKETER)
    view = _view(app.slack.wait_for("views.open")[0])
    assert view["blocks"][0]["element"]["initial_value"] == "customer needs an on-prem & self-hosted install"
    security = item_id_by_url(services, SECURITY)
    assert tag_via_modal(app, "they need to install it on-prem", security, view["private_metadata"])[
        "response_action"] == "update"

    note = app.slack.wait_for("chat.postMessage")[0].args
    assert note["channel"] == dm_channel(MARKETER) and "closed 1 content gap" in note["text"]
    gap = gap_row(services, on_prem_gap)
    assert (gap.status, gap.answered_item_id, gap.resolved_by) == ("answered", security, MARKETER)
    assert gap_row(services, mandarin_gap).status == "open"
    listing = text_of(app.command("/content", "gaps", user_id=MARKETER))
    assert "on-prem" not in listing and "Mandarin" in listing


def gap_row_for(services, objection: str) -> int:
    from bot.models.content import ContentGap

    with services.db.session() as session:
        return session.scalar(select(ContentGap.id).where(ContentGap.objection == objection))


def test_gap_closes_itself_after_an_import_and_its_requester_is_told(
        content_app, database_url, tmp_path, monkeypatch):  # noqa: F811 - the fixture
    from typer.testing import CliRunner

    from bot.cli import cli

    app = content_app
    services = app.services
    app.command("/content", "they want a Mandarin user interface", user_id=REP)
    search_id = last_search_id(services)
    app.send.block_action("content_request", str(search_id), user_id=REP)
    view = _view(app.slack.wait_for("views.open")[0])
    submitted = app.send.view_submission("content_request", {"need": {"need": plain_value("Mandarin UI for Acme")}},
                                         user_id=REP, private_metadata=view["private_metadata"])
    assert submitted.json()["response_action"] == "update"
    gap_id = gap_row_for(services, "they want a Mandarin user interface")

    library = tmp_path / "more.jsonl"
    library.write_text(json.dumps({
        "title": "Lumen in Mandarin, Japanese and Korean", "url": "https://content.lumen.example/one_pager/cjk",
        "type": "one_pager", "stage": "consideration", "persona": "end_user",
        "summary": "Lumen's interface is fully translated into Simplified Chinese (Mandarin), Japanese and Korean.",
        "objections": ["we need a Mandarin user interface"]}) + "\n")
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": "xoxb-test-0000-token", "SLACK_API_URL": app.slack.api_url}
    result = CliRunner().invoke(cli, ["content", "import", str(library)], env=env)
    assert result.exit_code == 0, result.output
    assert "Gap answered: “they want a Mandarin user interface” by Lumen in Mandarin" in result.stdout
    assert "1 requester(s) told by DM" in result.stdout
    gap = gap_row(services, gap_id)
    assert gap.status == "answered" and gap.resolved_by == "import"
    dm = posted_to(app, dm_channel(REP))
    assert len(dm) == 1 and "https://content.lumen.example/one_pager/cjk" in json.dumps(dm[0])
    again = CliRunner().invoke(cli, ["content", "import", str(library)], env=env)
    assert again.exit_code == 0 and len(posted_to(app, dm_channel(REP))) == 1


# --- content requests --------------------------------------------------------------------------------
def test_content_request_from_a_no_match_reply_to_the_requesters_dm(content_app):  # noqa: F811 - the fixture
    app = content_app
    services = app.services
    services.settings.marketing_channel = MARKETING_CHANNEL
    reply = app.command("/content", ("they need an on-prem install & <SSO>"), user_id=REP)
    assert "No good match" in text_of(reply)
    search_id = last_search_id(services)

    app.send.block_action("content_request", str(search_id), user_id=REP)
    view = _view(app.slack.wait_for("views.open")[0])
    assert view["callback_id"] == "content_request"
    assert view["blocks"][0]["element"]["initial_value"] == "they need an on-prem install & <SSO>"
    past = app.send.view_submission("content_request", {
        "need": {"need": plain_value("on-prem case study")},
        "due": {"due": {"type": "datepicker", "selected_date": "2020-01-01"}}},
        user_id=REP, private_metadata=view["private_metadata"])
    assert past.json()["response_action"] == "errors" and "due" in past.json()["errors"]
    done = app.send.view_submission("content_request", {
        "need": {"need": plain_value("An on-prem install case study for a hospital & <Acme Health>")},
        "prospect": {"prospect": plain_value("Acme Health")},
        "stage": {"stage": {"type": "static_select", "selected_option": {"value": "decision"}}},
        "due": {"due": {"type": "datepicker", "selected_date": "2026-12-15"}}},
        user_id=REP, private_metadata=view["private_metadata"])
    assert done.json()["response_action"] == "update"
    assert MARKETING_CHANNEL in json.dumps(done.json()["view"])
    post = app.slack.wait_for("chat.postMessage")[0].args
    assert post["channel"] == MARKETING_CHANNEL
    posted = json.dumps(post)
    assert "&amp; &lt;Acme Health&gt;" in posted and "<Acme Health>" not in posted and f"<@{REP}>" in posted
    assert "Dec 15, 2026" in posted and "Decision" in posted

    # A second rep asks with /content request; similar words land on the same gap.
    app.send.command("/content", ("request customer requires an on-premises installation"),
                     user_id=REP2)
    second_view = _view(app.slack.wait_for("views.open", 2)[1])
    assert second_view["blocks"][0]["element"]["initial_value"] == "customer requires an on-premises installation"
    app.send.view_submission("content_request", {"need": {"need": plain_value(
        "customer requires an on-premises installation")}}, user_id=REP2,
        private_metadata=second_view["private_metadata"])
    second_post = app.slack.wait_for("chat.postMessage", 2)[1].args
    assert "2 reps have asked" in second_post["text"] + json.dumps(second_post.get("blocks"))

    listing = app.command("/content", "gaps", user_id=MARKETER)
    shown = text_of(listing)
    assert "2 requested content" in shown and "Acme Health" in shown and f"@{REP2}" in shown

    # Marketing answers it from the gap's own button: both requesters are told, once.
    tag = next(b for b in result_buttons(listing) if b["action_id"] == "content_gap_tag")
    app.send.block_action("content_gap_tag", tag["value"], user_id=MARKETER)
    tag_view = _view(app.slack.wait_for("views.open", 3)[2])
    security = item_id_by_url(services, SECURITY)
    app.slack.fail("chat.postMessage", slack_error="channel_not_found", times=1)  # the first DM fails once
    tag_via_modal(app, "they need an on-prem install", security, tag_view["private_metadata"])
    app.slack.wait_for("chat.postMessage", 3)
    assert gap_row(services, int(tag["value"])).status == "tagged"
    dms = {u: posted_to(app, dm_channel(u)) for u in (REP, REP2)}
    assert sum(len(v) for v in dms.values()) == 1  # one went out, the failed one waits for the next run

    from bot.content.gap_closing import after_content_change

    outcome = after_content_change(services, services.slack, by="test")
    assert outcome.notified == 1
    after_content_change(services, services.slack, by="test")  # nothing left to send
    for user in (REP, REP2):
        sent = posted_to(app, dm_channel(user))
        assert len(sent) == 1, user
        assert SECURITY in json.dumps(sent[0]) and "answered your content request" in json.dumps(sent[0])


def test_request_bad_input_is_refused_kindly(content_app):  # noqa: F811 - the fixture
    app = content_app
    app.command("/content", "they want a Mandarin user interface", user_id=REP)
    search_id = last_search_id(app.services)
    app.send.block_action("content_request", str(search_id), user_id=REP)
    view = _view(app.slack.wait_for("views.open")[0])
    for values, field in (({"need": {"need": plain_value("🙄🔥")}}, "need"),
                          ({"need": {"need": plain_value("ok")},
                            "stage": {"stage": {"type": "static_select", "selected_option": {"value": "nope"}}}},
                           "stage")):
        refused = app.send.view_submission("content_request", values, user_id=REP,
                                           private_metadata=view["private_metadata"])
        assert refused.json()["response_action"] == "errors" and field in refused.json()["errors"]
    stale = app.action("content_request", "not-a-search", user_id=REP)
    assert "out of date" in text_of(stale)
    gone = app.action("content_request", "999999", user_id=REP)
    assert "too old" in text_of(gone)
    from bot.models.content import ContentRequest

    with app.services.db.session() as session:
        assert session.scalars(select(ContentRequest)).all() == []


def test_marketing_summary_and_home_list_requests(content_app, database_url, tmp_path, monkeypatch):  # noqa: F811 - the fixture
    from bot.content.summary import marketing_summary
    from bot.render import blocks as bk
    from bot.render import content as render

    monkeypatch.chdir(tmp_path)
    app = content_app
    app.command("/content", "they want a Mandarin user interface", user_id=REP)
    search_id = last_search_id(app.services)
    app.send.block_action("content_request", str(search_id), user_id=REP)
    view = _view(app.slack.wait_for("views.open")[0])
    app.send.view_submission("content_request", {"need": {"need": plain_value("Mandarin UI one-pager")}},
                             user_id=REP, private_metadata=view["private_metadata"])
    reply = app.command("/content", "we're 2x the price of Vantage", user_id=REP)
    unhelpful = next(b for b in result_buttons(reply) if b["action_id"] == "content_not_helpful")
    app.action("content_not_helpful", unhelpful["value"], user_id=REP)
    with app.services.db.session() as session:
        summary = marketing_summary(session, app.clock())
    text = bk.render_blocks(render.summary_blocks(summary))
    assert "they want a Mandarin user interface" in text and "1 requested" in text
    assert "Not helpful" in text and "Unused this week" in text

    app.send.event({"type": "app_home_opened", "user": MARKETER, "channel": "D0HOME", "tab": "home",
                    "event_ts": "1700000000.000300"})
    home = _view(app.slack.wait_for("views.publish")[0])
    assert "Content requests from reps" in json.dumps(home) and "Mandarin UI one-pager" in json.dumps(home)
    assert "1 requested content" in json.dumps(home)  # on the gap itself, as the agenda shows it

    from typer.testing import CliRunner

    from bot.cli import cli

    printed = CliRunner().invoke(cli, ["content", "summary"], env={"DATABASE_URL": database_url})
    assert printed.exit_code == 0, printed.output
    assert "MARKETING'S WEEK IN CONTENT" in printed.stdout
    unset = CliRunner().invoke(cli, ["content", "summary", "--post"], env={"DATABASE_URL": database_url})
    assert unset.exit_code != 0


def test_a_request_for_something_the_library_already_answers_stays_open(content_app):  # noqa: F811 - the fixture
    """The rep saw confident results and still asked: those results do not close the request's gap."""
    app = content_app
    services = app.services
    app.send.command("/content", "request we're 2x the price of Vantage", user_id=REP)
    view = _view(app.slack.wait_for("views.open")[0])
    done = app.send.view_submission("content_request", {"need": {"need": plain_value(
        "we're 2x the price of Vantage")}}, user_id=REP, private_metadata=view["private_metadata"])
    assert done.json()["response_action"] == "update"
    gap_id = gap_row_for(services, "we're 2x the price of Vantage")
    assert gap_id is not None

    from bot.content.gap_closing import after_content_change

    outcome = after_content_change(services, services.slack, by="test")
    assert outcome.closed == [] and gap_row(services, gap_id).status == "open"
    assert "1 requested content" in text_of(app.command("/content", "gaps", user_id=MARKETER))
