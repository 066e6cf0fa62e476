"""Block Kit for `/content` results: the reply, More results, shares and feedback replies."""

from __future__ import annotations

from bot.content.search import ItemView, ResultItem, SearchOutcome
from bot.render import blocks as bk

ACRONYMS = {"cfo": "CFO", "roi": "ROI", "it": "IT", "faq": "FAQ"}
FILTER_HINT = "Narrow it down with `type:` `stage:` `persona:` (e.g. `type:case_study`) · `/content help`"


def label(value: str) -> str:
    text = " ".join(ACRONYMS.get(w, w) for w in value.split("_"))
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


def _intro(outcome: SearchOutcome, query: str, where: str) -> str:
    if not outcome.confident:
        intro = f":warning: *No good match* for “{query}”{where}. I noted it as a content gap so marketing can fill it."
        if outcome.missing_terms:
            names = ", ".join(f"*{bk.escape(term)}*" for term in outcome.missing_terms[:5])
            intro += f"\nNothing in the library mentions {names}."
        if outcome.results:
            intro += "\nThe closest items are *weak matches* — check before you send them:"
        elif outcome.filters:
            intro += "\nNothing in the library has these filters; try fewer."
        return intro
    if outcome.weak:
        return f"Content for “{query}”{where} — these may be *weak matches*, check before you send them:"
    return f"Content for “{query}”{where}:"


def results_reply(outcome: SearchOutcome) -> dict:
    """The search reply; also its extended version after More results (same search, more items)."""
    query = bk.quote_user_text(outcome.text, 200)
    where = f" ({bk.escape(filters_text(outcome.filters))})" if outcome.filters else ""
    blocks: list[dict] = [bk.section(_intro(outcome, query, where))]
    weak = not outcome.confident or outcome.weak
    value_prefix = f"{outcome.search_id or 0}:"
    for result in outcome.results:
        blocks.append(bk.section(item_line(result.item, weak=weak) + "\n" + why_line(result)))
        value = value_prefix + str(result.item.id)
        blocks.append(
            bk.actions(
                [
                    bk.button("Share in channel", "content_share", value, style="primary"),
                    bk.button("Helpful", "content_helpful", value),
                    bk.button("Not helpful", "content_not_helpful", value),
                ],
                block_id=f"content_result_{result.item.id}",
            )
        )
    more: list[dict] = []
    if outcome.has_more and outcome.search_id:
        more.append(bk.button("More results", "content_more", str(outcome.search_id)))
    if not outcome.confident and outcome.search_id:
        more.append(bk.button("Request content", "content_request", str(outcome.search_id)))
    if more:
        blocks.append(bk.actions(more, block_id="content_more"))
    blocks.append(bk.context(FILTER_HINT))
    fallback = ("Content for: " if outcome.confident else "No good match for: ") + bk.escape(outcome.text)
    return bk.ephemeral(fallback, blocks)


def share_message(item: ItemView, user_id: str) -> dict:
    summary = bk.quote_user_text(item.summary, 300) if item.summary else ""
    blocks = [
        bk.section(item_line(item) + (f"\n{summary}" if summary else "")),
        bk.context(f"Shared by <@{user_id}> with /content"),
    ]
    return bk.message(f"{bk.escape(item.title)} {item.url}", blocks)


def feedback_text(item: ItemView, helpful: bool, learned: str | None, query: str | None = None) -> str:
    title = bk.escape(item.title)
    if helpful and learned:
        return f"Thanks! I'll rank *{title}* higher for searches like “{bk.quote_user_text(learned, 150)}”."
    if helpful:
        return f"Thanks! Noted that *{title}* helped."
    return (
        f"Thanks, noted that *{title}* didn't help: I'll rank it lower for searches like this one. "
        "Marketing sees this feedback."
    )
