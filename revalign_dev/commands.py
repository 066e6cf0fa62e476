"""The bodies of `revalign ask` and `revalign playground` (the CLI imports this lazily)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from revalign_dev.local_run import LocalWorkspace, Reply, local_settings_overrides
from revalign_dev.local_slack import LocalSlack


@contextmanager
def local_workspace(open_services: Callable[..., object], slack: LocalSlack) -> Iterator[LocalWorkspace]:
    """The configured database's workspace, served as `serve` does, talking to `slack`.

    On the demo's workspace the demo's settings (its alignment channel) apply unless the
    environment sets them."""
    from bot import demo

    overrides = local_settings_overrides(slack)
    services = open_services(overrides=overrides)
    extra = demo.local_settings(services)
    if extra:
        services.close()
        services = open_services(overrides={**overrides, **extra}, check_schema=False)
    if demo.is_demo_workspace(services):
        slack.people.update({p.user_id: p.name for p in demo.DEMO_PEOPLE})
    services.start()
    workspace = LocalWorkspace(services, slack).start()
    try:
        yield workspace
    finally:
        workspace.stop()
        services.close()


def run_ask(open_services: Callable[..., object], line: str, *, user_id: str, channel_id: str) -> list[Reply]:
    with LocalSlack() as slack, local_workspace(open_services, slack) as workspace:
        return workspace.run_slash_command(line, user_id=user_id, channel_id=channel_id)


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


def run_playground(open_services: Callable[..., object], *, port: int, say: Callable[[str], None],
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
