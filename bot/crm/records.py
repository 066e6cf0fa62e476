"""What a connector yields: CRM records in one shape, whatever the vendor."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Protocol

LEAD = "lead"  # HubSpot contacts, Salesforce leads
DEAL = "deal"  # HubSpot deals, Salesforce opportunities
OBJECT_TYPES = (LEAD, DEAL)

LABELS = {"hubspot": "HubSpot", "salesforce": "Salesforce"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a record with no timestamp at all never moves the cursor
# The widths of crm_records' text columns (bot/models/crm.py): longer CRM values are clipped.
NAME_WIDTH = 255  # name, email, owner_email
STAGE_WIDTH = 128  # stage, status


@dataclass
class Record:
    object_type: str
    external_id: str
    modified_at: datetime
    name: str = ""
    email: str = ""
    stage: str = ""  # lifecycle stage / Lead Status / deal stage / StageName
    status: str = ""  # HubSpot lead status
    owner_id: str = ""
    owner_email: str = ""
    amount: float | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None
    is_won: bool = False
    is_closed: bool = False
    first_activity_at: datetime | None = None
    last_activity_at: datetime | None = None
    url: str = ""
    # (stage value, entered at): "lifecyclestage:marketingqualifiedlead", "status:Working", "stage:Qualification"
    events: list[tuple[str, datetime]] = field(default_factory=list)


@dataclass
class Page:
    records: list[Record]
    total: int | None = None  # the CRM's count for the whole query, when it says


@dataclass
class CheckResult:
    account: str
    counts: dict[str, int]
    api_usage: str = ""
    notes: list[str] = field(default_factory=list)


class Connector(Protocol):
    name: str

    def check(self) -> CheckResult: ...

    def pages(self, object_type: str, since: datetime | None) -> Iterator[Page]: ...


class CrmError(Exception):
    """The CRM refused or failed in a way a person must look at (bad credentials, no access)."""


class RateLimited(CrmError):
    """The CRM's API allowance is used up; the sync stops and resumes from its cursor later."""


def parse_time(value: object) -> datetime | None:
    """HubSpot/Salesforce timestamps: ISO 8601 (with Z or +0000), epoch milliseconds, or a date."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59), tzinfo=UTC)
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    if len(text) == 10:  # a date only (Salesforce LastActivityDate, CloseDate): the end of that day
        try:
            return datetime.combine(date.fromisoformat(text), time(23, 59, 59), tzinfo=UTC)
        except ValueError:
            return None
    text = text.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # +0000 → +00:00
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_amount(value: object) -> float | None:
    if value in (None, ""):
        return None
    try:
        amount = float(str(value))
    except ValueError:
        return None
    return amount if math.isfinite(amount) and abs(amount) < 1e12 else None


def clip(text: object, limit: int) -> str:
    return " ".join(str(text or "").split())[:limit]


def first_time(values: tuple[object, ...]) -> datetime | None:
    """The first of a CRM's candidate timestamps that parses (a property, then the object's own field)."""
    for value in values:
        parsed = parse_time(value)
        if parsed:
            return parsed
    return None


def build_record(
    object_type: str,
    external_id: str,
    *,
    created: tuple[object, ...],
    modified: tuple[object, ...],
    name: object = "",
    email: object = "",
    stage: object = "",
    status: object = "",
    owner_id: str = "",
    owner_email: object = "",
    amount: object = None,
    close_date: object = None,
    is_won: bool = False,
    is_closed: bool = False,
    first_activity: object = None,
    last_activity: object = None,
    url: str = "",
) -> Record:
    """A Record from a CRM's raw values, the same way for every connector: text folded and clipped to
    its column, timestamps and amounts parsed (unreadable ones are None), a record never modified
    counts as modified when created (or at EPOCH), and a deal's close date counts once it is closed.
    The connector adds the stage events, which it reads from the returned record's stage and times."""
    created_at = first_time(created)
    return Record(
        object_type,
        external_id,
        first_time(modified) or created_at or EPOCH,
        name=clip(name, NAME_WIDTH),
        email=clip(email, NAME_WIDTH),
        stage=clip(stage, STAGE_WIDTH),
        status=clip(status, STAGE_WIDTH),
        owner_id=owner_id,
        owner_email=clip(owner_email, NAME_WIDTH),
        amount=parse_amount(amount),
        created_at=created_at,
        closed_at=parse_time(close_date) if is_closed else None,
        is_won=is_won,
        is_closed=is_closed,
        first_activity_at=parse_time(first_activity),
        last_activity_at=parse_time(last_activity),
        url=url,
    )
