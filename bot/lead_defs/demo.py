"""Demo data for /lead-def: the shipped definitions, one approved change with history, one open proposal,
and two glossary terms overdue for review."""

from __future__ import annotations

from datetime import timedelta

from bot.services import Services

# Example slash commands `revalign demo` runs after seeding, as (user_id, text).
EXAMPLES: list[tuple[str, str]] = [
    ("U0REP", "/lead-def"),
    ("U0REP", "/lead-def what is an mql?"),
    ("U0REP", "/lead-def MQK"),
    ("U0SALESHEAD", "/lead-def history MQL"),
]


def seed(services: Services) -> None:
    from sqlalchemy import select

    from bot.lead_defs import service as ld
    from bot.models.lead_defs import LeadDefinition

    now = services.now()
    long_ago = now - timedelta(days=120)
    with services.db.session() as session:
        if not ld.seed_defaults(session, long_ago):
            return  # already seeded: leave a real workspace alone
        # Most terms were reviewed at the last quarterly meeting; two were not.
        for row in session.scalars(select(LeadDefinition)):
            if row.key not in ("CPA", "Persona"):
                row.reviewed_at = now - timedelta(days=30)
        # A past change both heads approved, so `/lead-def history MQL` has something to show.
        mql = ld.get(session, "MQL")
        criteria = [c.replace("Lead score of 60 or more", "Lead score of 65 or more") for c in mql.criteria]
        criteria.append("Not already in an active sales sequence")
        raise_threshold = ld.Draft(
            "MQL",
            mql.version,
            {"criteria": criteria},
            "Raise the score threshold to 65: SDRs rejected 38% of MQLs scoring 60-64 "
            "last quarter, and stop re-routing leads already in a sequence.",
        )
        proposal = ld.propose(session, raise_threshold, user_id="U0MARKETER", now=now - timedelta(days=12))
        ld.approve(session, proposal.id, "U0MKTHEAD", now - timedelta(days=11))
        ld.approve(session, proposal.id, "U0SALESHEAD", now - timedelta(days=10))
        # An open proposal waiting for the heads (the meeting agenda lists it).
        sal = ld.get(session, "SAL")
        faster_sal = ld.Draft(
            "SAL",
            sal.version,
            {"sla": "Accepted or rejected with a reason within 1 business day of becoming an MQL"},
            "Speed-to-lead: halve the acceptance window to match the MQL SLA.",
        )
        ld.propose(session, faster_sal, user_id="U0SALESHEAD", now=now - timedelta(days=2))
