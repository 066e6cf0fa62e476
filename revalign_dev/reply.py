"""A reply as the terminal shows it (light: `revalign ask`'s fast path imports only this)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass
class Reply:
    where: str      # "ephemeral", "channel", "modal", "home", "dm", "file"
    text: str


def database_identity(database_url: str) -> str:
    """The same database whichever folder a command runs in (a relative SQLite path is resolved), so
    `ask` only reuses a playground that serves the database it would have opened itself."""
    from pathlib import Path

    identity = database_url
    # A plain file URL is resolved without SQLAlchemy, whose import would cost `ask` more than the
    # answer does; anything else (query strings, other backends) is compared as written.
    if database_url.startswith("sqlite:///") and "?" not in database_url and database_url != "sqlite:///:memory:":
        identity = str(Path(database_url[len("sqlite:///"):]).resolve())
    return hashlib.sha256(identity.encode()).hexdigest()[:16]
