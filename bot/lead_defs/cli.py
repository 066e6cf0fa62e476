"""CLI commands of this feature (filled in by the feature)."""

import typer


def register(cli: typer.Typer) -> None:
    pass
