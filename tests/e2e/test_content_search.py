"""/content results over signed HTTP, on SQLite and PostgreSQL: More results, feedback that
belongs to the searcher, Not-helpful demotion, thread-aware Share, Request content on no match.

The library is a 43-item slice of the bundled demo library, embedded once per test session and
written into each test database's embedding cache (the real model; nothing re-embedded per test).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import text_of
from tests.helpers import DEMO_SLICE, demo_slice_rows, import_content, search_content

REP = "U0REP0001"
OTHER_REP = "U0REP0002"
PRICE = "we're 2x the price of Vantage"


@pytest.fixture(scope="session")
def slice_vectors(embedder):
    from content_index import ContentDoc, ContentIndex, InMemoryEmbeddingCache

    cache = InMemoryEmbeddingCache()
    ContentIndex(embedder, cache=cache).upsert([
        ContentDoc(id=r["id"], title=r["title"], summary=r["summary"], type=r["type"], stage=r["stage"],
                   persona=r["persona"], objections=tuple(r["objections"])) for r in demo_slice_rows()])
    return {h: v for (_, h), v in cache._data.items()}


@pytest.fixture
def app(slack_app, slice_vectors):
    services = slack_app.services
    services.content.cache.put_many(services.embedder.model_id, slice_vectors)
    outcome = import_content(services, demo_slice_rows())
    assert outcome.report.added == len(DEMO_SLICE)
    return slack_app


def buttons(reply: dict, action_id: str) -> list[dict]:
    return [e for b in reply.get("blocks", []) if b["type"] == "actions" for e in b["elements"]
            if e["action_id"] == action_id]


def valid_block_kit(reply: dict) -> bool:
    """Every block parses and validates with slack_sdk's own models (and fits a message)."""
    from slack_sdk.models.blocks import Block

    for raw in reply["blocks"]:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()
    return len(reply["blocks"]) <= 50


def shown_ids(reply: dict) -> list[int]:
    return [int(b["value"].split(":")[1]) for b in buttons(reply, "content_helpful")]


def event_count(services) -> int:
    from bot.models.content import ContentEvent, ContentLearned

    with services.db.session() as session:
        return int(session.scalar(select(func.count(ContentEvent.id))) or 0) + \
            int(session.scalar(select(func.count(ContentLearned.id))) or 0)


# --- More results --------------------------------------------------------------------------------
def test_more_results_extends_the_reply_in_place_and_the_new_items_take_feedback(app):
    reply = app.command("/content", PRICE)
    first = shown_ids(reply)
    assert len(first) == 3 and "[More results]" in text_of(reply)
    more = buttons(reply, "content_more")[0]
    extended = app.action("content_more", more["value"], user_id=REP)
    assert extended["replace_original"] is True
    ids = shown_ids(extended)
    assert ids[:3] == first and len(ids) == 6 and len(set(ids)) == 6
    assert valid_block_kit(reply) and valid_block_kit(extended)
    # the items More results showed belong to the search too: Helpful on the sixth is accepted
    search_id = more["value"]
    thanks = app.action("content_helpful", f"{search_id}:{ids[5]}", user_id=REP)
    assert "Thanks" in thanks["text"]
    # and until the library runs out (at most 10 in all), More results stays
    again = app.action("content_more", search_id, user_id=REP)
    assert len(shown_ids(again)) == 9


def test_more_results_belongs_to_the_searcher_and_the_page_size_setting_holds(app):
    reply = app.command("/content", PRICE)
    search_id = buttons(reply, "content_more")[0]["value"]
    refused = app.action("content_more", search_id, user_id=OTHER_REP)
    assert "Only <@U0REP0001>" in refused["text"] and "blocks" not in refused
    stale = app.action("content_more", "99999999999999999999", user_id=REP)
    assert "out of date" in stale["text"]


def test_content_results_setting_sets_the_page(services, fake_slack, clock, embedder, slice_vectors, database_url):
    from bot.content.search import more_results
    from bot.services import Services
    from tests.conftest import make_settings

    two = Services(make_settings(database_url, fake_slack.api_url, REVALIGN_CONTENT_RESULTS="2"), clock=clock,
                   embedder=embedder)
    try:
        two.content.cache.put_many(embedder.model_id, slice_vectors)
        import_content(two, demo_slice_rows())
        first = search_content(two, PRICE, user_id=REP)
        assert len(first.results) == 2 and first.has_more
        with two.db.session() as session:
            more = more_results(session, two.content.index, user_id=REP, search_id=first.search_id,
                                page=two.settings.content_results)
        assert len(more.results) == 4 and [r.item.id for r in more.results[:2]] == [r.item.id for r in first.results]
    finally:
        two.close()


# --- feedback belongs to the searcher, and only for what the search showed -----------------------
def test_feedback_and_shares_from_another_user_or_on_unshown_items_are_refused_and_teach_nothing(app):
    services = app.services
    reply = app.command("/content", PRICE, user_id=REP)
    search_id = buttons(reply, "content_more")[0]["value"]
    shown = shown_ids(reply)
    before = event_count(services)
    for action_id in ("content_helpful", "content_not_helpful", "content_share"):
        refused = app.action(action_id, f"{search_id}:{shown[0]}", user_id=OTHER_REP)
        assert "Only <@U0REP0001>, who ran this search" in refused["text"]
    with services.db.session() as session:
        from bot.models.content import ContentItem

        unshown = session.scalar(select(ContentItem.id).where(ContentItem.id.not_in(shown)).limit(1))
    for action_id in ("content_helpful", "content_not_helpful", "content_share"):
        refused = app.action(action_id, f"{search_id}:{unshown}", user_id=REP)
        assert "not among this search's results" in refused["text"]
    forged = app.action("content_helpful", f"0:{shown[0]}", user_id=REP)
    assert "out of date" in forged["text"]
    huge = app.action("content_helpful", f"{search_id}:99999999999999999999", user_id=REP)
    assert "out of date" in huge["text"]
    assert event_count(services) == before  # nothing recorded, nothing learned
    assert services.content.wait_for_index()
    assert all(services.content.index.get(str(i)).learned == () for i in [*shown, unshown])
    assert app.slack.posted_messages() == []  # and nothing was shared


# --- Not helpful demotes the item for similar phrasings -------------------------------------------
def test_not_helpful_demotes_the_item_for_similar_phrasings_only(app):
    services = app.services
    reply = app.command("/content", PRICE, user_id=REP)
    search_id = buttons(reply, "content_more")[0]["value"]
    top = shown_ids(reply)[0]
    similar = "we are twice the price of Vantage"
    assert search_content(services, similar, user_id=REP, record=False).results[0].item.id == top
    unrelated_before = [r.item.id for r in search_content(
        services, "does lumen have a HIPAA BAA", user_id=REP, record=False).results]
    answer = app.action("content_not_helpful", f"{search_id}:{top}", user_id=REP)
    assert "didn't help" in answer["text"] and "rank it lower" in answer["text"]
    assert services.content.wait_for_index()
    assert PRICE in services.content.index.get(str(top)).rejected
    after = [r.item.id for r in search_content(services, similar, user_id=REP, k=5, record=False).results]
    assert after[0] != top
    unrelated_after = [r.item.id for r in search_content(
        services, "does lumen have a HIPAA BAA", user_id=REP, record=False).results]
    assert unrelated_after == unrelated_before  # other phrasings are not affected


def test_helpful_is_acknowledged_before_the_index_learns_and_then_ranks_it_for_the_next_rep(app):
    services = app.services
    query = "prospect keeps asking how we bill for extra events"
    reply = app.command("/content", query, user_id=REP)
    search_id = buttons(reply, "content_more")[0]["value"]
    pick = shown_ids(reply)[1]
    thanks = app.action("content_helpful", f"{search_id}:{pick}", user_id=REP)
    assert "rank" in thanks["text"]
    assert services.content.wait_for_index()
    assert services.content.index.get(str(pick)).learned == (query,)
    other = search_content(services, query, user_id=OTHER_REP, record=False)
    assert other.results[0].item.id == pick and other.results[0].reason_kind == "learned"


# --- Share, in the thread the search came from -------------------------------------------------------
def test_share_from_a_thread_posts_into_that_thread(app):
    reply = app.command("/content", PRICE, user_id=REP)
    value = buttons(reply, "content_share")[0]["value"]
    thread = "1700000000.000050"
    container = {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0SALESMKT",
                 "is_ephemeral": True, "thread_ts": thread}
    result = app.send.block_action("content_share", value, user_id=REP, container=container)
    assert result.status == 200
    posted = app.slack.wait_for("chat.postMessage")[0].args
    assert posted["channel"] == "C0SALESMKT" and posted["thread_ts"] == thread
    assert f"Shared by @{REP}" in text_of(posted)
    # outside a thread it goes to the channel through the response_url, as before
    outside = app.action("content_share", value, user_id=REP)
    assert outside["response_type"] == "in_channel" and "thread_ts" not in outside
    assert len(app.slack.posted_messages()) == 1


# --- No good match: results marked weak, and a Request content button -----------------------------
def test_no_good_match_offers_request_content_with_the_search_id(app):
    from bot.models.content import ContentSearch

    reply = app.command("/content", "recipe for banana bread with walnuts", user_id=REP)
    assert "No good match" in text_of(reply) and "weak match" in text_of(reply)
    request = buttons(reply, "content_request")
    with app.services.db.session() as session:
        search = session.scalars(select(ContentSearch)).one()
    assert [b["value"] for b in request] == [str(search.id)] and not search.confident
    assert valid_block_kit(reply)
    good = app.command("/content", PRICE, user_id=REP)
    assert buttons(good, "content_request") == [] and "No good match" not in text_of(good)


def test_an_ask_naming_a_standard_the_library_never_mentions_is_a_gap_and_says_so(app):
    from bot.models.content import ContentGap

    reply = app.command("/content", "k-12 district & legal wants our FERPA language for student records", user_id=REP)
    text = text_of(reply)
    assert "No good match" in text and "Nothing in the library mentions *FERPA*" in text
    assert buttons(reply, "content_request") and valid_block_kit(reply)
    with app.services.db.session() as session:
        assert [g.objection for g in session.scalars(select(ContentGap))] == [
            "k-12 district & legal wants our FERPA language for student records"
        ]
    known = app.command("/content", "infosec wants our SOC 2 report", user_id=REP)
    assert "No good match" not in text_of(known) and "Nothing in the library mentions" not in text_of(known)
