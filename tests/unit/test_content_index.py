"""Unit tests of the pure search engine (content_index). No Slack, no DB."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from content_index import (
    BUNDLED_MODEL,
    ContentDoc,
    ContentIndex,
    Embedder,
    InMemoryEmbeddingCache,
    ParsedQuery,
    SearchResult,
    parse_query,
    text_hash,
)
from content_index.evaluation import score_run, with_learned
from content_index.lexical import Vocabulary, build_bm25, tokenize


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def embedder():
    return Embedder()  # bundled all-MiniLM-L6-v2, offline


class CountingEmbedder:
    """Wraps the real embedder and counts texts sent to the model."""

    def __init__(self, inner):
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.calls = 0
        self.texts = 0

    def encode(self, texts):
        self.calls += 1
        self.texts += len(texts)
        return self.inner.encode(texts)


LIB = [
    ContentDoc("1", "Battlecard: Handling 'Lumen Costs More'", "Talk track for when a prospect says the list "
               "price is too high. Moves the conversation from price per seat to cost per active user.",
               "battlecard", "decision", "sales_leader", ("too expensive", "pricing pushback")),
    ContentDoc("2", "SOC 2 Type II Report Summary", "Summarises our SOC 2 Type II audit and how to request "
               "the full report under NDA. Covers encryption at rest and in transit.",
               "security_doc", "decision", "it_security", ("security review",)),
    ContentDoc("3", "Snowflake Integration Guide", "How Lumen connects to Snowflake with a read-only role. "
               "Queries run in the customer's warehouse.", "implementation_guide", "consideration",
               "data_team", ()),
    ContentDoc("4", "Case Study: Retail Chain Replaces Spreadsheets", "A 900-store retailer moved weekly "
               "reporting from Excel to Lumen dashboards. Analysts saved ten hours a week.",
               "case_study", "consideration", "ops_leader", ("spreadsheets",)),
    ContentDoc("5", "Mobile App Overview", "", "product_sheet", "awareness", "end_user", ()),  # empty summary
    ContentDoc("6", "HIPAA and Protected Health Information", "Lumen signs a BAA on the Enterprise tier. "
               "Explains how PHI is isolated and audited.", "security_doc", "decision", "it_security",
               ("HIPAA",)),
]


@pytest.fixture()
def index(embedder):
    idx = ContentIndex(embedder)
    idx.upsert(LIB)
    return idx


# ------------------------------------------------------------------ parse_query
def test_parse_query_filters_and_text():
    p = parse_query("  need a case study   type:case_study stage:decision,Consideration ")
    assert isinstance(p, ParsedQuery)
    assert p.text == "need a case study"
    assert p.filters == {"type": ("case_study",), "stage": ("decision", "consideration")}


def test_parse_query_unknown_keys_stay_in_text():
    p = parse_query("pricing note:urgent https://x.example/a Persona:CFO")
    assert p.filters == {"persona": ("cfo",)}
    assert p.text == "pricing note:urgent https://x.example/a"


def test_parse_query_edge_cases():
    assert parse_query("") == ParsedQuery(text="", filters={})
    assert parse_query("type:") .filters == {}
    p = parse_query('type:"case_study" hello type:webinar')
    assert p.filters == {"type": ("case_study", "webinar")}
    assert p.text == "hello"
    p = parse_query("channel:sales stuff", filter_keys=("channel",))
    assert p.filters == {"channel": ("sales",)} and p.text == "stuff"


# ------------------------------------------------------------------ helpers
def test_text_hash_is_sha256_of_exact_text():
    import hashlib
    assert text_hash("abc") == hashlib.sha256(b"abc").hexdigest()
    assert text_hash("abc") != text_hash("abc ")


def test_tokenize_basics():
    # soc2 split, stopwords dropped, Snowball (PyStemmer) stems
    assert tokenize("SOC2 reports, Integrations!") == ["soc", "2", "report", "integr"]
    assert tokenize("🙂🙂") == []


def test_bm25_coverage_matches_bm25s_lucene():
    """Per-term scores equal idf * tf / (tf + k1 (1 - b + b dl/avgdl)) with our idf,
    so lex = score / sum idf is the share of the query covered (1 only if all matched)."""
    docs = ["soc 2 report soc 2", "pricing too expensive", "security review questionnaire soc"]
    voc = Vocabulary()
    terms = [voc.encode(tokenize(d)) for d in docs]
    snap = build_bm25(terms, len(voc.ids), k1=1.2, b=0.75)
    dl = np.array([t[1].sum() for t in terms])
    avgdl = dl.mean()
    for tok in ("soc", "price", "secur"):
        tid = voc.ids[tok]
        raw, bound = snap.scores([tid])
        assert bound == pytest.approx(float(snap.idf[tid]))
        for j, (ids, tfs) in enumerate(terms):
            tf = float(tfs[ids == tid].sum())
            want = snap.idf[tid] * tf / (tf + 1.2 * (1 - 0.75 + 0.75 * dl[j] / avgdl))
            assert raw[j] == pytest.approx(want, rel=1e-5)
    raw, bound = snap.scores([voc.ids["soc"], -1])  # unknown term: bounded at the max idf
    assert bound == pytest.approx(float(snap.idf[voc.ids["soc"]]) + snap.max_idf)
    assert snap.max_idf > snap.idf.max()
    assert build_bm25([], 0).scores([-1])[0].shape == (0,)


def test_embedder_shape_and_norm(embedder):
    assert embedder.model_id == BUNDLED_MODEL
    v = embedder.encode(["hello", "", "🙂"])
    assert v.shape == (3, embedder.dim) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert embedder.encode([]).shape == (0, embedder.dim)


def test_score_run_matches_definitions():
    qs = [{"id": "a", "relevant": {"x": 2, "y": 1}}, {"id": "b", "relevant": {}}]
    m = score_run(qs, {"a": ["y", "x"], "b": []})
    assert m["recall@1"] == 0 and m["recall@3"] == 1 and m["mrr@10"] == 0.5
    assert m["abstain_unanswerable"] == 1 and m["false_abstain"] == 0
    assert 0 < m["ndcg@5"] < 1


# ------------------------------------------------------------------ upsert / remove / cache
def test_upsert_replace_remove(embedder):
    idx = ContentIndex(embedder)
    st = idx.upsert(LIB)
    assert st.docs == len(LIB) and st.embedded > 0
    assert len(idx) == len(LIB) and "3" in idx and "99" not in idx
    new3 = ContentDoc("3", "BigQuery Connector", "Connects to Google BigQuery.", "product_sheet",
                      "consideration", "data_team")
    idx.upsert([new3])
    assert len(idx) == len(LIB)
    assert idx.get("3").title == "BigQuery Connector"
    assert idx.search("bigquery connector", k=1).hits[0].doc_id == "3"
    idx.remove(["3", "nope"])
    assert len(idx) == len(LIB) - 1 and "3" not in idx
    assert all(h.doc_id != "3" for h in idx.search("bigquery connector", k=10).hits)


def test_cache_reuse_second_upsert_embeds_nothing(embedder):
    cache = InMemoryEmbeddingCache()
    counting = CountingEmbedder(embedder)
    st1 = ContentIndex(counting, cache).upsert(LIB)
    assert st1.embedded > 0 and counting.texts == st1.embedded
    before = counting.texts
    fresh = ContentIndex(counting, cache)  # e.g. a bot restart with a DB-backed cache
    progress = []
    st2 = fresh.upsert(LIB, progress=lambda d, t: progress.append((d, t)))
    assert st2.embedded == 0 and st2.reused > 0 and counting.texts == before
    assert len(fresh) == len(LIB)
    # same index, unchanged docs: nothing embedded either
    st3 = fresh.upsert(LIB)
    assert st3.embedded == 0 and counting.texts == before
    # a changed summary only embeds the changed texts
    changed = ContentDoc(**{**LIB[0].__dict__, "summary": LIB[0].summary + " New sentence here."})
    st4 = fresh.upsert([changed])
    assert 0 < st4.embedded <= 3


def test_cache_keys_are_model_and_text_hash(embedder):
    cache = InMemoryEmbeddingCache()
    ContentIndex(embedder, cache).upsert(LIB[:1])
    h = text_hash(LIB[0].title)
    assert h in cache.get_many(BUNDLED_MODEL, [h])
    assert cache.get_many("other-model", [h]) == {}


def test_learned_phrasing_is_used(embedder):
    idx = ContentIndex(embedder)
    idx.upsert(LIB)
    q = "champion needs something for the board deck"
    learned = with_learned(LIB, [{"query": q, "relevant": {"4": 2}}])
    idx.upsert(learned)
    top = idx.search(q, k=1).hits[0]
    assert top.doc_id == "4"
    assert top.reason_kind == "learned" and top.reason == q


# ------------------------------------------------------------------ search behaviour
def test_obvious_query_finds_obvious_item(index):
    res = index.search("prospect says we're too expensive", k=3)
    assert isinstance(res, SearchResult)
    assert res.hits[0].doc_id == "1"
    assert res.confident and 0.5 <= res.confidence <= 1.0
    assert res.hits[0].reason_kind in {"tag", "sentence", "title", "learned", "keywords"}
    assert res.hits[0].reason
    assert [h.score for h in res.hits] == sorted((h.score for h in res.hits), reverse=True)
    assert index.search("infosec wants our SOC 2 report", k=1).hits[0].doc_id == "2"
    assert index.search("do we work with snowflake", k=1).hits[0].doc_id == "3"


def test_off_topic_query_is_not_confident(index):
    res = index.search("recipe for banana bread with walnuts", k=3)
    assert not res.confident and res.confidence < 0.5
    assert len(res.hits) == 3  # still the closest ones


def test_k_and_small_library(index):
    assert len(index.search("security", k=100).hits) == len(LIB)
    assert index.search("security", k=0).hits == []


def test_filters(index):
    res = index.search("security", k=5, filters={"type": ["security_doc"]})
    assert {h.doc_id for h in res.hits} == {"2", "6"}
    res = index.search("security", k=5, filters={"type": ("security_doc",), "persona": ("IT_Security",)})
    assert {h.doc_id for h in res.hits} == {"2", "6"}
    res = index.search("security", k=5, filters={"type": ["case_study", "battlecard"]})
    assert {h.doc_id for h in res.hits} == {"1", "4"}
    assert index.search("security", filters={"type": ["nope"]}).hits == []
    assert index.search("security", filters={"colour": ["red"]}).hits == []
    assert len(index.search("security", k=5, filters={"type": []}).hits) == 5  # empty = no filter
    p = parse_query("pricing type:battlecard")
    assert [h.doc_id for h in index.search(p.text, filters=p.filters).hits] == ["1"]


@pytest.mark.parametrize("q", ["", "   ", "🙂🙂🙂", "?!", "x" * 4000, "price " * 800,
                               "o cliente acha que é muito caro", "顧客は価格が高すぎると言っています",
                               "DROP TABLE content; --", "type:case_study"])
def test_odd_queries_do_not_crash(index, q):
    res = index.search(q, k=3)
    assert isinstance(res, SearchResult)
    assert 0.0 <= res.confidence <= 1.0
    assert len(res.hits) <= 3
    if not q.strip() or not any(c.isalnum() for c in q):
        assert res.hits == [] and not res.confident


def test_empty_index(embedder):
    idx = ContentIndex(embedder)
    assert len(idx) == 0
    res = idx.search("anything")
    assert res.hits == [] and not res.confident
    idx.remove(["x"])


def test_empty_and_odd_documents(embedder):
    idx = ContentIndex(embedder)
    docs = [ContentDoc("a", "", "", "", "", ""), ContentDoc("b", "Only a title", "", "blog_post", "", ""),
            ContentDoc(7, "Numeric id", "Summary without a period", "x", "y", "z", ["tag"], ["learned"])]
    idx.upsert(docs)
    assert len(idx) == 3 and "7" in idx
    assert idx.search("only a title", k=1).hits[0].doc_id == "b"


def test_unknown_tuning_rejected(embedder):
    with pytest.raises(TypeError):
        ContentIndex(embedder, not_a_knob=1)


def test_baseline_methods_run(embedder):
    for method in ("bm25", "dense", "rrf"):
        idx = ContentIndex(embedder, method=method)
        idx.upsert(LIB)
        res = idx.search("too expensive", k=2)
        assert len(res.hits) == 2 and res.confident


def test_two_stage_matches_exhaustive_on_small_library(embedder):
    a = ContentIndex(embedder, candidates=2)  # forces the first stage
    b = ContentIndex(embedder)
    a.upsert(LIB)
    b.upsert(LIB)
    for q in ("too expensive", "soc 2 report", "phone dashboards", "HIPAA BAA"):
        assert a.search(q, k=1).hits[0].doc_id == b.search(q, k=1).hits[0].doc_id


# ------------------------------------------------------------------ concurrency
def test_thread_safety_smoke(embedder):
    idx = ContentIndex(embedder)
    idx.upsert(LIB)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                res = idx.search("too expensive", k=3)
                assert res.hits and len(res.hits) <= 3
                ids = {h.doc_id for h in res.hits}
                assert ids <= {d.id for d in LIB} | {f"x{i}" for i in range(20)}
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    def writer():
        try:
            for i in range(20):
                idx.upsert([ContentDoc(f"x{i}", f"Extra item {i}", "Pricing note.", "blog_post", "awareness",
                                       "end_user", ("price",))])
                if i % 3 == 0:
                    idx.remove([f"x{i}"])
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    w = threading.Thread(target=writer)
    for t in readers:
        t.start()
    w.start()
    w.join(timeout=120)
    stop.set()
    for t in readers:
        t.join(timeout=30)
    assert not errors, errors
    assert len(idx) == len(LIB) + 20 - 7


# ------------------------------------------------------------------ shorthand, fusion, demotion, learning
def test_shorthand_is_spelled_out_and_ordinary_words_are_left_alone():
    from content_index.shorthand import expand_shorthand

    assert expand_shorthand("3-4k ppl w/ no signal til Q3, w/o mgmt buy-in") == \
        "3-4 thousand people with no signal until Q3, without management buy-in"
    assert expand_shorthand("can that $$ cover us next yr") == "can that money cost cover us next year"
    # words that merely contain shorthand, and acronyms the library uses, stay as typed
    assert expand_shorthand("the ROI of SSO for an apple orchard") == "the ROI of SSO for an apple orchard"
    # an acronym typed in capitals is the acronym: "HR" is human resources, "hr" is an hour
    assert expand_shorthand("cut access the minute HR terminates, 2 hr wait") == \
        "cut access the minute HR terminates, 2 hour wait"
    # idioms for a prospect who stopped answering are said plainly; other uses of the words are not
    assert expand_shorthand("champ ghosted me, deal went dark") == "champion stopped replying to me, deal stopped replying"
    assert expand_shorthand("a ghost town, a dark dashboard theme") == "a ghost town, a dark dashboard theme"


def test_shorthand_reaches_both_views_only_in_the_shipped_method(embedder):
    plain = ContentIndex(embedder, method="hybrid", shorthand=False)
    expanded = ContentIndex(embedder)
    for idx in (plain, expanded):
        idx.upsert(LIB)
    assert expanded.search("weekly reporting for 900 stores is all excel spreadsheets rn", k=1).hits[0].doc_id == "4"
    # the query vector is the expanded text's: it is returned for reuse (no second embedding)
    res = expanded.search("ppl say we cost too much", k=1)
    assert np.allclose(res.query_vector, embedder.encode(["people say we cost too much"])[0], atol=1e-5)


def test_fusion_is_by_rank_so_views_need_no_common_scale(embedder):
    idx = ContentIndex(embedder, prf_weight=0.0)
    idx.upsert(LIB)
    hits = idx.search("SOC 2 audit report", k=6).hits
    assert hits[0].doc_id == "2"
    # fused scores are sums of 1 / (k + 1 + rank) over the three views: bounded by 3 / (k + 1)
    assert all(0 < h.score <= 3 / 61 + 1e-9 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_not_helpful_demotes_for_close_phrasings_unless_a_helpful_one_is_as_close(embedder):
    query = "prospect says the list price is too high"
    base = ContentIndex(embedder)
    base.upsert(LIB)
    assert base.search(query, k=1).hits[0].doc_id == "1"
    demoted = ContentIndex(embedder)
    demoted.upsert([d if d.id != "1" else ContentDoc(**{**d.__dict__, "rejected": (query,)}) for d in LIB])
    assert demoted.search(query, k=3).hits[0].doc_id != "1"
    assert demoted.search("is our SOC 2 report available", k=1).hits[0].doc_id == "2"  # far phrasing: untouched
    both = ContentIndex(embedder)
    both.upsert([d if d.id != "1" else ContentDoc(**{**d.__dict__, "rejected": (query,), "learned": (query,)})
                 for d in LIB])
    assert both.search(query, k=1).hits[0].doc_id == "1"
    # a rejected phrasing is never a reason shown to the rep
    assert demoted.get("1").rejected == (query,)
    assert all(h.reason != query for h in demoted.search(query, k=6).hits)


def test_no_good_match_and_possibly_weak_bands(embedder):
    idx = ContentIndex(embedder, nomatch_threshold=0.30, weak_threshold=0.99)
    idx.upsert(LIB)
    weak = idx.search("prospect says we're too expensive", k=3)
    assert weak.confident and weak.weak  # a match, shown, but flagged as possibly weak
    off = idx.search("recipe for banana bread with walnuts", k=3)
    assert not off.confident and not off.weak and off.hits  # the closest items are still returned
    assert off.agreement < 0.30 <= weak.agreement


def test_learning_by_clicking_only_reaches_shown_items(embedder):
    from content_index.evaluation import learn_by_clicking

    idx = ContentIndex(embedder)
    idx.upsert(LIB)
    queries = [{"id": "q1", "query": "prospect says our price is too high", "relevant": {"1": 2, "6": 2}},
               {"id": "q2", "query": "spreadsheet reporting", "relevant": {"4": 2}}]
    taught, clicks = learn_by_clicking(idx, LIB, queries, shown=1, more=1)
    learned = {d.id: d.learned for d in taught if d.learned}
    assert learned == {"1": ("prospect says our price is too high",), "4": ("spreadsheet reporting",)}
    assert clicks["helpful"] == 2 and clicks["not_helpful"] == 0  # item 6 was never shown: never clicked


def test_tune_chooses_a_design_and_thresholds_on_the_tuning_set_only(embedder, monkeypatch):
    from content_index import evaluation

    monkeypatch.setitem(evaluation._SHARED, "bundled", (embedder, InMemoryEmbeddingCache()))
    queries = [{"id": "q1", "query": "prospect says our price is too high", "relevant": {"1": 2}},
               {"id": "q2", "query": "soc 2 audit", "relevant": {"2": 2}},
               {"id": "q3", "query": "fedramp authorization", "relevant": {}}]
    params, metrics = evaluation.tune(LIB, queries, grid={"views": (("bm25", "maxsim", "mix"),),
                                                          "prf_weight": (0.0, 0.6)})
    assert set(params) == {"views", "prf_weight", "nomatch_threshold", "weak_threshold"}
    assert params["weak_threshold"] > params["nomatch_threshold"]
    assert metrics["false_abstain"] <= evaluation.MAX_FALSE_NOMATCH


def test_a_learned_phrasing_helps_other_words_for_the_same_ask_but_not_unrelated_asks(embedder):
    idx = ContentIndex(embedder)
    idx.upsert(LIB)
    taught = "the board wants to see that a company like theirs got off excel"
    idx.upsert(with_learned(LIB, [{"query": taught, "relevant": {"4": 2}}]))
    # the same ask in other words reaches the taught item through the learned phrasing
    same = idx.search("their leadership wants proof someone like them quit spreadsheets", k=1).hits[0]
    assert same.doc_id == "4"
    # an unrelated ask sharing the rep's everyday words ("the board wants", "theirs") is not pulled
    # towards it: the learned words count for BM25 only within cosine `learned_gate` of the query
    plain = ContentIndex(embedder, learned_lexical=False)
    plain.upsert(with_learned(LIB, [{"query": taught, "relevant": {"4": 2}}]))
    unrelated = "the board wants to see that their health data is protected"
    assert [h.doc_id for h in idx.search(unrelated, k=3).hits] == [h.doc_id for h in plain.search(unrelated, k=3).hits]
    always = ContentIndex(embedder, learned_lexical=True, learned_gate=0.0)
    always.upsert(with_learned(LIB, [{"query": taught, "relevant": {"4": 2}}]))
    gated_rank = [h.doc_id for h in idx.search(unrelated, k=len(LIB)).hits].index("4")
    always_rank = [h.doc_id for h in always.search(unrelated, k=len(LIB)).hits].index("4")
    assert always_rank < gated_rank  # without the gate the rep's everyday words lift the taught item


def test_an_acronym_no_item_mentions_is_no_good_match_unless_the_match_is_strong(embedder):
    from content_index.shorthand import acronyms

    assert acronyms("legal wants FERPA language, CTO and VPs agree, SOC2 ok") == ["FERPA", "SOC"]
    assert acronyms("FedRAMP and CSMs") == ["FedRAMP"]  # roles and shorthand are everyday vocabulary
    idx = ContentIndex(embedder)
    idx.upsert(LIB)
    asked = idx.search("PCI DSS compliance? they handle card data", k=3)
    assert asked.missing_terms == ("PCI", "DSS") and not asked.confident
    assert asked.hits  # the closest items are still there, for the weak-match display
    known = idx.search("infosec wants our SOC 2 report", k=3)
    assert known.missing_terms == () and known.confident and known.hits[0].doc_id == "2"
    strong = ContentIndex(embedder, unknown_term_threshold=0.0)
    strong.upsert(LIB)
    assert strong.search("PCI DSS compliance? they handle card data", k=3).confident


def test_word_overlap_can_confirm_a_match_but_never_deny_one(embedder):
    # dense evidence below the threshold, but the top item covers the query's words: weak, not a gap
    idx = ContentIndex(embedder, nomatch_threshold=1.5, weak_threshold=1.6)  # above any cosine
    idx.upsert(LIB)
    res = idx.search("snowflake integration guide", k=3)
    assert res.top_lexical >= 0.25 and res.confident and res.weak and res.hits[0].doc_id == "3"
    off = idx.search("recipe for banana bread with walnuts", k=3)
    assert off.top_lexical < 0.25 and not off.confident
    strict = ContentIndex(embedder, nomatch_threshold=1.5, lexical_rescue=1.01)
    strict.upsert(LIB)
    assert not strict.search("snowflake integration guide", k=3).confident


def test_a_click_shares_the_lexical_index_and_doc_vectors_with_the_previous_snapshot(embedder):
    from dataclasses import replace

    idx = ContentIndex(embedder)
    idx.upsert(LIB)
    before = idx._snap
    idx.upsert([replace(LIB[3], learned=("the board wants proof someone like them quit spreadsheets",))])
    after = idx._snap
    # a Helpful click changes only learned phrasings: BM25, doc vectors and facets are shared
    assert after.bm25 is before.bm25 and after.doc_mat is before.doc_mat and after.facet_codes is before.facet_codes
    assert after.frag_mat.shape[0] == before.frag_mat.shape[0] + 1
    assert idx.search("the board wants proof someone like them quit spreadsheets", k=1).hits[0].reason_kind == "learned"
    # a change of the item's own text rebuilds them
    idx.upsert([replace(LIB[3], summary=LIB[3].summary + " Now with a second case study.")])
    assert idx._snap.bm25 is not after.bm25 and idx._snap.doc_mat is not after.doc_mat


def test_bm25_scores_an_unindexed_document_like_an_indexed_one():
    vocab = Vocabulary()
    docs = [vocab.encode(tokenize(t)) for t in ("budget freeze until next year", "security review and SOC 2", "budget")]
    snap = build_bm25(docs, len(vocab.ids))
    query = vocab.lookup(tokenize("budget freeze"))
    raw, _ = snap.scores(query)
    for j, (ids, tfs) in enumerate(docs):
        assert snap.score_terms(query, ids, tfs) == pytest.approx(float(raw[j]), rel=1e-5)
