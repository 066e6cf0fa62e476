"""The playground's HTML: Slack mrkdwn is escaped first, then only Slack's own markup applies;
command text is encoded the way Slack sends it."""

from revalign_dev.blockkit_html import Renderer
from revalign_dev.slack_text import encode_command_text

render = Renderer({"U0REP": "Jordan <Kim>"}, {"C0SALES": "sales"})


def test_text_can_never_become_html():
    html = render.mrkdwn("&lt;script&gt;alert(1)&lt;/script&gt; <img src=x onerror=alert(1)> & \"quotes\"")
    assert "<script" not in html and "<img" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;" in html and "&amp;" in html


def test_bold_italic_strike_code_links_and_mentions():
    html = render.mrkdwn("*bold* _italic_ ~gone~ `x<y` <https://example.com/a?b=1&amp;c=2|the *deck*> <@U0REP> <#C0SALES>")
    assert "<b>bold</b>" in html and "<i>italic</i>" in html and "<s>gone</s>" in html
    assert "<code>x&lt;y</code>" in html
    assert '<a href="https://example.com/a?b=1&amp;c=2"' in html and ">the *deck*</a>" in html  # labels stay text
    assert "@Jordan &lt;Kim&gt;" in html and "#sales" in html


def test_only_web_links_are_links():
    html = render.mrkdwn("<javascript:alert(1)|click me> <https://ok.example|ok>")
    assert 'href="javascript' not in html and "click me" in html
    assert 'href="https://ok.example"' in html


def test_blocks_escape_attributes_and_button_values():
    blocks = [{"type": "actions", "block_id": 'b"1', "elements": [
        {"type": "button", "action_id": "a", "value": '"><script>', "text": {"type": "plain_text", "text": "<b>x</b>"}}]}]
    html = render.blocks(blocks, surface="message", container="message:1")
    assert "<script>" not in html and "<b>x</b>" not in html
    assert 'data-value="&quot;&gt;&lt;script&gt;"' in html and 'data-block-id="b&quot;1"' in html


def test_command_text_is_encoded_as_slack_sends_it():
    text = encode_command_text("ask @jordan & @nobody about <b> in #sales, see https://x.example/?a=1&b=2",
                               {"jordan": "U0REP"}, {"sales": "C0SALES"})
    assert text == ("ask <@U0REP|jordan> &amp; @nobody about &lt;b&gt; in <#C0SALES|sales>, "
                    "see <https://x.example/?a=1&amp;b=2>")
