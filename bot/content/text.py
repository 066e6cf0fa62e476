"""Turning what Slack sends into plain search text."""

from __future__ import annotations

import re

MAX_QUERY_CHARS = 4000
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_USER = re.compile(r"<@[UW][A-Z0-9]+(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#C[A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(?:subteam\^[A-Z0-9]+(?:\|([^>]*))?|[a-z]+(?:\^[^|>]*)?(?:\|[^>]*)?)>")


def clean_slack_text(raw: str) -> str:
    """Slack markup to words: links to their label, mentions to names, `<!channel>` removed."""
    text = (raw or "")[: MAX_QUERY_CHARS * 2]
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _USER.sub(lambda m: m.group(1) or "", text)
    text = _CHANNEL.sub(lambda m: m.group(1) or "", text)
    text = _SPECIAL.sub(lambda m: m.group(1) or "", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
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
