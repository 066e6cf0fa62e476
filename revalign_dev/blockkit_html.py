"""Block Kit and Slack mrkdwn rendered as HTML for the playground, escaped throughout.

mrkdwn arrives entity-encoded, as Slack stores it (`&lt;` for a literal `<`); only Slack's own
`<…>` tokens (links, mentions, channels, dates) are markup. The renderer pulls those out first,
HTML-escapes everything else, and only then applies *bold*, _italic_, ~strike~, `code` and
quotes, so no text from a message can become HTML.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

from bot.render.blocks import rich_text_plain

EMOJI = {
    "tada": "🎉", "warning": "⚠️", "white_check_mark": "✅", "x": "❌", "heavy_check_mark": "✔️",
    "chart_with_upwards_trend": "📈", "chart_with_downwards_trend": "📉", "calendar": "📅", "memo": "📝",
    "bulb": "💡", "rotating_light": "🚨", "hourglass": "⏳", "hourglass_flowing_sand": "⏳", "pushpin": "📌",
    "mag": "🔍", "inbox_tray": "📥", "clipboard": "📋", "star": "⭐", "thumbsup": "👍", "+1": "👍",
    "thumbsdown": "👎", "-1": "👎", "arrow_up": "⬆️", "arrow_down": "⬇️", "large_green_circle": "🟢",
    "red_circle": "🔴", "large_yellow_circle": "🟡", "new": "🆕", "speech_balloon": "💬", "link": "🔗",
}

_TOKEN = re.compile(r"<([^<>\n]*)>")
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])")
_EMOJI = re.compile(r":([a-z0-9_+-]+):")
_SAFE_URL = re.compile(r"^(https?://|mailto:)[^\s\"'<>]+$", re.IGNORECASE)


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def decode_entities(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class Renderer:
    def __init__(self, people: Mapping[str, str] | None = None, channels: Mapping[str, str] | None = None,
                 file_url=None) -> None:
        self.people = dict(people or {})
        self.channels = dict(channels or {})
        self.file_url = file_url or (lambda file_id: f"/files/{file_id}")

    # --- text ----------------------------------------------------------------------------------
    def mrkdwn(self, text: str) -> str:
        text = (text or "").replace("\x00", "").replace("\x01", "")
        tokens: list[str] = []

        def hold(match: re.Match) -> str:
            tokens.append(self._token(match.group(1)))
            return f"\x00{len(tokens) - 1}\x00"

        held = _TOKEN.sub(hold, text)
        safe = esc(decode_entities(held))
        lines = []
        for line in safe.split("\n"):
            quoted = line.startswith("&gt; ") or line == "&gt;"
            if quoted:
                line = line[5:] if line.startswith("&gt; ") else ""
            line = self._inline(line)
            lines.append(f'<span class="quote">{line}</span>' if quoted else line)
        out = "<br>".join(lines)
        return _PLACEHOLDER.sub(lambda m: tokens[int(m.group(1))], out)

    def _inline(self, line: str) -> str:
        codes: list[str] = []

        def hold_code(match: re.Match) -> str:
            codes.append(f"<code>{match.group(1)}</code>")
            return f"\x01{len(codes) - 1}\x01"

        line = _CODE.sub(hold_code, line)
        line = _BOLD.sub(r"<b>\1</b>", line)
        line = _ITALIC.sub(r"<i>\1</i>", line)
        line = _STRIKE.sub(r"<s>\1</s>", line)
        line = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), line)
        return re.sub("\x01(\\d+)\x01", lambda m: codes[int(m.group(1))], line)

    def _token(self, inner: str) -> str:
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            user_id = target[1:]
            name = self.people.get(user_id) or label or user_id
            return f'<span class="mention" title="{esc(user_id)}">@{esc(name)}</span>'
        if target.startswith("#"):
            channel_id = target[1:]
            name = self.channels.get(channel_id) or label or channel_id
            return f'<span class="mention">#{esc(name)}</span>'
        if target.startswith("!"):
            if target.startswith("!date"):
                return esc(decode_entities(label or target))
            return f'<span class="mention">@{esc(target[1:].split("^")[0])}</span>'
        url = decode_entities(target)
        shown = esc(decode_entities(label)) if label else esc(url)
        if _SAFE_URL.match(url):
            return f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{shown}</a>'
        return shown

    def text_object(self, obj: Any) -> str:
        if isinstance(obj, str):
            return esc(obj)
        if not isinstance(obj, dict):
            return ""
        if obj.get("type") == "mrkdwn":
            return self.mrkdwn(obj.get("text", ""))
        return esc(obj.get("text", "")).replace("\n", "<br>")

    # --- blocks ----------------------------------------------------------------------------------
    def blocks(self, blocks: list[dict] | None, *, surface: str, container: str) -> str:
        """`container` ("message:<id>" or "view:<id>") tells the page where an action happened."""
        return "".join(self.block(b, surface=surface, container=container) for b in blocks or [] if isinstance(b, dict))

    def block(self, block: dict, *, surface: str, container: str) -> str:
        kind = block.get("type")
        block_id = block.get("block_id", "")
        attrs = f'class="bk-{esc(kind)}" data-block-id="{esc(block_id)}"'
        if kind == "header":
            return f'<div {attrs}>{self.text_object(block.get("text"))}</div>'
        if kind == "divider":
            return '<hr class="bk-divider">'
        if kind == "section":
            parts = []
            if block.get("text"):
                parts.append(f'<div class="bk-text">{self.text_object(block["text"])}</div>')
            if block.get("fields"):
                parts.append('<div class="bk-fields">' + "".join(
                    f'<div class="bk-field">{self.text_object(f)}</div>' for f in block["fields"]) + "</div>")
            accessory = block.get("accessory")
            side = ""
            if accessory:
                side = f'<div class="bk-accessory">{self.element(accessory, block_id, container)}</div>'
            return f'<div {attrs}><div class="bk-main">{"".join(parts)}</div>{side}</div>'
        if kind == "context":
            items = []
            for element in block.get("elements", []):
                if element.get("type") == "image":
                    items.append(f'<img class="bk-context-img" src="{esc(self._image_url(element))}" '
                                 f'alt="{esc(element.get("alt_text", ""))}">')
                else:
                    items.append(f"<span>{self.text_object(element)}</span>")
            return f'<div {attrs}>{" ".join(items)}</div>'
        if kind == "actions":
            return f'<div {attrs}>' + "".join(
                self.element(e, block_id, container) for e in block.get("elements", [])) + "</div>"
        if kind == "image":
            title = block.get("title")
            caption = f'<div class="bk-image-title">{self.text_object(title)}</div>' if title else ""
            return (f'<figure {attrs}>{caption}<img src="{esc(self._image_url(block))}" '
                    f'alt="{esc(block.get("alt_text", ""))}"></figure>')
        if kind == "input":
            return self.input_block(block)
        if kind == "rich_text":
            return f'<div {attrs}>{esc(rich_text_plain(block))}</div>'
        return f'<div class="bk-unknown">[{esc(kind)} block]</div>'

    def _image_url(self, element: dict) -> str:
        url = element.get("image_url") or ""
        if not url and isinstance(element.get("slack_file"), dict):
            return self.file_url(element["slack_file"].get("id", ""))
        return url if _SAFE_URL.match(url) else ""

    def element(self, element: dict, block_id: str, container: str) -> str:
        kind = element.get("type")
        common = (f'data-container="{esc(container)}" data-block-id="{esc(block_id)}" '
                  f'data-action-id="{esc(element.get("action_id", ""))}" data-type="{esc(kind)}"')
        if kind == "button":
            style = element.get("style", "")
            url = element.get("url") or ""
            confirm = element.get("confirm")
            extra = f' data-confirm="{esc(_confirm_text(confirm))}"' if confirm else ""
            if url and _SAFE_URL.match(url):
                extra += f' data-url="{esc(url)}"'
            return (f'<button class="bk-button {esc(style)}" {common} data-value="{esc(element.get("value", ""))}"'
                    f'{extra}>{self.text_object(element.get("text"))}</button>')
        if kind == "image":
            return f'<img class="bk-accessory-img" src="{esc(self._image_url(element))}" alt="{esc(element.get("alt_text", ""))}">'
        if kind in ("static_select", "overflow"):
            options = element.get("options") or [o for g in element.get("option_groups", []) for o in g.get("options", [])]
            placeholder = element.get("placeholder") or {"text": "⋯" if kind == "overflow" else "Choose…"}
            rendered = "".join(f'<option value="{esc(o.get("value", ""))}">{esc((o.get("text") or {}).get("text", ""))}</option>'
                               for o in options)
            return (f'<select class="bk-select" {common} data-options="{esc(json.dumps(options))}">'
                    f'<option value="" selected disabled>{esc(placeholder.get("text", ""))}</option>{rendered}</select>')
        text = element.get("text") or element.get("placeholder") or {"text": kind}
        return f'<span class="bk-unknown">[{esc(kind)}: {self.text_object(text)}]</span>'

    # --- modal inputs ----------------------------------------------------------------------------
    def input_block(self, block: dict) -> str:
        element = block.get("element") or {}
        kind = element.get("type")
        block_id = block.get("block_id", "")
        action_id = element.get("action_id", "")
        label = self.text_object(block.get("label"))
        optional = ' <span class="optional">(optional)</span>' if block.get("optional") else ""
        hint = f'<div class="hint">{self.text_object(block["hint"])}</div>' if block.get("hint") else ""
        field_id = f"in-{esc(block_id)}-{esc(action_id)}"
        common = f'data-input="{esc(kind)}" data-block-id="{esc(block_id)}" data-action-id="{esc(action_id)}" id="{field_id}"'
        placeholder = esc((element.get("placeholder") or {}).get("text", ""))
        if kind == "plain_text_input":
            value = esc(element.get("initial_value", ""))
            limit = f' maxlength="{int(element["max_length"])}"' if element.get("max_length") else ""
            if element.get("multiline"):
                control = f'<textarea {common} rows="4" placeholder="{placeholder}"{limit}>{value}</textarea>'
            else:
                control = f'<input type="text" {common} value="{value}" placeholder="{placeholder}"{limit}>'
        elif kind in ("static_select", "multi_static_select"):
            multiple = " multiple" if kind.startswith("multi") else ""
            initial = [o.get("value") for o in element.get("initial_options", [])]
            if element.get("initial_option"):
                initial.append(element["initial_option"].get("value"))
            options = element.get("options") or [o for g in element.get("option_groups", []) for o in g.get("options", [])]
            rendered = "".join(
                f'<option value="{esc(o.get("value", ""))}"{" selected" if o.get("value") in initial else ""}>'
                f'{esc((o.get("text") or {}).get("text", ""))}</option>' for o in options)
            empty = "" if multiple else f'<option value="">{placeholder or "Choose…"}</option>'
            control = f'<select {common}{multiple}>{empty}{rendered}</select>'
        elif kind in ("external_select", "multi_external_select"):
            multiple = "true" if kind.startswith("multi") else "false"
            initial = element.get("initial_options") or ([element["initial_option"]] if element.get("initial_option") else [])
            chips = "".join(_chip(o) for o in initial)
            control = (f'<div class="typeahead" {common} data-multiple="{multiple}" '
                       f'data-min-query="{int(element.get("min_query_length", 1) or 0)}">'
                       f'<div class="chips">{chips}</div>'
                       f'<input type="text" class="typeahead-query" placeholder="{placeholder}" autocomplete="off">'
                       f'<div class="typeahead-options"></div></div>')
        elif kind in ("checkboxes", "radio_buttons"):
            input_type = "checkbox" if kind == "checkboxes" else "radio"
            initial = [o.get("value") for o in element.get("initial_options", [])]
            if element.get("initial_option"):
                initial.append(element["initial_option"].get("value"))
            control = f'<div {common}>' + "".join(
                f'<label class="choice"><input type="{input_type}" name="{field_id}" value="{esc(o.get("value", ""))}"'
                f'{" checked" if o.get("value") in initial else ""} data-text="{esc((o.get("text") or {}).get("text", ""))}"> '
                f'{self.text_object(o.get("text"))}</label>' for o in element.get("options", [])) + "</div>"
        elif kind == "datepicker":
            control = f'<input type="date" {common} value="{esc(element.get("initial_date", ""))}">'
        elif kind == "number_input":
            control = f'<input type="number" {common} value="{esc(element.get("initial_value", ""))}" step="any">'
        else:
            control = f'<span class="bk-unknown">[{esc(kind)} input]</span>'
        return (f'<div class="bk-input" data-block-id="{esc(block_id)}"><label for="{field_id}">{label}{optional}</label>'
                f'{control}{hint}<div class="error" data-error-for="{esc(block_id)}"></div></div>')


def _chip(option: dict) -> str:
    text = (option.get("text") or {}).get("text", "")
    return (f'<span class="chip" data-value="{esc(option.get("value", ""))}" data-text="{esc(text)}">{esc(text)}'
            f'<button type="button" class="chip-x" aria-label="remove">×</button></span>')


def _confirm_text(confirm: dict) -> str:
    parts = [(confirm.get(k) or {}).get("text", "") for k in ("title", "text")]
    return decode_entities("\n".join(p for p in parts if p))


