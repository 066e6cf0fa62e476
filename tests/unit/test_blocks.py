from bot.render import blocks as bk


def test_escape_neutralises_mentions_and_html():
    assert bk.escape("<!channel> & <@U123> <b>") == "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;b&gt;"


def test_quote_user_text_truncates_and_flattens():
    quoted = bk.quote_user_text("a\n" * 3000, limit=50)
    assert len(quoted) <= 50 and "\n" not in quoted


def test_builders_respect_slack_limits():
    assert len(bk.header("x" * 500)["text"]["text"]) == bk.MAX_HEADER_TEXT
    assert len(bk.section("y" * 5000)["text"]["text"]) == bk.MAX_SECTION_TEXT
    assert len(bk.button("z" * 100, "a")["text"]["text"]) == bk.MAX_BUTTON_TEXT
    assert len(bk.message("t", [bk.divider()] * 80)["blocks"]) == bk.MAX_BLOCKS_MESSAGE
    assert len(bk.modal("A very long modal title indeed", [], callback_id="c")["title"]["text"]) <= 24


def test_render_message_turns_mrkdwn_into_text():
    payload = bk.message("fallback", [bk.header("Title"), bk.section("See <https://x.example|the doc> &amp; more"),
                                       bk.actions([bk.button("Share", "share")])])
    text = bk.render_message(payload)
    assert "TITLE" in text and "the doc (https://x.example) & more" in text and "[Share]" in text
