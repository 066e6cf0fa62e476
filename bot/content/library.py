"""Library files: parse CSV / JSONL, validate rows, upsert by URL, export.

CSV columns: title,url,type,stage,persona,summary,objections (objections separated by `;`).
JSONL: one object per line with the same keys (objections a list of strings).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content.vocabulary import Vocabulary
from bot.errors import InvalidInput
from bot.models.content import ContentChange, ContentItem

FIELDS = ("title", "url", "type", "stage", "persona", "summary", "objections")
MAX_TITLE = 500
MAX_URL = 2000
MAX_SUMMARY = 20000
MAX_OBJECTION = 300


@dataclass(frozen=True)
class ItemData:
    title: str
    url: str
    type: str
    stage: str
    persona: str
    summary: str = ""
    objections: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


@dataclass
class ParsedFile:
    rows: list[tuple[int, ItemData]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    written: bool = False
    changed_ids: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"added {self.added} · updated {self.updated} · unchanged {self.unchanged} · rejected {len(self.rejected)}"
        )


def detect_format(path: Path, explicit: str | None = None) -> str:
    fmt = (explicit or path.suffix.lstrip(".")).lower()
    if fmt in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if fmt == "csv":
        return "csv"
    raise InvalidInput(f"can't tell the format of {path.name}: use a .csv or .jsonl file (or --format csv|jsonl).")


def valid_url(url: str) -> bool:
    if not url or len(url) > MAX_URL or any(ch.isspace() for ch in url) or any(c in url for c in "<>|\"'"):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host) and ("." in host or host == "localhost")


def clean_objections(values: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        text = " ".join(str(value).split())[:MAX_OBJECTION]
        if text and text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
    return tuple(out)


def validate_row(raw: dict, vocabulary: Vocabulary) -> ItemData | str:
    """An ItemData, or the reason the row is rejected."""
    if not isinstance(raw, dict):
        return "not an object with the fields " + ", ".join(FIELDS)

    def text(key: str) -> str:
        value = raw.get(key)
        if value is None:
            return ""
        if not isinstance(value, (str, int, float)):
            return "\0bad"
        return " ".join(str(value).split()) if key != "summary" else str(value).strip()

    title, url = text("title"), text("url")
    if not title or title == "\0bad":
        return "missing title"
    if len(title) > MAX_TITLE:
        return f"title longer than {MAX_TITLE} characters"
    if not url:
        return "missing url"
    if not valid_url(url):
        return f"bad URL '{url[:80]}' (expected http:// or https://)"
    facets: dict[str, str] = {}
    for facet in ("type", "stage", "persona"):
        value = text(facet)
        if not value or value == "\0bad":
            return f"missing {facet}"
        checked = vocabulary.check(facet, value)
        if checked is None:
            return f"unknown {facet} '{value[:40]}' (allowed: {', '.join(vocabulary.allowed(facet))})"
        facets[facet] = checked
    summary = text("summary")
    if summary == "\0bad":
        return "summary must be text"
    if len(summary) > MAX_SUMMARY:
        return f"summary longer than {MAX_SUMMARY} characters"
    objections = raw.get("objections")
    if objections is None or objections == "":
        tags: tuple[str, ...] = ()
    elif isinstance(objections, str):
        tags = clean_objections(objections.split(";"))
    elif isinstance(objections, list) and all(isinstance(o, str) for o in objections):
        tags = clean_objections(objections)
    else:
        return "objections must be a list of strings (or text separated by ';')"
    return ItemData(title=title, url=url, summary=summary, objections=tags, **facets)


def parse_text(content: str, fmt: str, vocabulary: Vocabulary) -> ParsedFile:
    parsed = ParsedFile()
    seen_urls: dict[str, int] = {}

    def accept(line: int, raw) -> None:
        result = validate_row(raw, vocabulary)
        if isinstance(result, str):
            parsed.rejected.append(Rejection(line, result))
        elif result.url in seen_urls:
            parsed.rejected.append(Rejection(line, f"duplicate url (also on line {seen_urls[result.url]})"))
        else:
            seen_urls[result.url] = line
            parsed.rows.append((line, result))

    if fmt == "jsonl":
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                parsed.rejected.append(Rejection(number, f"not valid JSON ({exc.msg})"))
                continue
            accept(number, raw)
        return parsed
    reader = csv.DictReader(io.StringIO(content, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [f for f in ("title", "url", "type", "stage", "persona") if f not in header]
    if missing:
        raise InvalidInput(f"the CSV header must name the columns {', '.join(FIELDS)}; missing: {', '.join(missing)}.")
    reader.fieldnames = header
    start = 2
    for raw in reader:
        if not any((v or "").strip() for k, v in raw.items() if k is not None):
            start = reader.line_num + 1
            continue
        raw.pop(None, None)
        accept(start, raw)
        start = reader.line_num + 1
    return parsed


def read_file(path: Path, fmt: str, vocabulary: Vocabulary) -> ParsedFile:
    try:
        content = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path.name} is not UTF-8 text.") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    return parse_text(content, fmt, vocabulary)


def item_data(item: ContentItem) -> ItemData:
    """A stored item in the library file's terms: to tell an unchanged row, and to export."""
    stored = {name: getattr(item, name) for name in FIELDS}
    return ItemData(**{**stored, "summary": item.summary or "", "objections": tuple(item.objections or ())})


def log_change(session: Session, item_ids: Iterable[int]) -> None:
    from bot.models.base import utcnow

    for item_id in item_ids:
        session.add(ContentChange(item_id=item_id, changed_at=utcnow()))


def upsert_items(session: Session, parsed: ParsedFile, *, skip_invalid: bool, now: datetime) -> ImportReport:
    """Upsert valid rows by URL. With any rejected row and no skip_invalid, nothing is written."""
    report = ImportReport(rejected=list(parsed.rejected))
    existing: dict[str, ContentItem] = {}
    urls = [row.url for _, row in parsed.rows]
    for i in range(0, len(urls), 500):
        for stored in session.scalars(select(ContentItem).where(ContentItem.url.in_(urls[i : i + 500]))):
            existing[stored.url] = stored
    changed: list[ContentItem] = []
    for _, row in parsed.rows:
        item = existing.get(row.url)
        if item is None:
            report.added += 1
            item = ContentItem(url=row.url, created_at=now, updated_at=now)
            _apply(item, row)
            changed.append(item)
            session.add(item)
        elif item_data(item) == row:
            report.unchanged += 1
        else:
            report.updated += 1
            _apply(item, row)
            item.updated_at = now
            changed.append(item)
    if report.rejected and not skip_invalid:
        session.rollback()
        report.added = report.updated = report.unchanged = 0
        return report
    session.flush()
    report.changed_ids = [item.id for item in changed]
    log_change(session, report.changed_ids)
    report.written = True
    return report


def _apply(item: ContentItem, row: ItemData) -> None:
    item.title, item.type, item.stage, item.persona = row.title, row.type, row.stage, row.persona
    item.summary, item.objections = row.summary, list(row.objections)


def export_items(session: Session, fmt: str) -> str:
    rows = [item_data(i) for i in session.scalars(select(ContentItem).order_by(ContentItem.id))]
    if fmt == "jsonl":
        return "".join(json.dumps(asdict(row), ensure_ascii=False) + "\n" for row in rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**asdict(row), "objections": ";".join(o.replace(";", ",") for o in row.objections)})
    return buffer.getvalue()
