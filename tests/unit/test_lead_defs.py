"""Pure parts of /lead-def: term matching, the YAML format and its validation, and diffs."""

from __future__ import annotations

import pytest

from bot.lead_defs.diff import diff_definitions, diff_text
from bot.lead_defs.matching import TermIndex, normalize
from bot.lead_defs.schema import dump_yaml, parse_yaml, validate_entries
from bot.lead_defs.service import DEFAULTS_FILE, check_file, load_defaults


@pytest.fixture(scope="module")
def index():
    entries = load_defaults()
    return TermIndex({e.content["key"]: [e.content["key"], e.content["full_name"], *e.content["aliases"]]
                      for e in entries})


@pytest.mark.parametrize("text,key", [
    ("MQL", "MQL"), ("mql", "MQL"), ("MQLs", "MQL"), ("MQL's", "MQL"), ("marketing qualified lead", "MQL"),
    ("Marketing-Qualified Leads", "MQL"), ("what is an mql?", "MQL"), ("What's an MQL?", "MQL"),
    ("what does MQL mean", "MQL"), ("define sql", "SQL"), ("what is an sql?", "SQL"), ("SALs", "SAL"),
    ("opportunities", "Opportunity"), ("opps", "Opportunity"), ("closed-won", "Customer"),
    ("win rate", "Win rate"), ("What's our win-rate?", "Win rate"), ("TOFU", "TOFU"), ("top of the funnel", "TOFU"),
    ("cost per acquisition", "CPA"), ("LTV", "LTV"), ("lifetime value", "LTV"), ("SLAs", "SLA"),
    ("value prop", "UVP"), ("personas", "Persona"), ("leads", "Lead"), ("tell me about MQLs please", "MQL"),
])
def test_finds_term_by_key_alias_plural_and_question(index, text, key):
    assert index.find(text).key == key


@pytest.mark.parametrize("text,first", [("MQK", "MQL"), ("SQLL", "SQL"), ("oportunity", "Opportunity"),
                                        ("pipline", "Pipeline"), ("custmer", "Customer")])
def test_typos_get_the_closest_suggestions(index, text, first):
    match = index.find(text)
    assert match.key is None and match.suggestions[0] == first and len(match.suggestions) <= 3


@pytest.mark.parametrize("text", ["", "   ", "🔥", "<!channel>", "<@U123ABC>", "x" * 4000,
                                  "Robert'); DROP TABLE students;--", "*bold*", "<b>hi</b>", "???"])
def test_junk_finds_nothing_and_does_not_crash(index, text):
    assert index.find(text).key is None


def test_normalize():
    assert normalize("  Marketing-Qualified   Lead! ") == "marketing qualified lead"
    assert normalize("MQL’s") == "mql"


def test_shipped_defaults_are_valid_and_complete():
    entries = load_defaults()
    stages = sorted((e.content for e in entries if e.content["kind"] == "stage"), key=lambda c: c["position"])
    assert [s["key"] for s in stages] == ["IQL", "MQL", "SAL", "SQL", "Opportunity", "Customer"]
    for stage in stages:
        assert stage["criteria"] and stage["sla"] and stage["next_action"] and stage["handoff"] and stage["example"]
    keys = {e.content["key"] for e in entries}
    assert {"Lead", "Conversion", "Pipeline", "Win rate", "CPA", "LTV", "UVP", "SLA", "Persona", "TOFU", "MOFU",
            "BOFU"} <= keys


def test_yaml_round_trip_is_exact():
    text = DEFAULTS_FILE.read_text()
    entries, problems = parse_yaml(text)
    assert problems == []
    records = [dict(e.content) for e in entries]
    dumped = dump_yaml(records)
    again, problems = parse_yaml(dumped)
    assert problems == [] and [e.content for e in again] == [e.content for e in entries]
    assert dump_yaml([dict(e.content) for e in again]) == dumped


BROKEN = """\
terms:
- key: MQL
  full_name: Marketing Qualified Lead
  kind: stage
  position: 2
  definition: A lead.
  criteria: [Scores 60]
  owner: marketing
  next_action: Call it
  sla: 1 day
- key: SQL
  full_name: Sales Qualified Lead
  kind: funnel
  definition: ''
  owner: everyone
  colour: blue
- key: Opp
  full_name: Opportunity
  aliases: [mql]
  kind: stage
  position: 2
  definition: A deal.
  criteria: []
  owner: sales
"""


def test_every_problem_is_listed_with_its_line():
    _entries, problems = check_file(BROKEN)
    text = "\n".join(map(str, problems))
    assert "line 13: 'SQL': kind must be 'stage' or 'term'" in text
    assert "line 14: 'SQL': definition is missing" in text
    assert "line 15: 'SQL': owner must be marketing, sales or shared" in text
    assert "line 16: unknown field 'colour'" in text
    assert "line 19: 'Opp': 'mql' is already used by 'MQL'" in text
    assert "line 21: 'Opp': position 2 is already 'MQL'" in text
    assert "line 23: 'Opp': a stage needs at least one qualifying criterion" in text
    assert "line 17: 'Opp': a stage needs a next action" in text and "line 17: 'Opp': a stage needs an SLA" in text
    assert len(problems) == 9
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_malformed_yaml_is_one_problem_with_a_line():
    _entries, problems = check_file("terms:\n- key: MQL\n  full_name: [unclosed\n")
    assert len(problems) == 1 and problems[0].line and "not valid YAML" in problems[0].message
    _entries, problems = check_file("just: text")
    assert "top-level 'terms:' list" in problems[0].message


def test_validation_limits():
    base = {"key": "X", "full_name": "X", "kind": "term", "definition": "d", "owner": "shared"}
    assert validate_entries([]) == []
    from bot.lead_defs.schema import Entry

    assert validate_entries([Entry(base)]) == []
    assert validate_entries([Entry({**base, "definition": "x" * 2001})])
    assert validate_entries([Entry({**base, "key": "<!channel>"})])
    assert validate_entries([Entry({**base, "position": 3})])


def test_text_diff_marks_removed_and_added_words():
    segments = diff_text("An SDR calls within 1 business day", "An SDR calls within 4 business hours")
    assert ("removed", "1") in segments and ("added", "4") in segments and ("added", "hours") in segments
    assert "".join(t for op, t in segments if op != "removed") == "An SDR calls within 4 business hours"


def test_definition_diff_lists_added_and_removed_items():
    before = {"key": "MQL", "criteria": ["a", "b"], "sla": "1 day", "owner": "marketing"}
    after = {"key": "MQL", "criteria": ["b", "c"], "sla": "1 day", "owner": "shared"}
    changes = {c.field: c for c in diff_definitions(before, after)}
    assert set(changes) == {"criteria", "owner"}
    assert changes["criteria"].added == ["c"] and changes["criteria"].removed == ["a"]
