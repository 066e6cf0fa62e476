"""`/content <objection>`: the search reply, and what a rep does with it (Share, Helpful, Not helpful)."""

from __future__ import annotations

import logging

from bot.content.service import ItemView, ResultItem, SearchOutcome
from bot.errors import InvalidInput
from bot.render import blocks as bk
from bot.services import Services
from handlers.registry import Registrar

log = logging.getLogger("revalign.handlers.content")

ACRONYMS = {"cfo": "CFO", "roi": "ROI", "it": "IT", "faq": "FAQ"}


def label(value: str) -> str:
    words = value.split("_")
    out = [ACRONYMS.get(w, w) for w in words]
    text = " ".join(out)
    return text[:1].upper() + text[1:]


def item_line(item: ItemView, *, weak: bool = False) -> str:
    title = item.title if item.title else item.url
    facets = " · ".join(label(v) for v in (item.type, item.stage, item.persona))
    marker = "  _(weak match)_" if weak else ""
    return f"*{bk.link(item.url, title)}*{marker}\n{facets}"


def why_line(result: ResultItem) -> str:
    reason = bk.quote_user_text(result.reason or "", 180)
    kind = result.reason_kind
    if kind == "tag":
        return f"_Why:_ tagged “{reason}”"
    if kind == "sentence":
        return f"_Why:_ “{reason}”"
    if kind == "learned":
        return f"_Why:_ reps found it helpful for “{reason}”"
    if kind == "keywords":
        return f"_Why:_ mentions {reason}"
    return "_Why:_ its title matches"


def filters_text(filters: dict) -> str:
    return " ".join(f"`{k}:{','.join(v)}`" for k, v in filters.items())


def results_reply(outcome: SearchOutcome) -> dict:
    query = bk.quote_user_text(outcome.text, 200)
    where = f" ({filters_text(outcome.filters)})" if outcome.filters else ""
    blocks: list[dict] = []
    if outcome.confident:
        blocks.append(bk.section(f"Content for “{query}”{where}:"))
    else:
        intro = (f":warning: *No good match* for “{query}”{where}. I noted it as a content gap so marketing "
                 "can fill it.")
        if outcome.results:
            intro += "\nThe closest items are *weak matches* — check before you send them:"
        elif outcome.filters:
            intro += "\nNothing in the library has these filters; try fewer."
        blocks.append(bk.section(intro))
    value_prefix = f"{outcome.search_id or 0}:"
    for result in outcome.results:
        blocks.append(bk.section(item_line(result.item, weak=not outcome.confident) + "\n" + why_line(result)))
        value = value_prefix + str(result.item.id)
        blocks.append(bk.actions([
            bk.button("Share in channel", "content_share", value, style="primary"),
            bk.button("Helpful", "content_helpful", value),
            bk.button("Not helpful", "content_not_helpful", value),
        ], block_id=f"content_result_{result.item.id}"))
    blocks.append(bk.context("Narrow it down with `type:` `stage:` `persona:` (e.g. `type:case_study`) · `/content help`"))
    fallback = ("Content for: " if outcome.confident else "No good match for: ") + outcome.text
    return bk.ephemeral(fallback, blocks)


def search(services: Services, text: str, command: dict, respond) -> None:
    """The default `/content` verb: search the library for what the prospect said."""
    outcome = services.content.search(text, user_id=command["user_id"], channel_id=command.get("channel_id", ""))
    respond(**results_reply(outcome))


def _parse_value(value: str) -> tuple[int | None, int]:
    search, _, item = (value or "").partition(":")
    try:
        return (int(search) or None), int(item)
    except ValueError:
        raise InvalidInput("That button is out of date; run /content again.") from None


def register(registrar: Registrar, services: Services) -> None:
    @registrar.action("content_share")
    def share(ack, body, action, respond) -> None:
        ack()
        search_id, item_id = _parse_value(action.get("value", ""))
        user_id = body["user"]["id"]
        channel_id = (body.get("channel") or {}).get("id", "")
        item = services.content.record_share(user_id=user_id, channel_id=channel_id, search_id=search_id,
                                             item_id=item_id)
        summary = bk.quote_user_text(item.summary, 300) if item.summary else ""
        blocks = [bk.section(item_line(item) + (f"\n{summary}" if summary else "")),
                  bk.context(f"Shared by <@{user_id}> with /content")]
        respond(response_type="in_channel", replace_original=False, text=f"{item.title} {item.url}", blocks=blocks)

    def feedback(ack, body, action, respond, helpful: bool) -> None:
        ack()
        search_id, item_id = _parse_value(action.get("value", ""))
        item, learned = services.content.record_feedback(
            user_id=body["user"]["id"], channel_id=(body.get("channel") or {}).get("id", ""),
            search_id=search_id, item_id=item_id, helpful=helpful)
        title = bk.escape(item.title)
        if helpful and learned:
            text = (f"Thanks! I'll rank *{title}* higher for searches like “{bk.quote_user_text(learned, 150)}”.")
        elif helpful:
            text = f"Thanks! Noted that *{title}* helped."
        else:
            text = f"Thanks, noted that *{title}* didn't help. Marketing sees this feedback."
        respond(response_type="ephemeral", replace_original=False, text=text)

    @registrar.action("content_helpful")
    def helpful(ack, body, action, respond) -> None:
        feedback(ack, body, action, respond, True)

    @registrar.action("content_not_helpful")
    def not_helpful(ack, body, action, respond) -> None:
        feedback(ack, body, action, respond, False)

