"""The Block Kit builders against Slack's documented limits, checked by slack_sdk's own models."""

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.render import blocks as bk
from tests.fake_slack import message_problems, view_problems


def _slack_accepts(block: dict) -> dict:
    parsed = Block.parse(block)
    assert parsed is not None, block
    return parsed.to_dict()  # raises SlackObjectFormationError on anything Slack would refuse


def test_slack_sdk_rejects_what_slack_rejects():
    # The check below means something: the raw shapes over the limits are refused.
    with pytest.raises(SlackObjectFormationError):
        _slack_accepts({"type": "header", "text": {"type": "plain_text", "text": "x" * 151}})
    with pytest.raises(SlackObjectFormationError):
        View(type="modal", title={"type": "plain_text", "text": "x" * 25}, blocks=[{"type": "divider"}]).to_dict()


@pytest.mark.parametrize(
    "block",
    [
        bk.header("x" * 500),
        bk.section("y" * 5000, accessory=bk.button("z" * 100, "a" * 300, "v" * 5000)),
        bk.fields([(f"label {i}", "w" * 3000) for i in range(20)]),
        bk.context(*["c" * 5000] * 20),
        bk.actions([bk.button("b" * 200, f"act_{i}", "v" * 3000, style="primary") for i in range(40)]),
        bk.text_input("l" * 3000, "blk", "act", initial="i" * 5000, placeholder="p" * 500, multiline=True),
        bk.text_input("Objection", "blk", "act", initial="i" * 500, max_length=300),
    ],
)
def test_builders_stay_within_slacks_limits(block):
    _slack_accepts(block)
    assert message_problems({"text": "t", "blocks": [block]}, "test") == []


def test_text_input_initial_value_never_exceeds_max_length():
    block = bk.text_input("Objection", "blk", "act", initial="i" * 500, max_length=300)
    assert view_problems(bk.modal("Tag", [block], callback_id="c"), "test") == []


def test_messages_and_modals_are_accepted_whole():
    message = bk.message("t" * 50_000, [bk.divider()] * 80)
    assert message_problems(message, "test") == []
    modal = bk.modal(
        "A very long modal title indeed",
        [bk.section("s")] * 150,
        callback_id="c",
        submit="Submit everything now please",
        close="Cancel this long thing",
        private_metadata="m" * 5000,
    )
    assert view_problems(modal, "test") == []
    options = [bk.option("o" * 200, "v" * 300) for _ in range(3)]
    _slack_accepts({"type": "actions", "elements": [{"type": "static_select", "action_id": "s", "options": options}]})


def test_escape_neutralises_mentions_and_html():
    assert bk.escape("<!channel> & <@U123> <b>") == "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;b&gt;"


def test_fallback_text_is_inert_and_escaped_once():
    assert (
        bk.message("<!here> R&D <https://evil.example|x>")["text"]
        == "&lt;!here&gt; R&amp;D &lt;https://evil.example|x&gt;"
    )
    assert bk.message(bk.escape("R&D <b>"))["text"] == "R&amp;D &lt;b&gt;"  # already escaped: unchanged


@pytest.mark.parametrize(
    "text, limit",
    [
        ("R&amp;D " * 10, 12),
        ("see <https://x.example/a|the long label here> ok", 30),
        ("&lt;&gt;&amp;" * 20, 16),
    ],
)
def test_truncation_never_cuts_an_entity_or_a_link(text, limit):
    cut = bk.truncate(text, limit)
    assert len(cut) <= limit and cut.endswith("…")
    body = cut[:-1]
    assert body.count("<") == body.count(">")
    assert all(part.startswith(("amp;", "lt;", "gt;")) for part in body.split("&")[1:])


def test_quote_user_text_truncates_and_flattens():
    quoted = bk.quote_user_text("a\n" * 3000, limit=50)
    assert len(quoted) <= 50 and "\n" not in quoted


def test_render_message_turns_mrkdwn_into_text():
    payload = bk.message(
        "fallback",
        [
            bk.header("Title"),
            bk.section("See <https://x.example|the doc> &amp; more"),
            bk.actions([bk.button("Share", "share")]),
        ],
    )
    text = bk.render_message(payload)
    assert "TITLE" in text and "the doc (https://x.example) & more" in text and "[Share]" in text
