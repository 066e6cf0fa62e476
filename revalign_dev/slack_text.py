"""Text as Slack sends it in a slash command: `&`, `<` and `>` entity-encoded, and (with the
manifest's `should_escape: true`) mentions, channels and links wrapped in `<…>`."""

from __future__ import annotations

import re
from collections.abc import Mapping

_MENTION = re.compile(r"(?<![\w<@])@([a-z0-9][a-z0-9._-]*)", re.IGNORECASE)
_CHANNEL = re.compile(r"(?<![\w<#])#([a-z0-9][a-z0-9_-]*)", re.IGNORECASE)
_URL = re.compile(r"(?<![<|])\bhttps?://[^\s<>]+")


def encode_entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def encode_command_text(text: str, people: Mapping[str, str] | None = None,
                        channels: Mapping[str, str] | None = None) -> str:
    """`people` maps a handle ("jordan") to a user ID, `channels` a channel name to its ID.

    A typed `@jordan` becomes `<@U0REP|jordan>`, `#sales` becomes `<#C0SALES|sales>`, a URL
    becomes `<https://…>`; unknown handles stay text, as in Slack.
    """
    people = {k.lower(): v for k, v in (people or {}).items()}
    channels = {k.lower(): v for k, v in (channels or {}).items()}
    encoded = encode_entities(text)
    encoded = _URL.sub(lambda m: f"<{m.group(0)}>", encoded)

    def mention(match: re.Match) -> str:
        user_id = people.get(match.group(1).lower())
        return f"<@{user_id}|{match.group(1).lower()}>" if user_id else match.group(0)

    def channel(match: re.Match) -> str:
        channel_id = channels.get(match.group(1).lower())
        return f"<#{channel_id}|{match.group(1).lower()}>" if channel_id else match.group(0)

    return _CHANNEL.sub(channel, _MENTION.sub(mention, encoded))
