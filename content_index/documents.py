"""Content items as the search engine sees them (no persistence concerns)."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ContentDoc", "split_sentences"]


@dataclass(frozen=True)
class ContentDoc:
    id: str  # stable id (the bot passes the DB primary key as str)
    title: str
    summary: str  # may be empty
    type: str
    stage: str
    persona: str
    objections: tuple[str, ...] = ()  # marketing's tags
    learned: tuple[str, ...] = ()  # learned phrasings (queries reps marked Helpful)
    rejected: tuple[str, ...] = ()  # queries reps marked Not helpful for this item (demotion only)

    def __post_init__(self) -> None:
        # Accept lists from callers without breaking hashability/equality.
        if not isinstance(self.objections, tuple):
            object.__setattr__(self, "objections", tuple(self.objections or ()))
        if not isinstance(self.learned, tuple):
            object.__setattr__(self, "learned", tuple(self.learned or ()))
        if not isinstance(self.rejected, tuple):
            object.__setattr__(self, "rejected", tuple(self.rejected or ()))
        object.__setattr__(self, "id", str(self.id))


_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_WS = re.compile(r"\s+")


def normalize_ws(text: str) -> str:
    return _WS.sub(" ", text or "").strip()


def split_sentences(text: str) -> list[str]:
    """Split a summary into sentences (simple, deterministic, no model)."""
    text = normalize_ws(text)
    if not text:
        return []
    parts = [p.strip() for p in _SENT_SPLIT.split(text)]
    return [p for p in parts if len(p) > 2]
