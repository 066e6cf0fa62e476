"""`period,metric,value` CSV files: import (validated as a whole) and export."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from bot.errors import InvalidInput
from bot.kpis import catalog, values
from bot.kpis.values import Entry, EntryError

COLUMNS = ("period", "metric", "value")
MAX_BYTES = 20 * 1024 * 1024


def read_text(path: Path) -> str:
    if not path.exists():
        raise InvalidInput(f"{path} does not exist.")
    if path.is_dir():
        raise InvalidInput(f"{path} is a directory; give a CSV file.")
    if path.stat().st_size > MAX_BYTES:
        raise InvalidInput(f"{path} is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text; save it as CSV UTF-8.") from None


def parse_csv(
    text: str, *, now: datetime, tz: str = "UTC", allow_future: bool = False
) -> tuple[list[Entry], list[EntryError]]:
    """Entries and problems; an EntryError's index is the 1-based line number in the file."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("The CSV file is empty; expected a header line: period,metric,value.") from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise InvalidInput(f"The header line must name the columns period,metric,value; missing: {', '.join(missing)}.")
    position = {c: names.index(c) for c in COLUMNS}
    rows = []
    for line_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        rows.append((line_number, {c: (row[i] if i < len(row) else "") for c, i in position.items()}))
    if not rows:
        raise InvalidInput("The CSV file has a header but no values.")
    entries: list[Entry] = []
    errors: list[EntryError] = []
    # validate_entries numbers items consecutively; run it per row to keep the file's line numbers.
    seen: dict[tuple[str, str], tuple[int, float]] = {}
    for line_number, item in rows:
        found, problems = values.validate_entries(
            [item], now=now, tz=tz, first_index=line_number, allow_future=allow_future
        )
        errors.extend(problems)
        for entry in found:
            key = (entry.metric.key, entry.period)
            if key in seen:
                if seen[key][1] != entry.value:
                    errors.append(
                        EntryError(
                            line_number,
                            "value",
                            f"{entry.metric.name} for {entry.period} is also given as "
                            f"{catalog.format_value(entry.metric, seen[key][1])} on line {seen[key][0]}",
                        )
                    )
                continue
            seen[key] = (line_number, entry.value)
            entries.append(entry)
    return entries, errors


def export_csv(session: Session) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in values.all_values(session):
        metric = catalog.BY_KEY.get(row.metric)
        if metric is None:
            continue
        value = int(row.value) if row.value == int(row.value) else row.value
        writer.writerow([row.period, metric.name, value])
    return out.getvalue()
