"""The shape of a definition, its validation, and the YAML file format (with line numbers)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

KINDS = ("stage", "term")
OWNERS = ("marketing", "sales", "shared")

# The editable content of a definition, in file and display order.
CONTENT_FIELDS = (
    "key",
    "full_name",
    "aliases",
    "kind",
    "position",
    "definition",
    "criteria",
    "disqualifiers",
    "owner",
    "next_action",
    "sla",
    "handoff",
    "example",
    "crm",
)
LIST_FIELDS = ("aliases", "criteria", "disqualifiers")
TEXT_FIELDS = ("full_name", "definition", "next_action", "sla", "handoff", "example")
# Bookkeeping exported with each entry so export → import → export is exact.
META_FIELDS = ("version", "updated_by", "updated_at", "last_reviewed")

LABELS = {
    "key": "Key",
    "full_name": "Full name",
    "aliases": "Aliases",
    "kind": "Kind",
    "position": "Funnel position",
    "definition": "Definition",
    "criteria": "Qualifying criteria",
    "disqualifiers": "Disqualifiers",
    "owner": "Owner",
    "next_action": "Next action",
    "sla": "SLA",
    "handoff": "Hand-off",
    "example": "Example",
    "crm": "CRM counterparts",
}

MAX_LENGTHS = {
    "full_name": 100,
    "definition": 2000,
    "next_action": 500,
    "sla": 300,
    "handoff": 500,
    "example": 1000,
}
MAX_LIST_ITEMS = 20
MAX_ITEM_LENGTH = 300

# `crm:` maps a stage to its CRM values: {"hubspot": [...], "salesforce": [...]} (bot/crm reads it).
CRM_SYSTEMS = ("hubspot", "salesforce")

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")


@dataclass
class Problem:
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.message}"


@dataclass
class Entry:
    """One definition's content (plus optional bookkeeping from an export)."""

    content: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    line: int | None = None


def empty_content() -> dict[str, Any]:
    return {f: ([] if f in LIST_FIELDS else None if f == "position" else "") for f in CONTENT_FIELDS}


def normalize_content(raw: dict[str, Any]) -> dict[str, Any]:
    """Strip text, drop blank list items; assumes types were already validated."""
    out = empty_content()
    for name in CONTENT_FIELDS:
        value = raw.get(name)
        if name in LIST_FIELDS:
            out[name] = [" ".join(str(v).split()) for v in (value or []) if str(v).strip()]
        elif name == "position":
            out[name] = value
        elif name == "crm":
            out[name] = normalize_crm(value)
        elif name == "kind" or name == "owner":
            out[name] = str(value or "").strip().lower()
        elif name in ("key", "full_name"):
            out[name] = " ".join(str(value or "").split())
        else:
            out[name] = str(value or "").strip()
    return out


def normalize_crm(value: Any) -> dict[str, list[str]]:
    """{"hubspot": "x"} or {"hubspot": ["x", ""]} → {"hubspot": ["x"]}; empty systems dropped."""
    out: dict[str, list[str]] = {}
    for system in CRM_SYSTEMS:
        items = (value or {}).get(system) if isinstance(value, dict) else None
        items = [items] if isinstance(items, (str, int, float)) else (items or [])
        cleaned = [" ".join(str(v).split()) for v in items if str(v).strip()]
        if cleaned:
            out[system] = cleaned
    return out


def validate_content(raw: dict[str, Any], *, line_of=lambda name: None) -> list[Problem]:
    """Every problem with one entry's content; `line_of(field)` gives file lines."""
    problems: list[Problem] = []

    def add(name: str | None, message: str) -> None:
        problems.append(Problem(line_of(name), name, message))

    key = raw.get("key")
    label = f"'{key}'" if isinstance(key, str) and key.strip() else "this entry"
    if not isinstance(key, str) or not key.strip():
        add("key", "key is missing (e.g. key: MQL)")
    elif not KEY_PATTERN.match(" ".join(key.split())):
        add("key", f"key '{key[:40]}' must be 1-40 letters, digits, spaces, '.', '_' or '-'")
    for name in ("full_name", "definition"):
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            add(name, f"{label}: {name} is missing")
    for name in TEXT_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            add(name, f"{label}: {name} must be text")
        elif len(value.strip()) > MAX_LENGTHS[name]:
            add(name, f"{label}: {name} is {len(value.strip())} characters; the limit is {MAX_LENGTHS[name]}")
    for name in LIST_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            add(name, f"{label}: {name} must be a list of text items")
        elif len(value) > MAX_LIST_ITEMS:
            add(name, f"{label}: {name} has {len(value)} items; the limit is {MAX_LIST_ITEMS}")
        elif any(len(str(v)) > MAX_ITEM_LENGTH for v in value):
            add(name, f"{label}: an item in {name} is longer than {MAX_ITEM_LENGTH} characters")
    crm = raw.get("crm")
    if crm is not None:
        if isinstance(crm, dict):  # the YAML loader's line bookkeeping is not content
            crm = {k: v for k, v in crm.items() if not str(k).startswith("__")}
        if not isinstance(crm, dict) or set(crm) - set(CRM_SYSTEMS):
            add("crm", f"{label}: crm must map hubspot and/or salesforce to a list of CRM stage values")
        elif any(
            not isinstance(v, (str, list))
            or (
                isinstance(v, list)
                and (
                    len(v) > MAX_LIST_ITEMS
                    or not all(isinstance(i, (str, int, float)) and len(str(i)) <= 160 for i in v)
                )
            )
            for v in crm.values()
        ):
            add("crm", f"{label}: each crm system takes a list of up to {MAX_LIST_ITEMS} stage values")
    kind = raw.get("kind")
    kind_ok = isinstance(kind, str) and kind.strip().lower() in KINDS
    if not kind_ok:
        add("kind", f"{label}: kind must be 'stage' or 'term'")
    owner = raw.get("owner")
    if not isinstance(owner, str) or owner.strip().lower() not in OWNERS:
        add("owner", f"{label}: owner must be marketing, sales or shared")
    position = raw.get("position")
    if kind_ok and str(kind).strip().lower() == "stage":
        if isinstance(position, bool) or not isinstance(position, int) or not 1 <= position <= 50:
            add("position", f"{label}: a stage needs a funnel position, a whole number from 1 to 50")
        if not [c for c in (raw.get("criteria") or []) if str(c).strip()]:
            add("criteria", f"{label}: a stage needs at least one qualifying criterion")
        for name in ("next_action", "sla"):
            value = raw.get(name)
            if not isinstance(value, str) or not value.strip():
                add(name, f"{label}: a stage needs " + ("an SLA" if name == "sla" else "a next action"))
    elif kind_ok and position is not None:
        add("position", f"{label}: only stages have a funnel position")
    return problems


def validate_entries(entries: list[Entry]) -> list[Problem]:
    """Per-entry problems plus clashes between entries (duplicate keys, names, positions)."""
    from bot.lead_defs.matching import normalize

    problems: list[Problem] = []
    names: dict[str, str] = {}
    positions: dict[int, str] = {}
    for entry in entries:
        lines = entry.meta.get("_lines", {})
        problems += validate_content(entry.content, line_of=lambda n, e=entry, ls=lines: ls.get(n, e.line))
        problems += validate_meta(entry, lines)
        key = entry.content.get("key")
        if not isinstance(key, str) or not key.strip():
            continue
        key = " ".join(key.split())
        spelled = [key, entry.content.get("full_name")] + list(entry.content.get("aliases") or [])
        for name in spelled:
            if not isinstance(name, (str, int, float)):
                continue
            norm = normalize(str(name))
            if not norm:
                continue
            other = names.get(norm)
            if other and other != key:
                field_name = "key" if name == key else "aliases"
                problems.append(
                    Problem(
                        lines.get(field_name, entry.line), field_name, f"'{key}': '{name}' is already used by '{other}'"
                    )
                )
            elif other is None:
                names[norm] = key
        if entry.content.get("kind") == "stage" and isinstance(entry.content.get("position"), int):
            position = entry.content["position"]
            if position in positions:
                problems.append(
                    Problem(
                        lines.get("position", entry.line),
                        "position",
                        f"'{key}': position {position} is already '{positions[position]}'",
                    )
                )
            else:
                positions[position] = key
    return problems


def validate_meta(entry: Entry, lines: dict[str, int]) -> list[Problem]:
    problems = []
    meta = entry.meta
    if "version" in meta and (
        isinstance(meta["version"], bool) or not isinstance(meta["version"], int) or meta["version"] < 1
    ):
        problems.append(Problem(lines.get("version", entry.line), "version", "version must be a whole number ≥ 1"))
    for name in ("updated_at", "last_reviewed"):
        if name in meta and parse_time(meta[name]) is None:
            problems.append(
                Problem(
                    lines.get(name, entry.line),
                    name,
                    f"{name} must be a date and time such as 2026-11-24T15:00:00+00:00",
                )
            )
    if "updated_by" in meta and not isinstance(meta["updated_by"], str):
        problems.append(Problem(lines.get("updated_by", entry.line), "updated_by", "updated_by must be text"))
    return problems


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


# --- YAML --------------------------------------------------------------------------
class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of each mapping and of each of its keys."""

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        mapping["__lines__"] = {
            key_node.value: key_node.start_mark.line + 1
            for key_node, _ in node.value
            if isinstance(key_node, yaml.ScalarNode)
        }
        return mapping


def parse_yaml(text: str) -> tuple[list[Entry], list[Problem]]:
    """Entries of a definitions file, or the problems that stop it being read."""
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        return [], [Problem(line, None, f"not valid YAML: {getattr(exc, 'problem', None) or exc}")]
    if not isinstance(data, dict) or not isinstance(data.get("terms"), list):
        return [], [Problem(1, None, "the file must have a top-level 'terms:' list")]
    entries: list[Entry] = []
    problems: list[Problem] = []
    for index, item in enumerate(data["terms"], start=1):
        if not isinstance(item, dict):
            problems.append(Problem(None, None, f"entry {index} is not a mapping of field: value"))
            continue
        line = item.pop("__line__", None)
        lines = item.pop("__lines__", {})
        unknown = [k for k in item if k not in CONTENT_FIELDS and k not in META_FIELDS]
        for name in unknown:
            problems.append(
                Problem(
                    lines.get(name, line),
                    None,
                    f"unknown field '{name}' (fields: {', '.join(CONTENT_FIELDS + META_FIELDS)})",
                )
            )
        content = {k: v for k, v in item.items() if k in CONTENT_FIELDS}
        meta = {k: v for k, v in item.items() if k in META_FIELDS}
        meta["_lines"] = lines
        entries.append(Entry(content=content, meta=meta, line=line))
    return entries, problems


def dump_yaml(records: list[dict[str, Any]]) -> str:
    """The export format: content fields then bookkeeping, in a fixed order."""
    terms = []
    for record in records:
        item: dict[str, Any] = {}
        for name in CONTENT_FIELDS:
            value = record.get(name)
            if (name == "position" and value is None) or (name == "crm" and not value):
                continue
            item[name] = value
        for name in META_FIELDS:
            if name in record:
                item[name] = record[name]
        terms.append(item)
    return yaml.safe_dump({"terms": terms}, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
