"""Parsing of `/content` queries: free text plus inline `key:value` filters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["ParsedQuery", "parse_query"]


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # free text with filters removed, whitespace-normalised
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # keys lowercased


# key:value where value is a run of non-space chars (commas allowed for OR);
# also key:"quoted value" / key:'quoted value'.
_FILTER = re.compile(r"""(?<![\w:])(?P<key>[A-Za-z_]+)\s*:\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<val>[^\s"']+))""")


def parse_query(raw: str, filter_keys=("type", "stage", "persona")) -> ParsedQuery:
    """Extract inline filters (``type:case_study stage:decision,consideration``).

    Unknown keys (and things like ``https://``) stay in the text. Values are
    lowercased and split on commas (OR); they are not validated here.
    """
    raw = raw or ""
    keys = {k.lower() for k in filter_keys}
    filters: dict[str, list[str]] = {}
    out: list[str] = []
    pos = 0
    for m in _FILTER.finditer(raw):
        key = m.group("key").lower()
        if key not in keys:
            continue
        value = (
            m.group("dq")
            if m.group("dq") is not None
            else (m.group("sq") if m.group("sq") is not None else m.group("val"))
        )
        vals = [v.strip().lower() for v in value.split(",")]
        vals = [v for v in vals if v]
        if not vals:
            continue
        out.append(raw[pos : m.start()])
        pos = m.end()
        bucket = filters.setdefault(key, [])
        for v in vals:
            if v not in bucket:
                bucket.append(v)
    out.append(raw[pos:])
    text = re.sub(r"\s+", " ", " ".join(out)).strip()
    return ParsedQuery(text=text, filters={k: tuple(v) for k, v in filters.items()})
