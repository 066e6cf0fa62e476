"""Marketing's side of /content, rendered: help, tagging, gaps, learned phrasings, the content
report (Slack, terminal table, CSV and chart), content requests and the weekly summary."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.render import blocks as bk

if TYPE_CHECKING:
    from bot.content.gap_closing import ClosedGap
    from bot.content.gaps import GapSummary
    from bot.content.report import ContentReport, ItemUsage
    from bot.content.requests import AnswerNotice, FiledRequest, GapRequests
    from bot.content.summary import MarketingSummary
    from bot.content.vocabulary import Vocabulary

HELP = [
    (
        "/content we're 2x the price of Vantage",
        "the best content for what the prospect said (top 3, as buttons to share)",
    ),
    (
        "/content type:case_study stage:decision persona:cfo no budget this quarter",
        "filter inline by type, stage and persona",
    ),
    (
        "/content request <what you need>",
        "ask marketing for content that doesn't exist yet (you hear back when it does)",
    ),
    (
        "/content tag [objection]",
        "tag content with an objection (marketers; also the “Tag as objection” message shortcut)",
    ),
    ("/content gaps", "objections reps searched that nothing answered, and reps' requests (marketers and heads)"),
    (
        "/content report [period]",
        "what content is used, unused and not helpful, e.g. `30d`, `quarter` (marketers and heads)",
    ),
    (
        "/content learned [url or title words]",
        "phrasings learned from reps' Helpful clicks, with Remove buttons (marketers)",
    ),
    ("/content help", "how to use /content"),
]

ACRONYMS = {"cfo": "CFO", "roi": "ROI", "it": "IT", "faq": "FAQ"}


def label(value: str) -> str:
    text = " ".join(ACRONYMS.get(w, w) for w in value.split("_"))
    return text[:1].upper() + text[1:]


def _day(value: datetime | date | None) -> str:
    return value.strftime("%b %-d, %Y") if value else "never"


# --- help, tagging, learned ------------------------------------------------------------------
def help_reply(vocabulary: Vocabulary) -> dict:
    lines = "\n".join(f"`{bk.escape(usage)}` — {bk.escape(summary)}" for usage, summary in HELP)
    return bk.ephemeral(
        "How to use /content",
        [
            bk.section(
                "*/content* finds the best marketing content for what a prospect said. "
                "Type the objection the way they said it:\n" + lines
            ),
            bk.context("type: " + ", ".join(vocabulary.types)),
            bk.context("stage: " + ", ".join(vocabulary.stages) + "  ·  persona: " + ", ".join(vocabulary.personas)),
        ],
    )


def learned_reply(items, learned) -> dict:
    if items:
        names = ", ".join(bk.link(i.url, i.title) for i in items[:5])
        intro = f"Learned phrasings of {names}:"
    else:
        intro = "The latest learned phrasings (queries reps marked Helpful):"
    if not learned:
        return bk.ephemeral(
            "No learned phrasings",
            [bk.section(intro.rstrip(":") + ": none yet. They appear when reps click *Helpful* on a result.")],
        )
    blocks = [bk.section(intro)]
    for entry in learned:
        blocks.append(
            bk.section(
                f"“{bk.quote_user_text(entry.phrasing, 200)}” → {bk.escape(entry.item_title)} (from <@{entry.added_by}>)",
                accessory=bk.button("Remove", "content_learned_remove", str(entry.id), style="danger"),
            )
        )
    blocks.append(bk.context("Removing a phrasing stops it from lifting that item in searches."))
    return bk.ephemeral(f"{len(learned)} learned phrasings", blocks)


def _prefilled_input(
    label: str, name: str, text: str, max_length: int, placeholder: str, *, multiline: bool = False
) -> dict:
    """A text field (block and action both `name`) prefilled with what the rep typed, shortened with an
    ellipsis to the field's own limit."""
    return bk.text_input(
        label,
        name,
        name,
        initial=bk.truncate(text, max_length) if text else None,
        multiline=multiline,
        max_length=max_length,
        placeholder=placeholder,
    )


def _form(title: str, blocks: list[dict], *, callback_id: str, submit: str, **metadata: object) -> dict:
    """A content modal; what its submission needs back (gap, search, channel) rides along as JSON."""
    return bk.modal(title, blocks, callback_id=callback_id, submit=submit, private_metadata=json.dumps(metadata))


def tag_modal(objection: str = "", gap_id: int | None = None) -> dict:
    select = {
        "type": "multi_external_select",
        "action_id": "content_items",
        "placeholder": bk.plain("Search the library by title or topic", 150),
        "min_query_length": 0,
        "max_selected_items": 10,
    }
    blocks = [
        _prefilled_input(
            "Objection, the way prospects say it", "objection", objection, 300, "we're locked into a Vantage contract"
        ),
        {"type": "input", "block_id": "items", "label": bk.plain("Content that answers it", 2000), "element": select},
        bk.context("Tagged items rank higher for this objection in /content right away."),
    ]
    return _form("Tag an objection", blocks, callback_id="content_tag", submit="Tag", gap_id=gap_id)


def tagged_view(objection: str, tagged) -> dict:
    names = "\n".join(f"• {bk.link(i.url, i.title)}" for i in tagged)
    return bk.modal(
        "Tagged",
        [
            bk.section(
                f"Tagged “{bk.quote_user_text(objection, 200)}” on:\n{names}\n\nReps searching for it now see these first."
            )
        ],
        callback_id="content_tagged",
        submit=None,
        close="Done",
    )


def closed_gaps_text(closed: Sequence[ClosedGap]) -> str | None:
    """The note a marketer gets after a change that answered open gaps."""
    if not closed:
        return None
    lines = [
        f"• “{bk.quote_user_text(c.objection, 120)}” — answered by {bk.link(c.item_url, c.item_title)}"
        for c in closed[:10]
    ]
    more = f"\n…and {len(closed) - 10} more." if len(closed) > 10 else ""
    return f"That closed {len(closed)} content gap(s):\n" + "\n".join(lines) + more


# --- gaps ------------------------------------------------------------------------------------
def gaps_reply(gaps: Sequence[GapSummary], requests: dict[int, GapRequests], *, can_change: bool) -> dict:
    if not gaps:
        return bk.ephemeral(
            "No content gaps",
            [bk.section("No content gaps right now: every objection reps searched had a good match. :tada:")],
        )
    blocks = [
        bk.header("Content gaps"),
        bk.context(
            "Objections reps searched that had no good match, grouped by similarity, and what reps asked marketing for."
        ),
    ]
    for gap in gaps:
        times = "once" if gap.count == 1 else f"{gap.count} times"
        text = f"*“{bk.quote_user_text(gap.objection, 200)}”*\nAsked {times} · last {_day(gap.last_seen)}"
        asked = requests.get(gap.id)
        if asked:
            text += f" · :raising_hand: *{asked.requesters} requested content*"
            for request in asked.requests:
                text += (
                    f"\n> <@{request.user_id}>: “{bk.quote_user_text(request.need, 150)}”{_request_details(request)}"
                )
        if gap.examples:
            text += "\n_Also:_ " + " · ".join(f"“{bk.quote_user_text(e, 80)}”" for e in gap.examples)
        blocks.append(bk.section(text))
        if can_change:
            blocks.append(
                bk.actions(
                    [
                        bk.button("Tag content", "content_gap_tag", str(gap.id), style="primary"),
                        bk.button("Dismiss", "content_gap_dismiss", str(gap.id)),
                    ],
                    block_id=f"content_gap_{gap.id}",
                )
            )
        if len(blocks) >= bk.MAX_BLOCKS_MESSAGE - 2:
            break
    if not can_change:
        blocks.append(
            bk.context("Marketers tag content for these gaps; they close themselves once content answers them.")
        )
    return bk.ephemeral(f"{len(gaps)} content gaps", blocks)


def _request_details(request) -> str:
    parts = []
    if request.prospect:
        parts.append(bk.quote_user_text(request.prospect, 60))
    if request.stage:
        parts.append(label(request.stage))
    if request.due_date:
        parts.append(f"due {_day(request.due_date)}")
    return (" · " + " · ".join(parts)) if parts else ""


# --- content requests ------------------------------------------------------------------------
def request_modal(need: str, stages: Sequence[str], *, search_id: int | None, channel_id: str) -> dict:
    stage_select = {
        "type": "static_select",
        "action_id": "stage",
        "placeholder": bk.plain("Funnel stage", 150),
        "options": [bk.option(label(s), s) for s in stages][: bk.MAX_OPTIONS],
    }
    blocks = [
        _prefilled_input(
            "What do you need?", "need", need, 1000, "a case study of an on-prem install at a hospital", multiline=True
        ),
        bk.text_input(
            "Prospect",
            "prospect",
            "prospect",
            optional=True,
            max_length=200,
            placeholder="Acme Health (opportunity or account name)",
        ),
        {
            "type": "input",
            "block_id": "stage",
            "optional": True,
            "label": bk.plain("Stage", 2000),
            "element": stage_select,
        },
        {
            "type": "input",
            "block_id": "due",
            "optional": True,
            "label": bk.plain("Needed by", 2000),
            "element": {"type": "datepicker", "action_id": "due", "placeholder": bk.plain("Pick a date", 150)},
        },
        bk.context("Marketing sees your request with the gap it belongs to; you get a DM when content answers it."),
    ]
    return _form(
        "Request content",
        blocks,
        callback_id="content_request",
        submit="Send request",
        search_id=search_id,
        channel_id=channel_id,
    )


def request_sent_view(filed: FiledRequest, posted_to: str | None) -> dict:
    others = filed.requesters - 1
    crowd = f" {others} other rep(s) asked for this too." if others > 0 else ""
    where = f" It's posted in <#{posted_to}>." if posted_to else ""
    return bk.modal(
        "Request sent",
        [
            bk.section(
                f"Thanks! Marketing has your request for “{bk.quote_user_text(filed.request.need, 200)}”.{crowd}{where}\n"
                "I'll DM you the content as soon as it exists."
            )
        ],
        callback_id="content_request_sent",
        submit=None,
        close="Done",
    )


def request_post(filed: FiledRequest) -> dict:
    """The marketing channel's message about a new request."""
    request = filed.request
    crowd = "" if filed.requesters <= 1 else f" · {filed.requesters} reps have asked"
    text = (
        f":raising_hand: <@{request.user_id}> needs content: “{bk.quote_user_text(request.need, 400)}”"
        f"{_request_details(request)}\nGap: “{bk.quote_user_text(filed.gap_objection, 200)}”{crowd}"
    )
    blocks = [
        bk.section(text),
        bk.actions(
            [bk.button("Tag content", "content_gap_tag", str(request.gap_id), style="primary")],
            block_id=f"content_request_{request.id}",
        ),
    ]
    fallback = f"Content request: {bk.escape(bk.truncate(request.need, 200))}"
    return bk.message(fallback, blocks)


def answer_notice(notice: AnswerNotice) -> dict:
    """The DM a requester gets when their gap is answered."""
    item = notice.item
    asked = " · ".join(f"“{bk.quote_user_text(n, 150)}”" for n in notice.needs[:3])
    summary = f"\n{bk.quote_user_text(item.summary, 300)}" if item.summary else ""
    blocks = [
        bk.section(f":white_check_mark: Marketing answered your content request {asked}:"),
        bk.section(f"*{bk.link(item.url, item.title)}*{summary}"),
        bk.context("Search `/content` for more, or share it from there."),
    ]
    fallback = f"Your content request is answered: {bk.escape(item.title)} {item.url}"
    return bk.message(fallback, blocks)


def requests_home_blocks(requests: Sequence[GapRequests]) -> list[dict]:
    """For the marketer's App Home: what reps asked for, most requested first."""
    blocks = [bk.divider(), bk.section("*Content requests from reps*")]
    if not requests:
        return blocks + [bk.section("_No open content requests._")]
    lines = []
    for gap in requests[:10]:
        latest = gap.requests[0]
        lines.append(
            f"• *“{bk.quote_user_text(gap.objection, 120)}”* — {gap.requesters} requester(s), latest "
            f"<@{latest.user_id}>: “{bk.quote_user_text(latest.need, 120)}”{_request_details(latest)}"
        )
    return blocks + [bk.section("\n".join(lines)), bk.context("`/content gaps` to tag content for them.")]


# --- the report ------------------------------------------------------------------------------
def _counts(item: ItemUsage) -> str:
    return (
        f"shown {item.shown} · shared {item.shares} · :thumbsup: {item.helpful} · :thumbsdown: {item.not_helpful}"
        f" · last used {_day(item.last_used)}"
    )


def _listing(heading: str, lines: Sequence[str], *, empty: str = "") -> list[dict]:
    """A report's list under its bold heading, one line each; `empty` in their place when there are
    none (no block at all without it)."""
    if not lines and not empty:
        return []
    return [bk.section(heading + "\n" + ("\n".join(lines) if lines else empty))]


def _said_for(item: ItemUsage) -> str:
    """The phrasings people marked the item Not helpful for, on their own line (or nothing)."""
    said = " · ".join(f"“{bk.quote_user_text(q, 80)}”" for q in item.not_helpful_phrasings)
    return f"\n   _for_ {said}" if said else ""


def report_reply(report: ContentReport, *, top: int = 8) -> dict:
    p = report.period
    blocks = [
        bk.header(f"Content report · {p.label}"),
        bk.context(f"{_day(p.start)} – {_day(p.end)} · {len(report.items)} items in the library"),
        bk.fields(
            [
                ("Searches", f"{report.searches} ({report.no_match_searches} with no good match)"),
                ("Shares", str(report.shares)),
                ("Helpful", str(report.helpful)),
                ("Not helpful", str(report.not_helpful)),
                ("Unused items", f"{report.unused_count} of {len(report.items)}"),
            ]
        ),
    ]
    used = [i for i in report.items if i.shown or i.shares or i.helpful or i.not_helpful][:top]
    blocks += _listing(
        "*Most used content*",
        [f"{n}. {bk.link(i.url, i.title)} — {_counts(i)}" for n, i in enumerate(used, 1)],
        empty="_Nothing was shown or shared in this period._",
    )
    blocks += _listing(
        "*Not helpful most often*",
        [
            f"• {bk.link(i.url, i.title)} — :thumbsdown: {i.not_helpful} (:thumbsup: {i.helpful})" + _said_for(i)
            for i in report.most_not_helpful
        ],
        empty="_No Not helpful clicks in this period._",
    )
    blocks += _listing(
        "*Objections searched most*",
        [
            f"{n}. “{bk.quote_user_text(o.text, 120)}” — {o.searches}×"
            + (f" ({o.no_match} with no good match)" if o.no_match else "")
            for n, o in enumerate(report.top_objections, 1)
        ],
    )
    blocks.append(bk.section(f"*Unused* — never shown or never shared in {p.label} ({report.unused_count})"))
    if not report.unused:
        blocks.append(bk.section("_Every item was shared at least once._ :tada:"))
    for group in report.unused[:8]:
        names = [bk.link(i.url, i.title) for i in (*group.never_shown, *group.never_shared)[:5]]
        extra = f" +{group.count - len(names)} more" if group.count > len(names) else ""
        blocks.append(
            bk.section(
                f"*{label(group.type)} · {label(group.stage)}* — {len(group.never_shown)} never shown, "
                f"{len(group.never_shared)} shown but never shared\n" + ", ".join(names) + extra
            )
        )
    if len(report.unused) > 8:
        blocks.append(
            bk.context(
                f"…and {len(report.unused) - 8} more type/stage groups. "
                "`revalign content report --format csv` lists every item."
            )
        )
    blocks.append(
        bk.context(
            "Usage by funnel stage is in the chart I sent you. `revalign content report` prints the whole table."
        )
    )
    fallback = (
        f"Content report for {p.label}: {report.searches} searches, {report.shares} shares, "
        f"{report.not_helpful} Not helpful, {report.unused_count} unused items"
    )
    return bk.ephemeral(fallback, blocks[: bk.MAX_BLOCKS_MESSAGE])


CSV_FIELDS = [
    "id",
    "title",
    "url",
    "type",
    "stage",
    "persona",
    "shown",
    "shares",
    "helpful",
    "not_helpful",
    "last_used",
    "unused",
    "not_helpful_phrasings",
]


def _unused_flag(item: ItemUsage) -> str:
    if item.shares:
        return ""
    return "never shown" if item.shown == 0 else "never shared"


def report_csv(report: ContentReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for i in report.items:
        writer.writerow(
            [
                i.id,
                i.title,
                i.url,
                i.type,
                i.stage,
                i.persona,
                i.shown,
                i.shares,
                i.helpful,
                i.not_helpful,
                i.last_used.isoformat() if i.last_used else "",
                _unused_flag(i),
                " | ".join(i.not_helpful_phrasings),
            ]
        )
    return buffer.getvalue()


def report_table(report: ContentReport, *, top: int = 25) -> str:
    """The report for a terminal: totals, the items table, Not helpful, objections, unused."""
    p = report.period
    out = [
        f"Content report · {p.label} ({p.start:%Y-%m-%d} – {p.end:%Y-%m-%d})",
        (
            f"Searches {report.searches} ({report.no_match_searches} no good match) · shares {report.shares} · "
            f"helpful {report.helpful} · not helpful {report.not_helpful} · "
            f"unused {report.unused_count} of {len(report.items)} items"
        ),
        "",
    ]
    width = 48
    out.append(
        f"{'Item':<{width}} {'Type':<22} {'Stage':<13} {'Shown':>6} {'Shares':>6} {'Help':>5} {'NotH':>5}  Last used"
    )
    for i in report.items[:top]:
        title = i.title if len(i.title) <= width else i.title[: width - 1] + "…"
        last = f"{i.last_used:%Y-%m-%d}" if i.last_used else "never"
        out.append(
            f"{title:<{width}} {i.type[:22]:<22} {i.stage[:13]:<13} {i.shown:>6} {i.shares:>6} "
            f"{i.helpful:>5} {i.not_helpful:>5}  {last}"
        )
    if len(report.items) > top:
        out.append(f"… {len(report.items) - top} more items (--format csv lists them all)")
    out += ["", "Not helpful most often:"]
    out += [
        f"  {i.not_helpful:>4}  {i.title}"
        + (f"  — for: {' | '.join(i.not_helpful_phrasings)}" if i.not_helpful_phrasings else "")
        for i in report.most_not_helpful
    ] or ["  (none)"]
    out += ["", "Objections searched most:"]
    out += [
        f"  {o.searches:>4}  {o.text}" + (f"  ({o.no_match} no good match)" if o.no_match else "")
        for o in report.top_objections
    ] or ["  (none)"]
    out += ["", "Unused (never shown or never shared), by type and stage:"]
    for group in report.unused:
        out.append(
            f"  {group.type} · {group.stage}: {len(group.never_shown)} never shown, "
            f"{len(group.never_shared)} never shared"
        )
        for i in (*group.never_shown, *group.never_shared)[:5]:
            out.append(f"      {i.title}  {i.url}")
    if not report.unused:
        out.append("  (none)")
    out += ["", "By funnel stage:"]
    out += [
        f"  {s.stage:<14} items {s.items:>5} · shown {s.shown:>6} · shares {s.shares:>5} · "
        f"not helpful {s.not_helpful:>4} · unused {s.unused:>5}"
        for s in report.stages
    ]
    return "\n".join(out) + "\n"


def report_chart(report: ContentReport) -> bytes:
    """A PNG: per funnel stage, times shown, shares and Not helpful (bars) and unused items (share of the stage)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    stages = report.stages
    names = [label(s.stage) for s in stages] or ["(no items)"]
    figure = Figure(figsize=(10, 4.2), dpi=110, facecolor="white")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    xs = range(len(names))
    series = [
        ("shown", [s.shown for s in stages], "#1d3b5a"),
        ("shared", [s.shares for s in stages], "#2e9e5b"),
        ("not helpful", [s.not_helpful for s in stages], "#d1495b"),
    ]
    width = 0.27
    for n, (name, values, colour) in enumerate(series):
        left.bar([x + (n - 1) * width for x in xs], values or [0], width, label=name, color=colour)
    left.set_xticks(list(xs))
    left.set_xticklabels(names, fontsize=9)
    left.set_title("Usage by funnel stage", loc="left", fontsize=11, fontweight="bold")
    left.legend(frameon=False, fontsize=8)
    unused = [100 * s.unused / s.items if s.items else 0 for s in stages]
    right.barh(names[: len(unused)] or names, unused or [0], color="#7a8591")
    right.set_xlim(0, 100)
    right.set_title("Unused items (% of stage)", loc="left", fontsize=11, fontweight="bold")
    for ax in (left, right):
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=8)
    figure.suptitle(
        f"Content report · {report.period.label}", x=0.01, ha="left", fontsize=13, fontweight="bold", color="#1d3b5a"
    )
    figure.subplots_adjust(left=0.06, right=0.98, bottom=0.12, top=0.82, wspace=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


# --- marketing's weekly summary ------------------------------------------------------------
def summary_blocks(summary: MarketingSummary) -> list[dict]:
    blocks = [bk.header(f"Marketing's week in content · {summary.period_label}")]
    gaps = []
    for gap in summary.gaps:
        asked = summary.requests.get(gap.id)
        extra = f" · {asked.requesters} requested" if asked else ""
        gaps.append(f"• “{bk.quote_user_text(gap.objection, 120)}” — asked {gap.count}×{extra}")
    blocks += _listing("*Top gaps and requests*", gaps, empty="_None: every objection found content._ :tada:")
    blocks += _listing(
        "*Not helpful*",
        [
            f"• {bk.link(i.url, i.title)} — :thumbsdown: {i.not_helpful}"
            + (f" for “{bk.quote_user_text(i.not_helpful_phrasings[0], 80)}”" if i.not_helpful_phrasings else "")
            for i in summary.not_helpful
        ],
    )
    blocks += _listing(
        f"*Unused this week* ({summary.unused_count} items never shared)",
        [f"• {bk.link(i.url, i.title)} ({label(i.type)} · {label(i.stage)})" for i in summary.unused],
    )
    blocks.append(bk.context("`/content gaps` to answer them · `/content report week` for the details"))
    return blocks


def summary_text(summary: MarketingSummary) -> str:
    return (
        f"Marketing's week in content ({summary.period_label}): {len(summary.gaps)} top gaps, "
        f"{sum(r.requesters for r in summary.requests.values())} requesters, "
        f"{len(summary.not_helpful)} items marked Not helpful, {summary.unused_count} unused items"
    )
