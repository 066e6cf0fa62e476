"""/content over real HTTP with Slack-signed requests, on SQLite and PostgreSQL.

The library is a 43-item slice of the bundled demo library. Its vectors are computed once per
test session and written into each test database's embedding cache, so each test imports the
library with the real model without re-embedding it (which also exercises the cache).
"""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from tests.conftest import make_settings, text_of
from tests.helpers import DEMO_SLICE, demo_slice_rows, import_content, search_content
from tests.slack_requests import plain_value

MARKETER = "U0MKT0001"
REP = "U0REP0001"


@pytest.fixture(scope="session")
def library_vectors(embedder):
    """{text_hash: vector} for every text of the slice, embedded once per session."""
    from content_index import ContentDoc, ContentIndex, InMemoryEmbeddingCache

    cache = InMemoryEmbeddingCache()
    index = ContentIndex(embedder, cache=cache)
    index.upsert([ContentDoc(id=r["id"], title=r["title"], summary=r["summary"], type=r["type"], stage=r["stage"],
                             persona=r["persona"], objections=tuple(r["objections"])) for r in demo_slice_rows()])
    return {h: v for (_, h), v in cache._data.items()}


def seed_library(services, vectors, rows=None):
    services.content.cache.put_many(services.embedder.model_id, vectors)
    return import_content(services, rows if rows is not None else demo_slice_rows())


@pytest.fixture
def content_app(slack_app, library_vectors):
    outcome = seed_library(slack_app.services, library_vectors)
    assert outcome.report.added == len(DEMO_SLICE) and outcome.embedded == 0
    slack_app.set_role(MARKETER, "marketer")
    return slack_app


def item_id_by_url(services, url: str) -> int:
    from bot.models.content import ContentItem

    with services.db.session() as session:
        return session.scalar(select(ContentItem.id).where(ContentItem.url == url))


def result_buttons(reply: dict) -> list[dict]:
    return [e for b in reply.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def mrkdwn_texts(reply: dict) -> str:
    out = []
    for block in reply.get("blocks", []):
        if "text" in block and isinstance(block["text"], dict):
            out.append(block["text"]["text"])
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("type") == "mrkdwn":
                out.append(element["text"])
    return "\n".join(out)


# --- search ------------------------------------------------------------------------------
def test_search_shows_top_three_with_reasons_and_buttons_and_is_recorded(content_app):
    from bot.models.content import ContentSearch

    reply = content_app.command("/content", "we're 2x the price of Vantage", user_id=REP)
    text = text_of(reply)
    assert reply["response_type"] == "ephemeral"
    assert "No good match" not in text
    assert text.count("[Share in channel] [Helpful] [Not helpful]") == 3
    assert "Vantage" in text and "_Why:_" in text
    assert "https://content.lumen.example/" in text
    assert " · Decision · " in text or " · Consideration · " in text
    with content_app.services.db.session() as session:
        search = session.scalars(select(ContentSearch)).one()
        assert search.user_id == REP and search.query == "we're 2x the price of Vantage"
        assert search.confident and len(search.result_ids) == 3
    values = [b["value"] for b in result_buttons(reply) if b["action_id"] != "content_more"]
    assert all(v.startswith(f"{search.id}:") and len(v) < 40 for v in values)


def test_inline_filters_and_unknown_filter_values(content_app):
    reply = content_app.command("/content", "type:case_study stage:decision our CFO says no budget this quarter")
    text = text_of(reply)
    assert "Case study · Decision" in text
    for line in text.splitlines():
        if " · " in line and not line.startswith(" "):
            assert line.startswith("Case study · Decision"), line
    bad = text_of(content_app.command("/content", "type:podcast persona:cfo too expensive"))
    assert "`type:podcast` is not a type I know" in bad and "case_study" in bad and "battlecard" in bad
    bad_persona = text_of(content_app.command("/content", "persona:<!channel>ceo too expensive"))
    assert "persona" in bad_persona and "cfo" in bad_persona
    from bot.models.content import ContentSearch

    with content_app.services.db.session() as session:
        assert len(session.scalars(select(ContentSearch)).all()) == 1  # the rejected ones were not searched


def test_no_good_match_is_honest_and_becomes_a_gap_grouped_by_similarity(content_app):
    from bot.content.gaps import top_gaps

    reply = content_app.command("/content", "they need an on-prem install")
    text = text_of(reply)
    assert "No good match" in text and "weak match" in text and "content gap" in text
    content_app.clock.advance(days=1)
    content_app.command("/content", "customer requires an on-premises installation")
    content_app.command("/content", "they want a Mandarin user interface")
    with content_app.services.db.session() as session:
        gaps = top_gaps(session, 10, content_app.clock())
    assert gaps[0].objection == "they need an on-prem install" and gaps[0].count == 2
    assert gaps[0].last_seen == content_app.clock()
    assert len(gaps) == 2 and gaps[1].count == 1

    refused = text_of(content_app.command("/content", "gaps", user_id=REP))
    assert "only" in refused and "marketer" in refused
    listing = content_app.command("/content", "gaps", user_id=MARKETER)
    shown = text_of(listing)
    assert "they need an on-prem install" in shown and "Asked 2 times" in shown
    assert "customer requires an on-premises installation" in shown
    dismiss = [b for b in result_buttons(listing) if b["action_id"] == "content_gap_dismiss"][0]
    done = content_app.action("content_gap_dismiss", dismiss["value"], user_id=MARKETER)
    assert "Dismissed" in text_of(done)
    with content_app.services.db.session() as session:
        assert [g.objection for g in top_gaps(session, 10, content_app.clock())] == [
            "they want a Mandarin user interface"]


# --- share and feedback ----------------------------------------------------------------
def test_share_posts_in_channel_attributed_and_counts(content_app):
    from bot.content.usage import most_shared, share_count

    reply = content_app.command("/content", "we're 2x the price of Vantage")
    share = [b for b in result_buttons(reply) if b["action_id"] == "content_share"][0]
    posted = content_app.action("content_share", share["value"], user_id=REP)
    assert posted["response_type"] == "in_channel" and posted["replace_original"] is False
    assert f"Shared by <@{REP}>" in mrkdwn_texts(posted)
    item_id = int(share["value"].split(":")[1])
    now = content_app.clock()
    with content_app.services.db.session() as session:
        assert share_count(session, now.replace(hour=0), now.replace(hour=23)) == 1
        top = most_shared(session, now.replace(hour=0), 5)
        assert [(s.item_id, s.shares) for s in top] == [(item_id, 1)]
    stale = content_app.action("content_share", "not-a-number")
    assert "out of date" in text_of(stale)


def test_helpful_learns_the_phrasing_and_marketers_can_remove_it(content_app):
    services = content_app.services
    query = "prospect keeps asking how we bill for extra events"
    reply = content_app.command("/content", query)
    target_url = "https://content.lumen.example/pricing_faq/lumen-pricing-faq"
    target = item_id_by_url(services, target_url)
    search_id = result_buttons(reply)[0]["value"].split(":")[0]
    thanks = content_app.action("content_helpful", f"{search_id}:{target}", user_id=REP)
    assert "rank" in thanks["text"] and query in thanks["text"]
    assert services.content.wait_for_index()  # the index learns off the request path
    assert services.content.index.get(str(target)).learned == (query,)
    again = search_content(services, query, user_id=REP, record=False)
    assert again.results[0].item.id == target and again.results[0].reason_kind == "learned"
    unhelpful = content_app.action("content_not_helpful", f"{search_id}:{target}", user_id=REP)
    assert "didn't help" in unhelpful["text"]

    refused = text_of(content_app.command("/content", "learned pricing faq", user_id=REP))
    assert "only" in refused
    assert query in text_of(content_app.command("/content", "learned", user_id=MARKETER))
    listing = content_app.command("/content", "learned Pricing FAQ", user_id=MARKETER)
    assert query in text_of(listing)
    remove = [b["accessory"] for b in listing["blocks"] if b.get("accessory", {}).get("action_id") ==
              "content_learned_remove"][0]
    removed = content_app.action("content_learned_remove", remove["value"], user_id=MARKETER)
    assert "Removed" in removed["text"]
    assert services.content.wait_for_index()
    assert services.content.index.get(str(target)).learned == ()
    empty = text_of(content_app.command("/content", f"learned {target_url}", user_id=MARKETER))
    assert "none yet" in empty


# --- tagging --------------------------------------------------------------------------------
def _options(content_app, value: str, user_id=MARKETER) -> list[dict]:
    payload = {
        "type": "block_suggestion", "user": {"id": user_id, "team_id": "T0TEAM0001"},
        "team": {"id": "T0TEAM0001", "domain": "acme"}, "api_app_id": "A0REVALIGN",
        "token": "verification-token-deprecated", "action_id": "content_items", "block_id": "items",
        "value": value, "container": {"type": "view", "view_id": "V0TAG"},
        "view": {"id": "V0TAG", "type": "modal", "callback_id": "content_tag"},
    }
    result = content_app.send.interactive(payload)
    assert result.status == 200, result.body
    return result.json()["options"]


def test_marketers_tag_objections_from_a_modal(content_app):
    services = content_app.services
    refused = text_of(content_app.command("/content", "tag", user_id=REP))
    assert "Sorry, only" in refused and "marketers" in refused
    assert content_app.slack.calls_to("views.open") == []

    content_app.command  # a marketer opens the modal from the slash command
    content_app.send.command("/content", "tag", user_id=MARKETER)
    opened = content_app.slack.wait_for("views.open")[0].args
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == "content_tag"

    options = _options(content_app, "vantage")
    assert options and all("Vantage" in o["text"]["text"] for o in options[:3])
    assert len(_options(content_app, "")) > 10
    target = int(options[0]["value"])

    empty = content_app.send.view_submission("content_tag", {
        "objection": {"objection": plain_value("we're locked into a Vantage contract")},
        "items": {"content_items": {"type": "multi_external_select", "selected_options": []}}}, user_id=MARKETER)
    assert empty.json()["response_action"] == "errors"
    objection = "our legal team says the Vantage contract auto-renews"
    done = content_app.send.view_submission("content_tag", {
        "objection": {"objection": plain_value(objection)},
        "items": {"content_items": {"type": "multi_external_select",
                                    "selected_options": [{"value": str(target)}]}}}, user_id=MARKETER)
    assert done.status == 200 and done.json()["response_action"] == "update"
    assert services.content.wait_for_index()  # tagged off the request path
    assert objection in services.content.index.get(str(target)).objections
    result = search_content(services, "the Vantage contract auto-renews, says legal", user_id=REP, record=False)
    assert result.results[0].item.id == target and result.results[0].reason_kind == "tag"

    sneaky = content_app.send.view_submission("content_tag", {
        "objection": {"objection": plain_value("anything")},
        "items": {"content_items": {"type": "multi_external_select",
                                    "selected_options": [{"value": str(target)}]}}}, user_id=REP)
    assert sneaky.json()["response_action"] == "errors"


def test_tag_message_shortcut_and_gap_one_click_tagging(content_app):
    from bot.models.content import ContentGap

    content_app.send.message_shortcut("tag_objection", "prospect said: <!channel> we need it on-prem", user_id=REP)
    refusal = content_app.slack.wait_for("response_url")[0].args
    assert "only" in refusal["text"]
    content_app.send.message_shortcut("tag_objection", "prospect said: <!here> we need it on-prem",
                                      user_id=MARKETER)
    opened = content_app.slack.wait_for("views.open")[0].args
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    initial = view["blocks"][0]["element"]["initial_value"]
    assert initial == "prospect said: we need it on-prem"

    content_app.command("/content", "they need an on-prem install")
    listing = content_app.command("/content", "gaps", user_id=MARKETER)
    tag_button = [b for b in result_buttons(listing) if b["action_id"] == "content_gap_tag"][0]
    content_app.send.block_action("content_gap_tag", tag_button["value"], user_id=MARKETER)
    opened = content_app.slack.wait_for("views.open", 2)[1].args
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["blocks"][0]["element"]["initial_value"] == "they need an on-prem install"
    item = item_id_by_url(content_app.services, "https://content.lumen.example/security_doc/security-overview")
    done = content_app.send.view_submission("content_tag", {
        "objection": {"objection": plain_value("they need an on-prem install")},
        "items": {"content_items": {"type": "multi_external_select", "selected_options": [{"value": str(item)}]}}},
        user_id=MARKETER, private_metadata=view["private_metadata"])
    assert done.json()["response_action"] == "update"
    with content_app.services.db.session() as session:
        assert session.get(ContentGap, int(tag_button["value"])).status == "tagged"
    assert content_app.services.content.wait_for_index()
    again = text_of(content_app.command("/content", "they need an on-prem install"))
    assert "No good match" not in again and "tagged “they need an on-prem install”" in again


# --- bad input --------------------------------------------------------------------------------
def test_help_and_bad_input_get_clear_replies(content_app):
    for text in ("", "help"):
        shown = text_of(content_app.command("/content", text))
        assert "/content we're 2x the price of Vantage" in shown and "type:case_study" in shown
    emoji = text_of(content_app.command("/content", "🙄🔥💸"))
    assert "in words" in emoji
    only_filters = text_of(content_app.command("/content", "type:case_study"))
    assert "in words" in only_filters
    paste = "Prospect email follows. " + "We are worried the price is too high for our team. " * 80
    long_reply = content_app.command("/content", paste[:4000])
    assert "…" in mrkdwn_texts(long_reply) and len(long_reply["blocks"][0]["text"]["text"]) < 400
    german = text_of(content_app.command("/content", "Das ist uns leider viel zu teuer"))
    assert "[Share in channel]" in german or "No good match" in german
    ping = content_app.command("/content", "<!channel> <@U0BOSS01|boss> says it's too expensive")
    raw = json.dumps(ping)
    assert "<!channel>" not in raw and "<@U0BOSS01" not in raw
    assert "too expensive" in text_of(ping)
    html = content_app.command("/content", "<script>alert(1)</script> too expensive")
    assert "<script>" not in mrkdwn_texts(html) and "&lt;script&gt;" in mrkdwn_texts(html)


def test_item_with_empty_summary_is_imported_and_found(content_app, library_vectors):
    row = {"title": "Lumen Mainframe Connector Note", "url": "https://content.lumen.example/one_pager/mainframe",
           "type": "one_pager", "stage": "consideration", "persona": "it_security", "summary": "",
           "objections": ["mainframe data"]}
    outcome = seed_library(content_app.services, library_vectors, [row])
    assert outcome.report.added == 1 and outcome.embedded >= 1
    shown = text_of(content_app.command("/content", "can it read our mainframe data?"))
    assert "Lumen Mainframe Connector Note" in shown


# --- the index: cache and sync across processes ------------------------------------------------
def test_reimport_embeds_nothing_and_a_changed_summary_embeds_only_its_text(content_app, library_vectors):
    services = content_app.services
    rows = demo_slice_rows()
    again = seed_library(services, library_vectors, rows)
    assert (again.report.unchanged, again.report.added, again.report.updated) == (len(rows), 0, 0)
    assert again.embedded == 0
    rows[0] = {**rows[0], "summary": rows[0]["summary"] + " Seats can be moved between teams at any time."}
    changed = seed_library(services, library_vectors, rows)
    assert changed.report.updated == 1 and 1 <= changed.embedded <= 3
    # A new process builds its index from the database cache without embedding anything.
    from bot.content.resources import ContentResources

    fresh = ContentResources(services)
    fresh.keeper.ensure_loaded()
    assert fresh.keeper.last_load_stats.embedded == 0 and len(fresh.index) == len(rows)
    # Vectors are keyed by model: another model finds none of them.
    hashes = list(library_vectors)[:5]
    assert len(services.content.cache.get_many(services.embedder.model_id, hashes)) == 5
    assert services.content.cache.get_many("another-model", hashes) == {}


def test_a_second_process_on_the_same_database_follows_changes(content_app, database_url, embedder, library_vectors):
    from bot.services import Services

    other = Services(make_settings(database_url, content_app.slack.api_url), clock=content_app.clock,
                     embedder=embedder)
    try:
        other.content.keeper.poll_seconds = 0.2
        other.content.start()
        assert len(other.content.index) == len(DEMO_SLICE)
        row = {"title": "Lumen for Airline Crew Scheduling", "url": "https://content.lumen.example/case_study/air",
               "type": "case_study", "stage": "decision", "persona": "ops_leader",
               "summary": "Skyward Air schedules 4,000 cabin crew with Lumen dashboards.",
               "objections": ["airline crew rostering"]}
        seed_library(content_app.services, library_vectors, [row])
        new_id = item_id_by_url(content_app.services, row["url"])

        def wait_until(condition, what: str, timeout: float = 20.0) -> None:
            deadline = time.monotonic() + timeout
            while not condition():
                assert time.monotonic() < deadline, f"the other process never saw {what}"
                time.sleep(0.1)

        wait_until(lambda: str(new_id) in other.content.index, "the new item")
        found = search_content(other, "our airline crew rostering is a mess", user_id=REP, record=False)
        assert found.results[0].item.id == new_id
        from bot.content import catalog

        services = content_app.services
        with services.db.session() as session:
            catalog.delete_item(session, services.content.keeper, row["url"])
        assert services.content.wait_for_index()  # this process drops it right after the commit
        assert str(new_id) not in services.content.index
        wait_until(lambda: str(new_id) not in other.content.index, "the deletion")
    finally:
        other.close()


def test_this_process_applies_a_change_to_its_index_only_once_the_transaction_commits(content_app):
    """The domain logs changes in the caller's transaction; the index re-reads them after the
    commit, not when a savepoint inside it is released (it would read the old rows)."""
    from bot.models.content import ContentItem

    services = content_app.services
    keeper = services.content.keeper
    target = item_id_by_url(services, demo_slice_rows()[0]["url"])

    def objections() -> tuple[str, ...]:
        assert keeper.wait_idle()
        return services.content.index.get(str(target)).objections

    with services.db.session() as session:
        with session.begin_nested():
            item = session.get(ContentItem, target)
            item.objections = [*item.objections, "our board wants a second vendor"]
            keeper.note_changes(session, [item.id])
        assert "our board wants a second vendor" not in objections()  # savepoint released: not yet
    assert "our board wants a second vendor" in objections()  # committed: applied
    with pytest.raises(RuntimeError), services.db.session() as session:
        session.get(ContentItem, target).objections = ["nothing of this is kept"]
        keeper.note_changes(session, [target])
        raise RuntimeError("the request failed")
    assert "our board wants a second vendor" in objections()


def test_sync_picks_up_change_ids_committed_out_of_order(services, library_vectors):
    """PostgreSQL can commit a smaller change id after a larger one: the poller looks again for skipped ids."""
    from bot.content import library
    from bot.models.content import ContentChange, ContentItem

    reader = services.content
    reader.keeper.ensure_loaded()
    rows = demo_slice_rows()[:2]
    with services.db.session() as session:  # items written without logging (as if mid-transaction elsewhere)
        for i, row in enumerate(rows, start=1):
            data = library.validate_row(row, reader.vocabulary)
            session.add(ContentItem(id=i, url=data.url, title=data.title, type=data.type, stage=data.stage,
                                    persona=data.persona, summary=data.summary, objections=list(data.objections)))
        session.add(ContentChange(id=7, item_id=2))
    reader.cache.put_many(services.embedder.model_id, library_vectors)
    assert reader.keeper.sync() == 1 and "2" in reader.index and "1" not in reader.index
    with services.db.session() as session:
        session.add(ContentChange(id=5, item_id=1))  # the "late" commit of an earlier id
    assert reader.keeper.sync() == 1 and "1" in reader.index
    assert reader.keeper.sync() == 0
