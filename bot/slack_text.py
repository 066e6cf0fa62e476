"""Slack's text format, in one place: decoding what Slack sends, escaping what we send.

Slack sends user text entity-encoded: `&`, `<` and `>` typed by a person arrive
as `&amp;`, `&lt;` and `&gt;`; a literal `<` in the payload is always Slack's own
markup (a mention `<@U123|maria>`, `<!here>` for a typed @here, an auto-linked
URL `<https://…>`). The rule of the app is:

- decode exactly once, at the edge (`from_slack`, called by the Bolt middleware
  in `handlers/edge.py`), so listeners and the database only ever see plain text;
- escape exactly once, when rendering mrkdwn (`escape`, used by `bot/render`).

The markup patterns below are the only copy in the code base; `bot/render/blocks.py`
(mrkdwn to terminal text) and `bot/content/text.py` (search text) use them.
"""

from __future__ import annotations

import re

# --- Slack's markup ---------------------------------------------------------------
LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
CHANNEL_MENTION = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
# <!here>, <!channel>, <!everyone>, <!subteam^S123|@team> and other special commands.
SPECIAL = re.compile(r"<!(?:subteam\^[A-Z0-9]+(?:\|([^>]*))?|[a-z]+(?:\^[^|>]*)?(?:\|[^>]*)?)>")
BROADCAST = re.compile(r"<!(?:here|channel|everyone)(?:\|[^>]*)?>")
ANY_MARKUP = re.compile(r"<[^<>]*>")

# C0 control characters except tab and newline (and DEL): PostgreSQL refuses NUL
# in text, SQLite stores it; neither is anything a person meant to type.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITY_VALUES = {"amp": "&", "lt": "<", "gt": ">"}
_BARE_AUTOLINK = re.compile(r"<((?:https?|mailto):[^|<>]+)>")


def strip_controls(text: str) -> str:
    """Remove NUL and the other C0 control characters, keeping newlines and tabs (and CR+LF as LF)."""
    return _CONTROL.sub("", text.replace("\r\n", "\n"))


def decode_entities(text: str) -> str:
    """Slack's three entities back to characters, in one pass (so `&amp;lt;` becomes `&lt;`, not `<`)."""
    return _ENTITY.sub(lambda m: _ENTITY_VALUES[m.group(1)], text)


def from_slack(text: str) -> str:
    """Text as Slack encodes it (slash-command text, message text) to the plain text the person typed.

    Auto-linked URLs (`<https://x>`, which Slack makes of a typed URL) become the URL
    again; mentions (`<@U123|maria>`, `<#C123|deals>`, `<!here>`) stay as Slack's markup
    so commands can read user ids, and are escaped like any other text when echoed.
    """
    text = strip_controls(text or "")
    text = _BARE_AUTOLINK.sub(lambda m: m.group(1), text)
    return decode_entities(text)


def to_slack(text: str) -> str:
    """What Slack sends for text a person typed: the inverse of `from_slack` (for tests and `revalign ask`)."""
    escaped = escape(text)
    # A URL standing on its own is auto-linked; one right after a typed `<` is left as text.
    return re.sub(r"(?<![\w/;])(https?://[^\s&<>|]+)", r"<\1>", escaped)


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def defang(mrkdwn: str) -> str:
    """Mrkdwn built by the app, with anything that could notify or link made inert.

    Used where the app's own messages (errors, notification fallbacks) may have had
    user text spliced in without escaping: broadcasts and subteam pings, links and
    labelled mentions are escaped; the app's plain `<@U123>`, `<#C123>` and
    `<!date^…>` markup is kept.
    """

    def inert(match: re.Match[str]) -> str:
        token = match.group(0)
        if re.fullmatch(r"<@[UW][A-Z0-9]+>|<#[CG][A-Z0-9]+>|<!date\^\d+\^[^|>]*\|[^>]*>", token):
            return token
        return escape(token)

    return ANY_MARKUP.sub(inert, mrkdwn)


def markup_to_words(text: str) -> str:
    """Slack markup to the words a person reads: links to their label, mentions to names, broadcasts dropped."""
    text = LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = USER_MENTION.sub(lambda m: m.group(2) or "", text)
    text = CHANNEL_MENTION.sub(lambda m: m.group(2) or "", text)
    return SPECIAL.sub(lambda m: m.group(1) or "", text)
