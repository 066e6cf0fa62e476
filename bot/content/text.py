"""Turning what a rep typed (already decoded from Slack's entities at the edge) into plain search text."""

from __future__ import annotations

from bot.slack_text import markup_to_words

MAX_QUERY_CHARS = 4000


def clean_slack_text(raw: str) -> str:
    """Slack markup to words: links to their label, mentions to names, `<!channel>` removed.

    The text is plain already (decoded once by the edge middleware); entities are
    not decoded again here, so a rep who typed `&lt;` searches for `&lt;`.
    """
    text = markup_to_words((raw or "")[: MAX_QUERY_CHARS * 2])
    return " ".join(text.split())[:MAX_QUERY_CHARS]


def has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def phrasing_of(text: str, limit: int = 300) -> str:
    """A query shortened (on a word boundary) to store as a learned phrasing."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut or text[:limit]
