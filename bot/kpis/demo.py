"""Demo KPIs: twelve weeks of a B2B SaaS funnel that is slowly improving, plus this week so far."""

from __future__ import annotations

import random

from bot.services import Services

# Example slash commands `revalign demo` runs after seeding, as (user_id, text).
EXAMPLES: list[tuple[str, str]] = [
    ("U0SALESHEAD", "/kpi"),
    ("U0MKTHEAD", "/kpi set MQLs 131"),
    ("U0REP", "/kpi set SQLs 40"),
    ("U0SALESHEAD", "/kpi set win rate 30%"),
]

WEEKS = 12


def weekly_values(weeks: int = WEEKS, seed: int = 47) -> list[dict[str, float]]:
    """Base-metric values for `weeks` consecutive weeks, oldest first (deterministic)."""
    rng = random.Random(seed)
    rows = []
    for i in range(weeks):
        progress = i / max(1, weeks - 1)
        mqls = round(96 + 30 * progress + rng.uniform(-9, 9))
        sla = min(0.97, 0.74 + 0.16 * progress + rng.uniform(-0.04, 0.04))
        conversion = 0.27 + 0.06 * progress + rng.uniform(-0.03, 0.03)
        sqls = round(mqls * conversion)
        won = max(4, round(sqls * rng.uniform(0.2, 0.3)))
        lost = max(6, round(won * rng.uniform(1.6, 2.4)))
        rows.append(
            {
                "mqls": mqls,
                "mqls_followed_up": round(mqls * sla),
                "sqls": sqls,
                "deals_won": won,
                "deals_lost": lost,
                "new_customers": max(2, won - rng.choice((0, 1, 1, 2))),
                "pipeline_created": round(sqls * rng.uniform(9_000, 11_500), -2),
                "revenue_closed": round(won * rng.uniform(14_500, 18_500), -2),
                "marketing_spend": round(rng.uniform(41_000, 48_000), -2),
                "sales_cycle_days": round(53 - 9 * progress + rng.uniform(-3, 3), 1),
                "content_shares": round(34 + 28 * progress + rng.uniform(-6, 6)),
            }
        )
    return rows


def seed(services: Services) -> None:
    from bot.kpis import catalog, periods, targets, values

    now = services.now()
    this_week = periods.current_period(now, services.settings.timezone)
    history = periods.last_periods(periods.previous_period(this_week), WEEKS)
    # Content shares are stored for the past weeks too: a recorded value wins over the count from
    # /content (whose demo library has no history), and this week is left to that count.
    entries = []
    for period, row in zip(history, weekly_values(), strict=False):
        for key, value in row.items():
            entries.append(values.Entry(catalog.BY_KEY[key], period, float(value)))
    # This week so far (a Tuesday): the CRM has pushed a few running totals.
    for key, value in {
        "sqls": 14,
        "pipeline_created": 151_000,
        "marketing_spend": 19_800,
        "deals_won": 3,
        "deals_lost": 5,
    }.items():
        entries.append(values.Entry(catalog.BY_KEY[key], this_week, float(value)))
    with services.db.session() as session:
        values.record(session, entries, source="demo", by="demo", now=now)
        # The MQL target was raised from 100 to 120 half-way through the quarter.
        targets.set_target(session, catalog.BY_KEY["mqls"], 100, history[0], by="U0MKTHEAD", now=now)
        targets.set_target(session, catalog.BY_KEY["mqls"], 120, history[6], by="U0MKTHEAD", now=now)
