"""Database ids that arrive from Slack (button values, modal metadata), checked before any query.

A button value is whatever the client sends back: an old message, a hand-edited
payload or `99999999999999999999` must become a polite "out of date" reply, not an
`OverflowError` or a PostgreSQL out-of-range error halfway through a transaction.
"""

from __future__ import annotations

import re
from typing import Any

from bot.errors import InvalidInput

# Primary keys are 32-bit INTEGER columns on PostgreSQL (SERIAL); SQLite allows more,
# but the same range on both keeps the two backends behaving identically.
MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"\s*\+?[0-9]{1,19}\s*")
OUT_OF_DATE = "That button is out of date; run the command again."


def parse_id(value: Any, *, message: str = OUT_OF_DATE) -> int:
    """A positive database id from a button value or metadata field, or `InvalidInput(message)`."""
    if isinstance(value, bool):
        raise InvalidInput(message)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        raise InvalidInput(message)
    if not 1 <= number <= MAX_ID:
        raise InvalidInput(message)
    return number


def parse_optional_id(value: Any, *, message: str = OUT_OF_DATE) -> int | None:
    """Like `parse_id`, but `None` and "" mean "no id"."""
    if value is None or value == "":
        return None
    return parse_id(value, message=message)
