"""Demo data for /content: the Lumen library (160 fictional items) and a little usage history."""

from __future__ import annotations

from pathlib import Path

from bot.content import catalog, library
from bot.content import search as search_mod
from bot.services import Services

DEMO_LIBRARY = Path(__file__).resolve().parent.parent / "data" / "demo_content.jsonl"

# What a rep searches for in the tour, filters included.
REP_SEARCHES = (
    "we're 2x the price of Vantage",
    "type:case_study stage:decision our CFO says no budget this quarter",
    "they need an on-prem install",
)
# Example slash commands `revalign demo` runs after seeding, as (user_id, text): the rep's searches,
# then the gaps marketing sees.
EXAMPLES: list[tuple[str, str]] = [*(("U0REP", f"/content {q}") for q in REP_SEARCHES), ("U0MARKETER", "/content gaps")]


def seed(services: Services) -> None:
    content = services.content
    parsed = library.read_file(DEMO_LIBRARY, "jsonl", content.vocabulary)
    with services.db.session() as session:
        report = library.upsert_items(session, parsed, skip_invalid=False, now=services.now())
    catalog.index_import(content.keeper, report)
    # A little history so /content gaps has something to show.
    for text in ("does it run on a mainframe?", "they want a Mandarin user interface"):
        demo_search(services, text, "C0LOCAL01")


def demo_search(services: Services, text: str, channel_id: str) -> search_mod.SearchOutcome:
    """A search by the demo rep, recorded in a transaction of its own."""
    with services.db.session() as session:
        return search_mod.search(
            session,
            services.content.index,
            services.content.vocabulary,
            text,
            user_id="U0REP",
            channel_id=channel_id,
            k=services.settings.content_results,
            now=services.now(),
        )
