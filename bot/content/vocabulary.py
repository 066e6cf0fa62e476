"""The allowed content types, stages and personas.

Defaults below; override any of them with a comma-separated environment variable
(or `.env` line): REVALIGN_CONTENT_TYPES, REVALIGN_CONTENT_STAGES, REVALIGN_CONTENT_PERSONAS,
e.g. `REVALIGN_CONTENT_TYPES=case_study,whitepaper,podcast`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError

DEFAULT_TYPES = (
    "case_study",
    "whitepaper",
    "one_pager",
    "battlecard",
    "competitor_comparison",
    "roi_calculator",
    "email_template",
    "webinar",
    "blog_post",
    "security_doc",
    "implementation_guide",
    "pricing_faq",
    "product_sheet",
    "sales_script",
    "video",
)
DEFAULT_STAGES = ("awareness", "consideration", "decision", "retention")
DEFAULT_PERSONAS = (
    "cfo",
    "it_security",
    "data_team",
    "ops_leader",
    "marketing_leader",
    "sales_leader",
    "end_user",
    "executive",
)
FACETS = ("type", "stage", "persona")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")


def normalize_value(value: str) -> str:
    """'Case Study' / 'case-study' / ' CASE_STUDY ' -> 'case_study'."""
    return re.sub(r"[\s\-]+", "_", (value or "").strip().lower())


@dataclass(frozen=True)
class Vocabulary:
    types: tuple[str, ...] = DEFAULT_TYPES
    stages: tuple[str, ...] = DEFAULT_STAGES
    personas: tuple[str, ...] = DEFAULT_PERSONAS

    def allowed(self, facet: str) -> tuple[str, ...]:
        return {"type": self.types, "stage": self.stages, "persona": self.personas}[facet]

    def check(self, facet: str, value: str) -> str | None:
        """The normalised value if allowed, else None."""
        normalized = normalize_value(value)
        return normalized if normalized in self.allowed(facet) else None


class _VocabularySettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    types: str | None = Field(default=None, validation_alias="REVALIGN_CONTENT_TYPES")
    stages: str | None = Field(default=None, validation_alias="REVALIGN_CONTENT_STAGES")
    personas: str | None = Field(default=None, validation_alias="REVALIGN_CONTENT_PERSONAS")


def _parse_list(env_name: str, raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return default
    values = tuple(dict.fromkeys(normalize_value(v) for v in raw.split(",") if v.strip()))
    bad = [v for v in values if not _SLUG.match(v)]
    if bad or not values:
        raise ConfigError(
            f"{env_name} is malformed: expected a comma-separated list of words such as "
            f"case_study,whitepaper (got {(bad or [raw])[0][:40]!r})."
        )
    return values


@lru_cache(maxsize=1)
def load_vocabulary() -> Vocabulary:
    raw = _VocabularySettings()
    return Vocabulary(
        types=_parse_list("REVALIGN_CONTENT_TYPES", raw.types, DEFAULT_TYPES),
        stages=_parse_list("REVALIGN_CONTENT_STAGES", raw.stages, DEFAULT_STAGES),
        personas=_parse_list("REVALIGN_CONTENT_PERSONAS", raw.personas, DEFAULT_PERSONAS),
    )
