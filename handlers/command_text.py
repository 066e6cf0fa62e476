"""The text of a slash command as the person typed it.

Slack sends command text entity-encoded (`&amp;`, `&lt;`, `&gt;`); it is decoded exactly once here,
stored as plain text, and escaped again only when rendered (bot/render).
# TODO(merge): when the edge's decode-once middleware lands, return command["text"] unchanged here.
"""

from __future__ import annotations


def command_text(command: dict) -> str:
    text = str(command.get("text") or "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
