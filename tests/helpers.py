"""Helpers several test modules share: the demo library's test slice, governance users and their roles,
and the stored KPI values."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from bot.models.kpis import KpiValue

DEMO_LIBRARY = Path(__file__).resolve().parents[1] / "bot" / "data" / "demo_content.jsonl"
# The 43 demo-library items the content e2e tests import.
DEMO_SLICE = {f"c{i:03d}" for i in list(range(1, 41)) + [46, 47, 48]}

MARKETER, MKT_HEAD, SALES_HEAD, REP, ADMIN = "U0MKTR0001", "U0MKTH0001", "U0SLSH0001", "U0REP0001", "U0ADMN0001"
GOVERNANCE_ROLES = {MARKETER: "marketer", MKT_HEAD: "marketing_head", SALES_HEAD: "sales_head", ADMIN: "admin"}


def demo_slice_rows() -> list[dict]:
    """The DEMO_SLICE items of the demo library, as its JSONL rows."""
    rows = [json.loads(line) for line in DEMO_LIBRARY.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["id"] in DEMO_SLICE]


def with_roles(slack_app, roles: dict[str, str]):
    """`slack_app` with each user given a role (user id → role)."""
    for user, role in roles.items():
        slack_app.set_role(user, role)
    return slack_app


def kpi_values(slack_app) -> dict[tuple[str, str], float]:
    """Every stored KPI value, by (metric key, period)."""
    with slack_app.services.db.session() as session:
        return {(r.metric, r.period): r.value for r in session.scalars(select(KpiValue))}


def import_content(services, rows: list[dict]):
    """Import library rows as `revalign content import` does: write them in one transaction,
    then (after the commit) embed what changed into the index."""
    from bot.content import catalog, library

    text = "".join(json.dumps(r) + "\n" for r in rows)
    parsed = library.parse_text(text, "jsonl", services.content.vocabulary)
    with services.db.session() as session:
        report = library.upsert_items(session, parsed, skip_invalid=False, now=services.now())
    return catalog.index_import(services.content.keeper, report)


def search_content(services, text: str, *, user_id: str, k: int | None = None, record: bool = True):
    """A /content search through the domain function, in a transaction of its own."""
    from bot.content import search

    with services.db.session() as session:
        return search.search(session, services.content.index, services.content.vocabulary, text, user_id=user_id,
                             k=k or services.settings.content_results, now=services.now(), record=record)
