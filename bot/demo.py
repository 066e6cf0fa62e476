"""`revalign demo`: a local workspace with realistic data, and a tour of the commands.

The demo writes the default database (`revalign.db` in the current folder), so a plain
`revalign ask`, `digest preview`, `serve` or `playground` run there afterwards uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from bot import migrate
from bot.errors import InvalidInput
from bot.models import Role


@dataclass(frozen=True)
class DemoPerson:
    user_id: str
    name: str
    handle: str
    role: Role
    title: str


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("U0REP", "Jordan Kim", "jordan", Role.rep, "Account Executive"),
    DemoPerson("U0MARKETER", "Priya Patel", "priya", Role.marketer, "Content Marketing Manager"),
    DemoPerson("U0SALESHEAD", "Sam Rivera", "sam", Role.sales_head, "VP Sales"),
    DemoPerson("U0MKTHEAD", "Morgan Lee", "morgan", Role.marketing_head, "VP Marketing"),
    DemoPerson("U0DEMOADMIN", "Avery Chen", "avery", Role.admin, "RevOps (installs revalign)"),
)
DEMO_USERS = {person.user_id: person.role for person in DEMO_PEOPLE}
# The channel the alignment meeting happens in; proposals and announcements go there too.
DEMO_CHANNEL = "C0SALESMKT"
DEMO_CHANNELS = {DEMO_CHANNEL: "sales-marketing", "C0SALES": "sales"}
# Who set the demo's roles: how a later command recognises the demo workspace.
DEMO_MARKER = "demo"

# Searches reps ran last week, each with what the rep did with the top result.
USAGE_HISTORY: list[tuple[str, str]] = [
    ("we're 2x the price of Vantage", "share"),
    ("security review will take months, do you have SOC 2?", "helpful"),
    ("implementation sounds like a six month project", "share"),
    ("the CFO wants to see ROI before signing", "helpful"),
]


def is_demo_workspace(services) -> bool:
    from bot.models.core import UserRole

    with services.db.session() as session:
        row = session.get(UserRole, DEMO_PEOPLE[-1].user_id)
        return row is not None and row.updated_by == DEMO_MARKER


def local_settings(services) -> dict[str, str]:
    """Settings the demo workspace needs in `ask` and the playground, unless the environment sets them."""
    if services.settings.alignment_channel is None and is_demo_workspace(services):
        return {"REVALIGN_ALIGNMENT_CHANNEL": DEMO_CHANNEL}
    return {}


def check_replaceable(database: Path) -> None:
    """Only an earlier demo (or nothing) may be overwritten: a real workspace never is."""
    if not database.exists() or database.stat().st_size == 0:
        return
    import sqlite3

    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            row = connection.execute(
                "SELECT updated_by FROM user_roles WHERE slack_user_id = ?", (DEMO_PEOPLE[-1].user_id,)
            ).fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        row = None
    if not row or row[0] != DEMO_MARKER:
        raise InvalidInput(
            f"{database} is not a demo workspace, so the demo leaves it alone: "
            f"run it elsewhere or pass --database demo.db."
        )


def seed_usage(services) -> None:
    """Searches, shares and Helpful clicks, so reports, the digest and learning have history."""
    from bot.content import feedback
    from bot.content.demo import demo_search

    for text, did in USAGE_HISTORY:
        outcome = demo_search(services, text, "C0SALES")
        if not outcome.results:
            continue
        item_id = outcome.results[0].item.id
        with services.db.session() as session:
            if did == "share":
                feedback.record_share(
                    session,
                    user_id="U0REP",
                    channel_id="C0SALES",
                    search_id=outcome.search_id,
                    item_id=item_id,
                    now=services.now(),
                )
            else:
                feedback.record_feedback(
                    session,
                    services.content.keeper,
                    user_id="U0REP",
                    channel_id="C0SALES",
                    search_id=outcome.search_id,
                    item_id=item_id,
                    helpful=True,
                    now=services.now(),
                )


def features():
    from bot.content import demo as content_demo
    from bot.kpis import demo as kpis_demo
    from bot.lead_defs import demo as lead_defs_demo
    from bot.meetings import demo as meetings_demo

    return (lead_defs_demo, content_demo, kpis_demo, meetings_demo)


def seed_demo(services) -> None:
    """Everything the demo workspace holds: people and roles, each feature's data, usage history."""
    from bot import roles

    with services.db.session() as session:
        for person in DEMO_PEOPLE:
            roles.set_role(session, person.user_id, person.role, by=DEMO_MARKER, now=services.now())
    for feature in features():
        feature.seed(services)
    seed_usage(services)


def run_demo(database: Path, *, default_database: bool) -> None:
    from bot.services import Services
    from bot.settings import load_settings
    from revalign_dev.local_run import LocalWorkspace, local_settings_overrides
    from revalign_dev.local_slack import LocalSlack
    from revalign_dev.quiet import quiet_model_loading

    quiet_model_loading()
    check_replaceable(database)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{database.resolve()}"
    typer.echo(f"Creating demo workspace in {database} …")
    migrate.upgrade(url)
    with LocalSlack() as slack:
        slack.people.update({p.user_id: p.name for p in DEMO_PEOPLE})
        settings = load_settings(
            DATABASE_URL=url, REVALIGN_ALIGNMENT_CHANNEL=DEMO_CHANNEL, **local_settings_overrides(slack)
        )
        services = Services(settings)
        seed_demo(services)
        workspace = LocalWorkspace(services, slack).start()
        services.start()  # after the app registered its start-up work (model, index)
        try:
            examples = [("U0REP", "/revalign help")] + [e for f in features() for e in f.EXAMPLES]
            names = {p.user_id: p for p in DEMO_PEOPLE}
            for user_id, line in examples:
                typer.echo("")
                person = names.get(user_id)
                who = f"{person.name}, {person.title}" if person else user_id
                typer.secho(f"$ {line}    (as {who})", bold=True)
                for reply in workspace.run_slash_command(line, user_id=user_id, channel_id=DEMO_CHANNEL):
                    typer.echo(f"--- {reply.where} ---")
                    typer.echo(reply.text)
        finally:
            workspace.stop()
            services.close()
    typer.echo("")
    if default_database:
        where = (
            f"Done. The demo wrote the default database ({database}): plain `revalign ask`, `digest preview`, "
            "`serve` and `playground` in this folder use it."
        )
    else:
        where = f"Done. The demo wrote {database}: use it with DATABASE_URL=sqlite:///{database}."
    typer.echo(where)
    typer.secho("Next: run `revalign playground` and try every button and modal in your browser.", bold=True)
