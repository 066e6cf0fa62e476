"""The bodies of `revalign ask` and `revalign playground` (the CLI imports this lazily)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from revalign_dev.reply import Reply

if TYPE_CHECKING:
    from bot.services import Services
    from revalign_dev.local_run import LocalWorkspace
    from revalign_dev.local_slack import LocalSlack


@contextmanager
def local_workspace(open_services: Callable[..., Services], slack: LocalSlack) -> Iterator[LocalWorkspace]:
    """The configured database's workspace, served as `serve` does, talking to `slack`.

    On the demo's workspace the demo's settings (its alignment channel) apply unless the
    environment sets them."""
    from bot import demo
    from revalign_dev.local_run import LocalWorkspace, local_settings_overrides

    overrides = local_settings_overrides(slack)
    services = open_services(overrides=overrides)
    extra = demo.local_settings(services)
    if extra:
        services.close()
        services = open_services(overrides={**overrides, **extra}, check_schema=False)
    if demo.is_demo_workspace(services):
        slack.people.update({p.user_id: p.name for p in demo.DEMO_PEOPLE})
    # The app registers its start-up work (model, index) when it is built: start it after that.
    workspace = LocalWorkspace(services, slack).start()
    services.start()
    try:
        yield workspace
    finally:
        workspace.stop()
        services.close()


def run_ask(open_services: Callable[..., Services], line: str, *, user_ref: str, channel_id: str) -> list[Reply]:
    """Through a running playground on the same database if there is one (warm: well under a
    second), else in this process (which loads the model first)."""
    from bot.settings import load_settings

    settings = load_settings()
    replies = ask_running_playground(settings, line, user_ref=user_ref, channel_id=channel_id)
    if replies is not None:
        return replies
    from bot.roles import (
        parse_user_ref,  # the models, Bolt, the model: only on this, the slow, path
    )
    from revalign_dev.local_slack import LocalSlack

    user_id = parse_user_ref(user_ref)
    with LocalSlack() as slack, local_workspace(open_services, slack) as workspace:
        return workspace.run_slash_command(line, user_id=user_id, channel_id=channel_id)


def ask_running_playground(settings, line: str, *, user_ref: str, channel_id: str) -> list[Reply] | None:
    """None when no playground answers on 127.0.0.1:REVALIGN_PLAYGROUND_PORT or it serves another database."""
    import json
    import urllib.error
    import urllib.request

    from bot.errors import InvalidInput
    from revalign_dev.reply import database_identity

    body = json.dumps({"line": line, "user": user_ref, "channel": channel_id,
                       "database": database_identity(settings.database_url)}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{settings.playground_port}/api/ask", data=body,
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 400:
            try:
                message = json.loads(exc.read()).get("error")
            except ValueError:
                message = None
            raise InvalidInput(message or "the running playground refused the command.") from None
        return None  # 409: another database; anything else: not a playground
    except (OSError, ValueError):
        return None  # nothing listening there
    if not isinstance(answer, dict) or not isinstance(answer.get("replies"), list):
        return None
    return [Reply(str(r.get("where", "")), str(r.get("text", ""))) for r in answer["replies"]]


def playground_people(services) -> tuple[list, dict[str, str]]:
    """The demo's people and channels, or (another workspace) everyone with a role plus a rep."""
    from bot import demo, roles
    from revalign_dev.playground import Person

    if demo.is_demo_workspace(services):
        people = [Person(p.user_id, p.name, p.handle, p.role.value, p.title) for p in demo.DEMO_PEOPLE]
        return people, dict(demo.DEMO_CHANNELS)
    with services.db.session() as session:
        rows = [(row.slack_user_id, row.role) for row in roles.all_roles(session)]
    people = [Person(user_id, user_id, user_id.lower(), role) for user_id, role in rows]
    people.append(Person("U0LOCALUSER", "A rep", "rep", "rep", "anyone without a role is a rep"))
    channels = {"C0LOCAL01": "general"}
    if services.settings.alignment_channel:
        channels[services.settings.alignment_channel] = "alignment"
    return people, channels


def run_playground(open_services: Callable[..., Services], *, port: int, say: Callable[[str], None],
                   ready: Callable[[str], None] | None = None) -> None:
    """Serve the playground until interrupted."""
    import logging
    import threading

    from bot.errors import RevalignError
    from revalign_dev.playground import Playground, PlaygroundSlack

    # The app's warnings and listener failures (with their reference) show in this terminal.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    slack = PlaygroundSlack().start()
    try:
        say("revalign playground: loading the workspace and the model …")
        with local_workspace(open_services, slack) as workspace:
            people, channels = playground_people(workspace.services)
            try:
                playground = Playground(workspace, slack, people, channels).serve(port)
            except OSError as exc:
                raise RevalignError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc} "
                                    "(another playground? pass --port)") from None
            say(f"revalign playground (a local dev/demo tool) on {playground.url}  · Ctrl-C stops it")
            if ready:
                ready(playground.url)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
            finally:
                playground.stop()
    finally:
        slack.stop()


SHELL_HELP = ("Type a slash command (e.g. /content we're 2x the price of Vantage); `as USER` to act as someone "
              "else, `in CHANNEL` to move; Ctrl-D quits.")


def run_shell(open_services: Callable[..., Services], *, user_ref: str, channel_id: str, lines,
              say: Callable[[str], None], note: Callable[[str], None], interactive: bool) -> None:
    """`revalign shell`: one warm process (model and index loaded once) for many commands."""
    import time

    from bot.errors import RevalignError
    from bot.roles import parse_user_ref
    from revalign_dev.local_slack import LocalSlack

    user_id = parse_user_ref(user_ref)
    note("revalign shell: loading the workspace and the model …")
    with LocalSlack() as slack, local_workspace(open_services, slack) as workspace:
        note(SHELL_HELP)
        while True:
            if interactive:
                note(f"{user_id} in {channel_id}> ")
            line = lines.readline()
            if not line:
                break
            line = line.strip()
            word, _, rest = line.partition(" ")
            try:
                if not line:
                    continue
                if word == "as" and rest:
                    user_id = parse_user_ref(rest)
                    continue
                if word == "in" and rest:
                    channel_id = rest.strip().lstrip("#")
                    continue
                started = time.monotonic()
                replies = workspace.run_slash_command(line, user_id=user_id, channel_id=channel_id)
                for reply in replies:
                    say(f"--- {reply.where} ---")
                    say(reply.text)
                note(f"({time.monotonic() - started:.2f} s)")
            except RevalignError as exc:
                note(f"revalign: {exc}")
