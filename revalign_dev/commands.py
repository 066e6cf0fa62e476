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
