"""A readable, per-field difference between two versions of a definition."""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from typing import Any

from bot.lead_defs.schema import CONTENT_FIELDS, LABELS, LIST_FIELDS


@dataclass
class FieldChange:
    field: str
    label: str
    # Text fields: [(op, text)] with op in "same" / "removed" / "added".
    segments: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    # List fields.
    added: list[str] = dataclasses.field(default_factory=list)
    removed: list[str] = dataclasses.field(default_factory=list)
    before: Any = None
    after: Any = None


_TOKEN = re.compile(r"\S+|\s+")


def diff_text(before: str, after: str) -> list[tuple[str, str]]:
    """Word-level difference, merged into runs."""
    a, b = _TOKEN.findall(before or ""), _TOKEN.findall(after or "")
    segments: list[tuple[str, str]] = []

    def push(op: str, text: str) -> None:
        if not text:
            return
        if segments and segments[-1][0] == op:
            segments[-1] = (op, segments[-1][1] + text)
        else:
            segments.append((op, text))

    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            push("same", "".join(a[i1:i2]))
        else:
            push("removed", "".join(a[i1:i2]))
            push("added", "".join(b[j1:j2]))
    return segments


def diff_definitions(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for name in CONTENT_FIELDS:
        old, new = before.get(name), after.get(name)
        if old == new or (name == "crm" and not old and not new):
            continue
        change = FieldChange(name, LABELS[name], before=old, after=new)
        if name in LIST_FIELDS:
            old_items, new_items = list(old or []), list(new or [])
            change.removed = [i for i in old_items if i not in new_items]
            change.added = [i for i in new_items if i not in old_items]
            if not change.removed and not change.added:
                change.segments = [("same", "order changed")]
        elif name == "position" or name in ("kind", "owner"):
            change.segments = [("removed", str(old or "—")), ("same", " → "), ("added", str(new or "—"))]
        else:
            change.segments = diff_text(str(old or ""), str(new or ""))
        changes.append(change)
    return changes


def describe(changes: list[FieldChange]) -> str:
    """One plain line: which fields changed."""
    return ", ".join(c.label.lower() for c in changes) or "no changes"
