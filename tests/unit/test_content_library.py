"""Library files: CSV/JSONL parsing, validation with line numbers, all-or-nothing upserts by URL, export."""

import json

import pytest
from sqlalchemy import func, select

from bot.content import library
from bot.content.vocabulary import Vocabulary, load_vocabulary, normalize_value
from bot.db import Database
from bot.errors import ConfigError, InvalidInput
from bot.models.content import ContentChange, ContentItem
from tests.conftest import START

VOCAB = Vocabulary()
HEADER = "title,url,type,stage,persona,summary,objections\n"
GOOD = ('Pricing FAQ,https://content.lumen.example/faq,pricing_faq,decision,cfo,"Tiers, seats. Billing.",'
        '"too expensive; pricing"\n')


def test_csv_rows_are_validated_with_line_numbers_and_reasons():
    text = (HEADER + GOOD
            + ',https://content.lumen.example/x,one_pager,decision,cfo,,\n'
            + 'Bad link,ftp://content.lumen.example/y,one_pager,decision,cfo,,\n'
            + 'Podcast,https://content.lumen.example/p,podcast,decision,cfo,,\n'
            + '"Multi\nline title",https://content.lumen.example/m,Case Study,Decision,CFO,"",\n'
            + 'Again,https://content.lumen.example/faq,one_pager,awareness,cfo,,\n')
    parsed = library.parse_text(text, "csv", VOCAB)
    assert [(line, row.url) for line, row in parsed.rows] == [
        (2, "https://content.lumen.example/faq"), (6, "https://content.lumen.example/m")]
    first = parsed.rows[0][1]
    assert first.objections == ("too expensive", "pricing") and first.summary == "Tiers, seats. Billing."
    assert parsed.rows[1][1].type == "case_study" and parsed.rows[1][1].persona == "cfo"
    reasons = {r.line: r.reason for r in parsed.rejected}
    assert reasons[3] == "missing title"
    assert reasons[4].startswith("bad URL")
    assert reasons[5].startswith("unknown type 'podcast'") and "case_study" in reasons[5]
    assert reasons[8] == "duplicate url (also on line 2)"


def test_jsonl_rows_and_bad_json():
    lines = [
        json.dumps({"title": "A", "url": "https://a.example/1", "type": "video", "stage": "awareness",
                    "persona": "end_user", "summary": "", "objections": ["x", "X", " y "]}),
        "{not json",
        json.dumps({"title": "B", "url": "https://a.example/2", "type": "video", "stage": "later",
                    "persona": "end_user"}),
        json.dumps({"title": "C", "url": "https://a.example/3", "type": "video", "stage": "awareness",
                    "persona": "end_user", "objections": [1, 2]}),
        json.dumps(["not", "an", "object"]),
    ]
    parsed = library.parse_text("\n".join(lines) + "\n", "jsonl", VOCAB)
    assert [row.objections for _, row in parsed.rows] == [("x", "y")]
    reasons = {r.line: r.reason for r in parsed.rejected}
    assert reasons[2].startswith("not valid JSON")
    assert reasons[3].startswith("unknown stage 'later'")
    assert reasons[4].startswith("objections must be")
    assert reasons[5].startswith("not an object")


def test_csv_without_required_columns_is_refused():
    with pytest.raises(InvalidInput, match="missing: url"):
        library.parse_text("title,type,stage,persona\nA,video,awareness,cfo\n", "csv", VOCAB)


def test_urls():
    assert library.valid_url("https://content.lumen.example/a?b=c")
    for bad in ("content.lumen.example/a", "javascript:alert(1)", "https://", "https://exa mple.com/",
                "https://example.com/<!channel>", "http:///nohost"):
        assert not library.valid_url(bad), bad


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_invalid_rows_write_nothing_unless_skip_invalid(db):
    parsed = library.parse_text(HEADER + GOOD + ",https://content.lumen.example/x,one_pager,decision,cfo,,\n",
                                "csv", VOCAB)
    with db.session() as session:
        report = library.upsert_items(session, parsed, skip_invalid=False, now=START)
    assert not report.written and len(report.rejected) == 1
    with db.session() as session:
        assert _count(session, ContentItem) == 0 and _count(session, ContentChange) == 0
    with db.session() as session:
        report = library.upsert_items(session, parsed, skip_invalid=True, now=START)
    assert report.written and (report.added, report.updated, report.unchanged) == (1, 0, 0)
    with db.session() as session:
        assert _count(session, ContentItem) == 1 and _count(session, ContentChange) == 1


def test_upsert_by_url_reports_added_updated_unchanged_and_exports_round_trip(db):
    two = GOOD + "Battlecard,https://content.lumen.example/bc,battlecard,decision,sales_leader,Talk track.,\n"
    with db.session() as session:
        first = library.upsert_items(session, library.parse_text(HEADER + two, "csv", VOCAB),
                                     skip_invalid=False, now=START)
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    changed = two.replace("Talk track.", "A new talk track.")
    with db.session() as session:
        second = library.upsert_items(session, library.parse_text(HEADER + changed, "csv", VOCAB),
                                      skip_invalid=False, now=START)
    assert (second.added, second.updated, second.unchanged) == (0, 1, 1)
    for fmt in ("csv", "jsonl"):
        with db.session() as session:
            exported = library.export_items(session, fmt)
        again = library.parse_text(exported, fmt, VOCAB)
        assert not again.rejected
        with db.session() as session:
            third = library.upsert_items(session, again, skip_invalid=False, now=START)
        assert (third.added, third.updated, third.unchanged) == (0, 0, 2)


def test_vocabulary_is_configurable(monkeypatch):
    assert normalize_value(" Case-Study ") == "case_study"
    load_vocabulary.cache_clear()
    monkeypatch.setenv("REVALIGN_CONTENT_TYPES", "case_study, Podcast ,podcast")
    monkeypatch.setenv("REVALIGN_CONTENT_PERSONAS", "cfo,cto")
    try:
        vocabulary = load_vocabulary()
        assert vocabulary.types == ("case_study", "podcast") and vocabulary.personas == ("cfo", "cto")
        assert vocabulary.stages == ("awareness", "consideration", "decision", "retention")
        load_vocabulary.cache_clear()
        monkeypatch.setenv("REVALIGN_CONTENT_STAGES", "early;late!")
        with pytest.raises(ConfigError, match="REVALIGN_CONTENT_STAGES"):
            load_vocabulary()
    finally:
        load_vocabulary.cache_clear()
