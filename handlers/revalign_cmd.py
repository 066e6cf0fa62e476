"""`/revalign`: help for every command, and role management for admins."""

from __future__ import annotations

from bot import roles
from bot.errors import InvalidInput
from bot.models import Role
from bot.render import blocks as bk
from bot.services import Services
from handlers.registry import Registrar

ROLE_USAGE = "`/revalign roles` lists roles · `/revalign roles set @person ROLE` changes one (admins)"
HELP = [
    ("/revalign help", "this list of every revalign command"),
    ("/revalign roles", "who is a marketer, sales head, marketing head or admin"),
    (
        "/revalign roles set @person ROLE",
        "give someone a role (admins; roles: " + ", ".join(r.value for r in Role) + ")",
    ),
]


def register(registrar: Registrar, services: Services) -> None:
    registrar.command("/revalign", help=HELP)(revalign_command)


def revalign_command(ack, command, respond, context) -> None:
    ack()
    registrar: Registrar = context["registrar"]
    words = command.get("text", "").split()
    verb = words[0].lower() if words else "help"
    if verb == "roles":
        respond(**roles_reply(context["services"], command["user_id"], words[1:]))
    elif verb in registrar.subcommands:
        registrar.subcommands[verb](command, respond, context)
    else:
        respond(**help_reply(registrar, unknown=None if verb == "help" else words[0]))


def help_reply(registrar: Registrar, unknown: str | None = None) -> dict:
    sections = []
    if unknown:
        sections.append(bk.section(f"I don't know `{bk.quote_user_text(unknown, 40)}`. Here is what I can do:"))
    else:
        sections.append(bk.header("revalign: sales and marketing, one playbook"))
    for name in sorted(registrar.help):
        lines = "\n".join(f"`{bk.escape(e.usage)}` — {bk.escape(e.summary)}" for e in registrar.help[name])
        sections.append(bk.section(f"*{name}*\n{lines}"))
    return bk.ephemeral("revalign commands: " + ", ".join(sorted(registrar.help)), sections)


def roles_reply(services: Services, user_id: str, args: list[str]) -> dict:
    with services.db.session() as session:
        if not args or args[0].lower() == "list":
            rows = roles.all_roles(session)
            if not rows:
                text = "Nobody has a role yet, so everyone is a rep. " + ROLE_USAGE
            else:
                text = "\n".join(f"<@{r.slack_user_id}> — {roles.ROLE_LABELS[Role(r.role)]}" for r in rows)
            return bk.ephemeral("revalign roles", [bk.section(f"*Roles*\n{text}"), bk.context(ROLE_USAGE)])
        if args[0].lower() != "set" or len(args) != 3:
            raise InvalidInput("Usage: " + ROLE_USAGE)
        roles.require_role(session, user_id, [Role.admin], "set roles")
        target = roles.parse_user_ref(args[1])
        new_role = roles.parse_role(args[2])
        previous = roles.set_role(session, target, new_role, by=user_id, now=services.now())
    return bk.ephemeral(
        f"Role changed: now a {roles.ROLE_LABELS[new_role]}",
        [bk.section(f"<@{target}> is now a *{roles.ROLE_LABELS[new_role]}* (was {roles.ROLE_LABELS[previous]}).")],
    )
