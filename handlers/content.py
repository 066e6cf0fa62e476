"""`/content`: the command's dispatcher, and marketing's side: tagging, gaps and learned phrasings.

The search itself (results, More results, Share, Helpful / Not helpful) is in `handlers/content_search.py`."""

from __future__ import annotations

import json
import logging

from bot.render import blocks as bk
from bot.content.text import clean_slack_text
from bot.errors import RevalignError
from bot.ids import parse_id
from bot.services import Services
from handlers import content_search
from handlers.registry import Registrar

log = logging.getLogger("revalign.handlers.content")

HELP = [
    ("/content we're 2x the price of Vantage", "the best content for what the prospect said (top 3, as buttons to share)"),
    ("/content type:case_study stage:decision persona:cfo no budget this quarter",
     "filter inline by type, stage and persona"),
    ("/content tag [objection]", "tag content with an objection (marketers; also the “Tag as objection” message shortcut)"),
    ("/content gaps", "objections reps searched that nothing answered (marketers)"),
    ("/content learned [url or title words]", "phrasings learned from reps' Helpful clicks, with Remove buttons (marketers)"),
    ("/content help", "how to use /content"),
]


def help_reply(services: Services) -> dict:
    vocabulary = services.content.vocabulary
    lines = "\n".join(f"`{bk.escape(usage)}` — {bk.escape(summary)}" for usage, summary in HELP)
    return bk.ephemeral("How to use /content", [
        bk.section("*/content* finds the best marketing content for what a prospect said. "
                   "Type the objection the way they said it:\n" + lines),
        bk.context("type: " + ", ".join(vocabulary.types)),
        bk.context("stage: " + ", ".join(vocabulary.stages) + "  ·  persona: " + ", ".join(vocabulary.personas)),
    ])


def gaps_reply(gaps) -> dict:
    if not gaps:
        return bk.ephemeral("No content gaps", [bk.section(
            "No content gaps right now: every objection reps searched had a good match. :tada:")])
    blocks = [bk.header("Content gaps"),
              bk.context("Objections reps searched that had no good match, grouped by similarity.")]
    for gap in gaps:
        last = gap.last_seen.strftime("%b %-d, %Y")
        times = "once" if gap.count == 1 else f"{gap.count} times"
        text = f"*“{bk.quote_user_text(gap.objection, 200)}”*\nAsked {times} · last {last}"
        if gap.examples:
            text += "\n_Also:_ " + " · ".join(f"“{bk.quote_user_text(e, 80)}”" for e in gap.examples)
        blocks.append(bk.section(text))
        blocks.append(bk.actions([
            bk.button("Tag content", "content_gap_tag", str(gap.id), style="primary"),
            bk.button("Dismiss", "content_gap_dismiss", str(gap.id)),
        ], block_id=f"content_gap_{gap.id}"))
    return bk.ephemeral(f"{len(gaps)} content gaps", blocks)


def learned_reply(items, learned) -> dict:
    if items:
        names = ", ".join(bk.link(i.url, i.title) for i in items[:5])
        intro = f"Learned phrasings of {names}:"
    else:
        intro = "The latest learned phrasings (queries reps marked Helpful):"
    if not learned:
        return bk.ephemeral("No learned phrasings", [bk.section(
            intro.rstrip(":") + ": none yet. They appear when reps click *Helpful* on a result.")])
    blocks = [bk.section(intro)]
    for entry in learned:
        blocks.append(bk.section(
            f"“{bk.quote_user_text(entry.phrasing, 200)}” → {bk.escape(entry.item_title)} (from <@{entry.added_by}>)",
            accessory=bk.button("Remove", "content_learned_remove", str(entry.id), style="danger")))
    blocks.append(bk.context("Removing a phrasing stops it from lifting that item in searches."))
    return bk.ephemeral(f"{len(learned)} learned phrasings", blocks)


def tag_modal(objection: str = "", gap_id: int | None = None) -> dict:
    select = {
        "type": "multi_external_select",
        "action_id": "content_items",
        "placeholder": bk.plain("Search the library by title or topic", 150),
        "min_query_length": 0,
        "max_selected_items": 10,
    }
    blocks = [
        bk.text_input("Objection, the way prospects say it", "objection", "objection",
                      initial=bk.truncate(objection, 300) if objection else None, max_length=300,
                      placeholder="we're locked into a Vantage contract"),
        {"type": "input", "block_id": "items", "label": bk.plain("Content that answers it", 2000),
         "element": select},
        bk.context("Tagged items rank higher for this objection in /content right away."),
    ]
    return bk.modal("Tag an objection", blocks, callback_id="content_tag", submit="Tag",
                    private_metadata=json.dumps({"gap_id": gap_id}))


def _int(value: str) -> int:
    return parse_id(value)  # range-checked before any query (bot/ids.py)


def register(registrar: Registrar, services: Services) -> None:
    services.on_startup("content index", lambda: services.content.start())
    content_search.register(registrar, services)

    @registrar.command("/content", help=HELP)
    def content_command(ack, command, respond, client) -> None:
        ack()
        text = (command.get("text") or "").strip()
        words = text.split()
        verb = words[0].lower() if words else "help"
        user_id = command["user_id"]
        if verb == "help" and len(words) <= 1:
            respond(**help_reply(services))
        elif verb == "tag":
            services.content.require_marketer(user_id, "tag content with objections")
            objection = clean_slack_text(text[3:])
            client.views_open(trigger_id=command["trigger_id"], view=tag_modal(objection))
        elif verb == "gaps" and len(words) == 1:
            respond(**gaps_reply(services.content.gaps(user_id)))
        elif verb == "learned":
            items, learned = services.content.learned_for(user_id, text[len("learned"):])
            respond(**learned_reply(items, learned))
        else:
            content_search.search(services, text, command, respond)

    @registrar.action("content_gap_tag")
    def gap_tag(ack, body, action, client, respond) -> None:
        ack()
        services.content.require_marketer(body["user"]["id"], "tag content with objections")
        gap_id = _int(action.get("value"))
        objection = services.content.gap_objection(gap_id)
        client.views_open(trigger_id=body["trigger_id"], view=tag_modal(objection, gap_id))

    @registrar.action("content_gap_dismiss")
    def gap_dismiss(ack, body, action, respond) -> None:
        ack()
        objection = services.content.dismiss_gap(body["user"]["id"], _int(action.get("value")))
        respond(response_type="ephemeral", replace_original=False,
                text=f"Dismissed the gap “{bk.quote_user_text(objection, 150)}”. It comes back if reps keep asking.")

    @registrar.action("content_learned_remove")
    def learned_remove(ack, body, action, respond) -> None:
        ack()
        removed = services.content.remove_learned(body["user"]["id"], _int(action.get("value")))
        respond(response_type="ephemeral", replace_original=False,
                text=f"Removed “{bk.quote_user_text(removed.phrasing, 150)}” from {bk.escape(removed.item_title)}.")

    @registrar.options("content_items")
    def item_options(ack, body) -> None:
        try:
            items = services.content.options_for(body.get("value") or "")
        except Exception:  # noqa: BLE001 - an empty list beats a broken select
            log.exception("content item options failed")
            items = []
        ack(options=[bk.option(i.title or i.url, str(i.id)) for i in items[:bk.MAX_OPTIONS]])

    @registrar.shortcut("tag_objection")
    def tag_shortcut(ack, shortcut, client, respond) -> None:
        ack()
        services.content.require_marketer(shortcut["user"]["id"], "tag content with objections")
        text = clean_slack_text((shortcut.get("message") or {}).get("text", ""))
        client.views_open(trigger_id=shortcut["trigger_id"], view=tag_modal(text[:300]))

    @registrar.view("content_tag")
    def tag_submit(ack, body, view) -> None:
        values = view.get("state", {}).get("values", {})
        objection = ((values.get("objection") or {}).get("objection") or {}).get("value") or ""
        selected = ((values.get("items") or {}).get("content_items") or {}).get("selected_options") or []
        try:
            gap_id = json.loads(view.get("private_metadata") or "{}").get("gap_id")
        except (ValueError, AttributeError):
            gap_id = None
        gap_id = gap_id if isinstance(gap_id, int) else None
        try:
            item_ids = [int(o["value"]) for o in selected]
        except (KeyError, TypeError, ValueError):
            ack(response_action="errors", errors={"items": "Pick the items again from the list."})
            return
        if not item_ids:
            ack(response_action="errors", errors={"items": "Pick at least one content item."})
            return
        try:
            tagged = services.content.tag(user_id=body["user"]["id"], objection=objection, item_ids=item_ids,
                                          gap_id=gap_id)
        except RevalignError as exc:  # PermissionDenied included: shown on the objection field
            ack(response_action="errors", errors={"objection": bk.truncate(str(exc), 150)})
            return
        names = "\n".join(f"• {bk.link(i.url, i.title)}" for i in tagged)
        ack(response_action="update", view=bk.modal("Tagged", [bk.section(
            f"Tagged “{bk.quote_user_text(objection, 200)}” on:\n{names}\n\nReps searching for it now see these first.")],
            callback_id="content_tagged", submit=None, close="Done"))
