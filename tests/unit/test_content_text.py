"""Slack markup in /content queries becomes plain words; nothing can ping anyone."""

from bot.content.text import MAX_QUERY_CHARS, clean_slack_text, has_words, phrasing_of
from bot.slack_text import from_slack


def test_slack_markup_becomes_words():
    assert clean_slack_text("<!channel> <@U0BOSS01|maria> says <https://vantage.example|Vantage> is cheaper") == \
        "maria says Vantage is cheaper"
    assert clean_slack_text("<!here> ask <!subteam^S0123|@finance> in <#C0123|deals>") == "ask @finance in deals"
    # Entities were decoded once at the edge; decoding again here would turn typed "&lt;" into "<".
    assert clean_slack_text(from_slack("we're &lt;50% of &amp; price")) == "we're <50% of & price"
    assert clean_slack_text(from_slack("typed &amp;lt; literally")) == "typed &lt; literally"
    assert clean_slack_text("  lots \n of\tspace ") == "lots of space"
    assert len(clean_slack_text("x" * 20000)) == MAX_QUERY_CHARS


def test_words_and_phrasings():
    assert not has_words("🙄🔥 ?!") and has_words("too 贵") and has_words("zu teuer")
    long = "word " * 200
    assert len(phrasing_of(long)) <= 300 and not phrasing_of(long).endswith(" ")
