"""Block Kit builders that respect Slack's limits, escaping, and a text renderer.

Every builder truncates to Slack's documented maximums so a long definition
or a 4,000-character objection can never make Slack reject a message, and a
cut never splits an entity (`&amp;`) or a `<url|label>` in half.
User text must go through `escape()` (or `quote_user_text()`) before it is
placed in mrkdwn: that is what keeps `<!channel>` and `<@U123>` in user text
from pinging anyone. A message's notification fallback (`message(text=…)`) is
made inert by the builder itself, whatever the caller put in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from bot import slack_text
from bot.slack_text import escape

__all__ = ["escape"]  # re-exported: renderers call `bk.escape`

Block = dict[str, Any]

MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_MODAL = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_VALUE = 2000
MAX_ACTION_ELEMENTS = 25
MAX_MODAL_TITLE = 24
MAX_OPTION_TEXT = 75
MAX_OPTIONS = 100
MAX_FALLBACK_TEXT = 3000
MAX_INPUT_INITIAL = 3000

# An entity or a piece of markup that a cut at the end of the text would split.
_OPEN_TAIL = re.compile(r"(?:&[a-z]{0,4}|<[^<>]*)$")


def truncate(text: str, limit: int) -> str:
    """Shorten to at most `limit` characters with an ellipsis, never inside `&amp;` or `<…>`."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    open_tail = _OPEN_TAIL.search(cut)
    if open_tail:
        cut = cut[: open_tail.start()]
    return cut.rstrip() + "…"


def fallback(text: str) -> str:
    """A notification fallback that cannot ping or link: markup is escaped, existing entities are kept.

    Callers pass either plain text or text they escaped already; escaping `&` only
    where it does not start an entity makes both come out escaped exactly once.
    """
    text = re.sub(r"&(?!(?:amp|lt|gt);)", "&amp;", text)
    return truncate(text.replace("<", "&lt;").replace(">", "&gt;"), MAX_FALLBACK_TEXT)


def quote_user_text(text: str, limit: int = 200) -> str:
    """User text for echoing inside mrkdwn: shortened, escaped, one line."""
    flat = " ".join(text.split())
    return escape(truncate(flat, limit))


def link(url: str, title: str) -> str:
    # Inside `<url|label>` Slack wants `&` as `&amp;`; `|`, `<` and `>` would end the link early.
    safe_url = url.replace("&", "&amp;").replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe_url}|{escape(title.replace('|', '¦'))}>"


def plain(text: str, limit: int = MAX_SECTION_TEXT, emoji: bool = True) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text or " ", limit), "emoji": emoji}


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text or " ", limit)}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER_TEXT)}


def section(text: str, *, accessory: dict | None = None, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id[:255]
    return block


def fields(pairs: Sequence[tuple[str, str]]) -> Block:
    return {
        "type": "section",
        "fields": [mrkdwn(f"*{label}*\n{value}", MAX_FIELD_TEXT) for label, value in pairs[:MAX_FIELDS]],
    }


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:MAX_CONTEXT_ELEMENTS]]}


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    value: str = "",
    *,
    style: str | None = None,
    url: str | None = None,
    confirm: dict | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, MAX_BUTTON_TEXT), "action_id": action_id[:255]}
    if value:
        element["value"] = value[:MAX_VALUE]
    if style in ("primary", "danger"):
        element["style"] = style
    if url:
        element["url"] = url[:3000]
    if confirm:
        element["confirm"] = confirm
    return element


def actions(elements: Iterable[dict[str, Any]], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)[:MAX_ACTION_ELEMENTS]}
    if block_id:
        block["block_id"] = block_id[:255]
    return block


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, MAX_OPTION_TEXT), "value": value[:150]}


def text_input(
    label: str,
    block_id: str,
    action_id: str,
    *,
    initial: str | None = None,
    multiline: bool = False,
    optional: bool = False,
    max_length: int | None = None,
    placeholder: str | None = None,
) -> Block:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id, "multiline": multiline}
    if initial:
        # Slack refuses the whole view when initial_value is longer than max_length.
        element["initial_value"] = initial[: min(MAX_INPUT_INITIAL, max_length or MAX_INPUT_INITIAL)]
    if max_length:
        element["max_length"] = max_length
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }


def message(text: str, blocks: list[Block] | None = None, **extra: Any) -> dict[str, Any]:
    """A message payload; `text` is the notification fallback (plain or escaped text; made inert here)."""
    payload: dict[str, Any] = {"text": fallback(text)}
    if blocks:
        payload["blocks"] = blocks[:MAX_BLOCKS_MESSAGE]
    payload.update(extra)
    return payload


def ephemeral(text: str, blocks: list[Block] | None = None) -> dict[str, Any]:
    return message(text, blocks, response_type="ephemeral")


def modal(
    title: str,
    blocks: list[Block],
    *,
    callback_id: str,
    submit: str | None = "Submit",
    close: str = "Cancel",
    private_metadata: str = "",
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, MAX_MODAL_TITLE),
        "close": plain(close, MAX_MODAL_TITLE),
        "blocks": blocks[:MAX_BLOCKS_MODAL],
        "private_metadata": private_metadata[:3000],
    }
    if submit:
        view["submit"] = plain(submit, MAX_MODAL_TITLE)
    return view


# --- rendering to terminal text -------------------------------------------------


def mrkdwn_to_text(text: str) -> str:
    """Mrkdwn as a person reads it, for the CLI and the tests (entities decoded once)."""
    text = slack_text.LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    text = slack_text.USER_MENTION.sub(r"@\1", text)
    text = slack_text.CHANNEL_MENTION.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = slack_text.DATE.sub(r"\1", text)
    return slack_text.decode_entities(text)


def _element_text(element: dict[str, Any]) -> str:
    text = element.get("text")
    if isinstance(text, dict):
        return mrkdwn_to_text(text.get("text", ""))
    return mrkdwn_to_text(str(text or ""))


def render_blocks(blocks: Sequence[Block]) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _element_text(block)
            lines += ["", title.upper(), "=" * min(len(title), 60)]
        elif kind == "section":
            if "text" in block:
                lines.append(_element_text(block))
            for field in block.get("fields", []):
                lines.append(mrkdwn_to_text(field.get("text", "")).replace("\n", ": ", 1))
            accessory = block.get("accessory")
            if accessory and accessory.get("type") == "button":
                lines.append(f"[{_element_text(accessory)}]")
        elif kind == "context":
            lines.append("  " + "  ·  ".join(_element_text(e) for e in block.get("elements", []) if "text" in e))
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "actions":
            labels = [f"[{_element_text(e)}]" for e in block.get("elements", []) if e.get("type") == "button"]
            if labels:
                lines.append(" ".join(labels))
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}] {block.get('image_url') or ''}".rstrip())
        elif kind == "input":
            element = block.get("element", {})
            lines.append(f"{_element_text(block.get('label', {}))}: {element.get('initial_value', '')}")
        elif kind == "rich_text":
            lines.append(rich_text_plain(block))
    return "\n".join(lines).strip("\n")


def rich_text_plain(block: Block) -> str:
    """The plain text of a rich_text block (its text leaves, in order)."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                parts.append(node.get("text", ""))
            for child in node.get("elements", []):
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(block)
    return "".join(parts)


def render_message(payload: dict[str, Any]) -> str:
    blocks = payload.get("blocks")
    if blocks:
        return render_blocks(blocks)
    return mrkdwn_to_text(payload.get("text", ""))
