"""Find the term someone means: key, full name, alias, plural, question form, or a typo."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process

MAX_QUERY = 300

_QUESTION_PREFIXES = re.compile(
    r"^(?:(?:so|hey|hi|ok|okay|please|pls)\s+)*"
    r"(?:what\s+(?:is|are|s|does|do)|whats|what's|who\s+owns|define|definition\s+of|meaning\s+of|"
    r"explain|tell\s+me\s+about|show(?:\s+me)?|how\s+do\s+we\s+define|how\s+is)\s+"
    r"(?:(?:an|a|the|our)\s+)?",
)
_QUESTION_SUFFIXES = re.compile(r"\s+(?:mean|means|stand\s+for|stands\s+for|again|please|pls)$")
_NON_WORD = re.compile(r"[^\w\s]+")
_URLISH = re.compile(r"<[^>]*>")


def normalize(text: str) -> str:
    """Case-folded words only: 'Marketing-Qualified Lead!' → 'marketing qualified lead'."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("’", "'").replace("'s ", " ").replace("-", " ").replace("/", " ")
    text = re.sub(r"'s$", "", text)
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    return " ".join(text.split())


def strip_question(norm: str) -> str:
    previous = None
    while previous != norm:
        previous = norm
        norm = _QUESTION_PREFIXES.sub("", norm).strip()
        norm = _QUESTION_SUFFIXES.sub("", norm).strip()
    return norm


def singular(norm: str) -> str:
    if len(norm) > 4 and norm.endswith("ies"):
        return norm[:-3] + "y"
    if len(norm) > 2 and norm.endswith("s") and not norm.endswith("ss"):
        return norm[:-1]
    return norm


@dataclass
class Match:
    key: str | None  # the exact term, if found
    suggestions: list[str]  # closest keys otherwise (best first)
    cleaned: str  # the query as understood


class TermIndex:
    """Every spelling of every term → its key."""

    def __init__(self, spellings: dict[str, list[str]]) -> None:
        # spellings: key -> [key, full name, alias, ...]
        self.names: dict[str, str] = {}
        self.keys = list(spellings)
        for key, names in spellings.items():
            for name in names:
                norm = normalize(name)
                if norm:
                    self.names.setdefault(norm, key)
                    self.names.setdefault(norm.replace(" ", ""), key)

    def _exact(self, norm: str) -> str | None:
        for candidate in (norm, singular(norm), norm.replace(" ", ""), singular(norm).replace(" ", "")):
            if candidate in self.names:
                return self.names[candidate]
        return None

    def exact(self, text: str) -> str | None:
        """The key `text` spells exactly (key, full name or alias, any case, singular or plural)."""
        return self._exact(normalize(text))

    def find(self, text: str) -> Match:
        text = _URLISH.sub(" ", text[: MAX_QUERY * 4])[:MAX_QUERY]
        norm = normalize(text)
        cleaned = strip_question(norm)
        for candidate in (norm, cleaned):
            if candidate:
                key = self._exact(candidate)
                if key:
                    return Match(key, [], cleaned)
        # A term inside a longer question: the longest run of words that names one.
        words = cleaned.split()
        for size in range(min(5, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                key = self._exact(" ".join(words[start : start + size]))
                if key and (size > 1 or len(words[start]) >= 2):
                    return Match(key, [], cleaned)
        return Match(None, self.suggest(cleaned or norm), cleaned or norm)

    def suggest(self, norm: str, limit: int = 3) -> list[str]:
        if not norm:
            return []
        found: list[str] = []
        results = process.extract(norm, list(self.names), scorer=fuzz.ratio, limit=20, score_cutoff=60)
        if not results and len(norm) > 3:
            results = process.extract(norm, list(self.names), scorer=fuzz.WRatio, limit=20, score_cutoff=80)
        for name, _score, _ in results:
            key = self.names[name]
            if key not in found:
                found.append(key)
            if len(found) == limit:
                break
        return found
