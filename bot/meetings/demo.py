"""Demo data for the alignment meeting: a weekly schedule, topics the team raised, action items
(one overdue, one done)."""

from __future__ import annotations

from datetime import timedelta

from bot.services import Services

# Example slash commands `revalign demo` runs after seeding, as (user_id, text).
EXAMPLES: list[tuple[str, str]] = [
    ("U0REP", "/agenda"),
    ("U0REP", "/agenda add Trial sign-ups from the pricing page never reach a rep"),
    ("U0DEMOADMIN", "/revalign schedule"),
]


def seed(services: Services) -> None:
    from bot.meetings import agenda as ag
    from bot.meetings import schedules as sch

    now = services.now()
    channel = services.settings.alignment_channel or "C0SALESMKT"
    with services.db.session() as session:
        if sch.get_schedule(session, sch.AGENDA) is not None:
            return  # a real workspace: leave it alone
        sch.set_meeting(
            session,
            sch.parse_schedule(f"weekly tue 10:00 America/New_York {channel} --agenda-lead 2h".split()),
            by="U0DEMOADMIN",
            now=now,
        )
        sch.ensure_defaults(session, services.settings, now)
        for author, text, days_ago in [
            ("U0SALESHEAD", "EMEA inbound leads wait two days for routing: who owns the round-robin rules?", 5),
            ("U0REP", "Webinar leads arrive without company size, so SDRs can't prioritise them", 3),
            ("U0MARKETER", "Idea: co-host the Q1 customer webinar with two AEs", 1),
        ]:
            ag.add_item(session, author, text, now - timedelta(days=days_ago))
        today = now.date()
        # (owner, due in days, text, created days ago, done days ago by its owner or None)
        for owner, due_in, text, created_ago, done_ago in [
            ("U0MARKETER", -4, "Publish the SOC 2 FAQ one-pager", 14, None),
            ("U0SALESHEAD", 6, "Agree the SAL rejection reasons list with marketing ops", 7, None),
            ("U0MKTHEAD", 13, "Draft the Vantage battlecard v2", 7, None),
            ("U0REP", -2, "Share the three best-performing case studies in #sales", 14, 3),
        ]:
            action = ag.add_action(
                session, "U0DEMOADMIN", owner, today + timedelta(days=due_in), text, now - timedelta(days=created_ago)
            )
            if done_ago is not None:
                ag.complete_action(session, owner, action.id, now - timedelta(days=done_ago))
