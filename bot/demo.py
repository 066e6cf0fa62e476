"""`revalign demo`: a local workspace with realistic data, and a tour of the commands."""

from __future__ import annotations

from pathlib import Path

import typer

from bot import migrate
from bot.models import Role

DEMO_USERS = {
    "U0DEMOADMIN": Role.admin,
    "U0MKTHEAD": Role.marketing_head,
    "U0SALESHEAD": Role.sales_head,
    "U0MARKETER": Role.marketer,
    "U0REP": Role.rep,
}


def run_demo(database: Path) -> None:
    from bot import roles
    from bot.content import demo as content_demo
    from bot.kpis import demo as kpis_demo
    from bot.lead_defs import demo as lead_defs_demo
    from bot.local_run import run_slash_command
    from bot.meetings import demo as meetings_demo
    from bot.services import Services
    from bot.settings import load_settings

    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{database.resolve()}"
    typer.echo(f"Creating demo workspace in {database} …")
    migrate.upgrade(url)
    services = Services(load_settings(DATABASE_URL=url))
    with services.db.session() as session:
        for user_id, role in DEMO_USERS.items():
            roles.set_role(session, user_id, role, by="demo", now=services.now())
    features = (lead_defs_demo, content_demo, kpis_demo, meetings_demo)
    for feature in features:
        feature.seed(services)
    services.start()
    examples = [("U0REP", "/revalign help")] + [e for f in features for e in f.EXAMPLES]
    for user_id, line in examples:
        typer.echo("")
        role = DEMO_USERS.get(user_id, Role.rep).value
        article = "an" if role[0] in "aeiou" else "a"
        typer.secho(f"$ {line}    (as {user_id}, {article} {role})", bold=True)
        for reply in run_slash_command(services, line, user_id=user_id):
            typer.echo(f"--- {reply.where} ---")
            typer.echo(reply.text)
    typer.echo("")
    typer.echo(f"Done. Try more with: DATABASE_URL=sqlite:///{database} revalign ask \"/lead-def MQL\"")
    services.close()
