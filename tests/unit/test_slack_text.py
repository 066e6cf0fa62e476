"""Slack's text format: decode once, escape once, nothing live survives, ids range-checked."""

import pytest

from bot.errors import InvalidInput
from bot.ids import MAX_ID, parse_id, parse_optional_id
from bot.slack_text import decode_entities, defang, escape, from_slack, strip_controls, to_slack


@pytest.mark.parametrize(
    "typed",
    [
        "R&D budget",
        "we're <50% of & price",
        "literal &lt; typed",
        "&amp;amp;",
        "<!here> hi",
        "<https://evil.example|Vantage price sheet>",
        "see https://docs.example/a?b=1 now",
        "tab\tand\nnewline",
    ],
)
def test_decoding_what_slack_sends_gives_back_what_was_typed(typed):
    assert from_slack(to_slack(typed)) == typed


def test_slack_encoding_and_decoding_are_single_pass():
    assert to_slack("R&D") == "R&amp;D"
    assert to_slack("&lt;") == "&amp;lt;"
    assert decode_entities("&amp;lt;") == "&lt;"  # once, not twice
    assert to_slack("go to https://x.example/p") == "go to <https://x.example/p>"
    assert from_slack("<@U0MKT0001|maria> &amp; <!here>") == "<@U0MKT0001|maria> & <!here>"


def test_control_characters_are_stripped_but_tabs_and_newlines_kept():
    assert strip_controls("a\x00b\x07c\x1bd\x7fe\tf\ng\r\nh") == "abcde\tf\ng\nh"
    assert from_slack("x\x00y") == "xy"


def test_defang_keeps_the_apps_own_mentions_only():
    assert (
        defang("Ask <@U0HEAD001> by <!date^1700000000^{date}|Nov 14>")
        == "Ask <@U0HEAD001> by <!date^1700000000^{date}|Nov 14>"
    )
    assert defang("'<!channel>' is not a role") == "'&lt;!channel&gt;' is not a role"
    assert (
        defang("<https://evil.example|Price sheet> <@U123|x> <!subteam^S1|@all>")
        == "&lt;https://evil.example|Price sheet&gt; &lt;@U123|x&gt; &lt;!subteam^S1|@all&gt;"
    )
    assert escape("<&>") == "&lt;&amp;&gt;"


@pytest.mark.parametrize("value", ["1", " 42 ", 7, str(MAX_ID)])
def test_parse_id_accepts_real_ids(value):
    assert 1 <= parse_id(value) <= MAX_ID


@pytest.mark.parametrize(
    "value", ["99999999999999999999", str(MAX_ID + 1), "0", "-1", "1e3", "", None, True, "١٢", 2**63, [1]]
)
def test_parse_id_refuses_what_no_row_can_have(value):
    with pytest.raises(InvalidInput, match="out of date"):
        parse_id(value)


def test_parse_optional_id():
    assert parse_optional_id(None) is None and parse_optional_id("") is None and parse_optional_id("3") == 3
