"""Storing pulled records: one multi-row upsert per page, stage events first-seen-wins, the cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.crm.records import Record
from bot.models.crm import CrmCursor, CrmRecord, CrmStageEvent

CHUNK = 500
RECORD_COLUMNS = (
    "name",
    "email",
    "stage",
    "status",
    "owner_id",
    "owner_email",
    "amount",
    "created_at",
    "modified_at",
    "closed_at",
    "is_won",
    "is_closed",
    "first_activity_at",
    "last_activity_at",
    "url",
)


def _insert(session: Session) -> Any:
    """INSERT … ON CONFLICT of the session's dialect (SQLite and PostgreSQL spell it alike)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def store_page(session: Session, connector: str, records: list[Record], now: datetime) -> None:
    """Upsert the records (a record seen twice in a page keeps its last version) and their stage events."""
    if not records:
        return
    insert = _insert(session)
    latest: dict[tuple[str, str], Record] = {}
    for record in records:
        latest[(record.object_type, record.external_id)] = record
    rows = [
        {
            "connector": connector,
            "object_type": r.object_type,
            "external_id": r.external_id,
            "synced_at": now,
            **{c: getattr(r, c) for c in RECORD_COLUMNS},
        }
        for r in latest.values()
    ]
    # One cached statement, executed with many parameter sets (SQLAlchemy batches them into
    # multi-row INSERTs itself): compiling a fresh 500-row VALUES clause per page is far slower.
    statement = insert(CrmRecord.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["connector", "object_type", "external_id"],
        set_={c: statement.excluded[c] for c in (*RECORD_COLUMNS, "synced_at")},
    )
    for start in range(0, len(rows), CHUNK):
        session.execute(statement, rows[start : start + CHUNK])
    events: dict[tuple[str, str, str], datetime] = {}
    for r in latest.values():
        for stage, entered in r.events:
            events.setdefault((r.object_type, r.external_id, stage[:160]), entered)
    event_rows = [
        {"connector": connector, "object_type": o, "external_id": e, "stage": s, "entered_at": at}
        for (o, e, s), at in events.items()
    ]
    event_statement = insert(CrmStageEvent.__table__).on_conflict_do_nothing(
        index_elements=["connector", "object_type", "external_id", "stage"]
    )
    for start in range(0, len(event_rows), CHUNK):
        session.execute(event_statement, event_rows[start : start + CHUNK])


def get_cursor(session: Session, connector: str, object_type: str) -> datetime | None:
    return session.scalar(
        select(CrmCursor.modified_at).where(CrmCursor.connector == connector, CrmCursor.object_type == object_type)
    )


def set_cursor(session: Session, connector: str, object_type: str, modified_at: datetime, now: datetime) -> None:
    row = session.scalars(
        select(CrmCursor).where(CrmCursor.connector == connector, CrmCursor.object_type == object_type)
    ).one_or_none()
    if row is None:
        session.add(CrmCursor(connector=connector, object_type=object_type, modified_at=modified_at, updated_at=now))
    elif row.modified_at is None or modified_at > row.modified_at:
        row.modified_at, row.updated_at = modified_at, now
    session.flush()
