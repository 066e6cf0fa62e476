"""The metric catalog: every shared KPI, its unit, owner team and default target.

Base metrics are recorded (Slack, CSV, API). Ratio metrics are derived from
base metrics and can never be typed in: `sum(numerator) / sum(denominator)`.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from importlib import resources
from typing import Any

from bot.errors import InvalidInput

# Units decide validation and formatting.
COUNT = "count"
CURRENCY = "currency"
PERCENT = "percent"
DAYS = "days"

MARKETING = "marketing"
SALES = "sales"
SHARED = "shared"

TEAM_LABELS = {MARKETING: "Marketing", SALES: "Sales", SHARED: "Shared"}
MAX_VALUE = 1e12


@dataclass(frozen=True)
class Metric:
    key: str
    name: str
    unit: str
    owner: str
    description: str
    higher_is_better: bool = True
    period: str = "weekly"
    default_target: float | None = None
    aliases: tuple[str, ...] = ()
    numerator: tuple[str, ...] = ()  # ratio metrics only
    denominator: tuple[str, ...] = ()
    key_metric: bool = False  # gets a panel in the digest chart
    counted_from_content: bool = False  # filled from /content shares when not recorded
    short_name: str = ""  # for chart panels

    @property
    def label(self) -> str:
        return self.short_name or self.name

    @property
    def is_ratio(self) -> bool:
        return bool(self.denominator)

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.numerator + self.denominator))

    @property
    def upper_bound(self) -> float | None:
        """The largest value that makes sense: 100% for percentages (a share of a whole), else none."""
        return 1.0 if self.unit == PERCENT else None

    def out_of_range(self, value: float | None) -> bool:
        """A figure no real week can produce (SLA compliance of 113%): its inputs are wrong."""
        if value is None:
            return False
        bound = self.upper_bound
        return value < 0 or (bound is not None and value > bound)


# The definitions are data: catalog.toml next to this module (shipped as package data).
CATALOG_FILE = "catalog.toml"
_UNITS = (COUNT, CURRENCY, PERCENT, DAYS)
_OWNERS = (MARKETING, SALES, SHARED)


class CatalogError(ValueError):
    """catalog.toml is wrong; the message names the metric and the field."""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# What the file must hold for each of Metric's field types (annotations are strings
# here, `from __future__ import annotations`). A field of a type not listed fails at import.
_FIELD_TYPES: dict[str, tuple[Callable[[object], bool], str]] = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "float | None": (_is_number, "a number"),
    "tuple[str, ...]": (_is_strings, "a list of strings"),
}
_FIELDS = {f.name: _FIELD_TYPES[str(f.type)] for f in fields(Metric)}
_REQUIRED = [f.name for f in fields(Metric) if f.default is MISSING]


def _metric(position: int, entry: object) -> Metric:
    """One [[metric]] table as a Metric, or CatalogError naming it and the wrong field."""
    where = f"{CATALOG_FILE}: metric {position}"
    if not isinstance(entry, dict):
        raise CatalogError(f"{where} is not a table")
    if isinstance(entry.get("key"), str):
        where += f" ({entry['key']!r})"
    for name in entry:
        if name not in _FIELDS:
            raise CatalogError(f"{where}: unknown field {name!r} (fields: {', '.join(_FIELDS)})")
    for name in _REQUIRED:
        if name not in entry:
            raise CatalogError(f"{where}: field {name!r} is missing")
    values: dict[str, Any] = {}
    for name, value in entry.items():
        check, expected = _FIELDS[name]
        if not check(value):
            raise CatalogError(f"{where}: field {name!r} must be {expected}, not {value!r}")
        if name in _REQUIRED and not value.strip():
            raise CatalogError(f"{where}: field {name!r} is empty")
        values[name] = tuple(value) if isinstance(value, list) else value
    if values["unit"] not in _UNITS:
        raise CatalogError(f"{where}: field 'unit' must be one of {', '.join(_UNITS)}, not {values['unit']!r}")
    if values["owner"] not in _OWNERS:
        raise CatalogError(f"{where}: field 'owner' must be one of {', '.join(_OWNERS)}, not {values['owner']!r}")
    if values.get("numerator") and not values.get("denominator"):
        # Without a denominator it would silently be a base metric that can be typed in.
        raise CatalogError(f"{where}: field 'numerator' needs a 'denominator'")
    if values.get("denominator") and not values.get("numerator"):
        raise CatalogError(f"{where}: field 'denominator' needs a 'numerator'")
    return Metric(**values)


def parse_catalog(text: str) -> tuple[Metric, ...]:
    """catalog.toml's text as the catalog, checked: unique keys, ratios made of known base metrics."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{CATALOG_FILE}: {exc}") from exc
    entries = document.get("metric")
    if set(document) != {"metric"} or not isinstance(entries, list):
        raise CatalogError(f"{CATALOG_FILE}: expected only [[metric]] tables, found {', '.join(document) or 'none'}")
    metrics = tuple(_metric(position, entry) for position, entry in enumerate(entries, start=1))
    by_key: dict[str, Metric] = {}
    for position, metric in enumerate(metrics, start=1):
        where = f"{CATALOG_FILE}: metric {position} ({metric.key!r})"
        if metric.key in by_key:
            raise CatalogError(f"{where}: field 'key' repeats an earlier metric's key")
        by_key[metric.key] = metric
    for position, metric in enumerate(metrics, start=1):
        where = f"{CATALOG_FILE}: metric {position} ({metric.key!r})"
        for name in ("numerator", "denominator"):
            for part in getattr(metric, name):
                if part not in by_key:
                    raise CatalogError(f"{where}: field {name!r} names {part!r}, which is not a metric")
                if by_key[part].is_ratio:
                    raise CatalogError(
                        f"{where}: field {name!r} names {part!r}, a ratio; ratios are made of base metrics"
                    )
    return metrics


def _load_catalog() -> tuple[Metric, ...]:
    return parse_catalog(resources.files("bot.kpis").joinpath(CATALOG_FILE).read_text(encoding="utf-8"))


CATALOG: tuple[Metric, ...] = _load_catalog()
BY_KEY: dict[str, Metric] = {m.key: m for m in CATALOG}
BASE_METRICS = tuple(m for m in CATALOG if not m.is_ratio)
RATIO_METRICS = tuple(m for m in CATALOG if m.is_ratio)


def normalize(text: str) -> str:
    """Lower-case, arrows and punctuation folded, so "MQL→SQL", "mql -> sql" and "MQL to SQL" meet."""
    text = text.strip().lower().replace("→", "->").replace("–", "-").replace("—", "-")
    text = re.sub(r"\s*->\s*", "->", text)
    text = re.sub(r"[\s_]+", " ", text)
    return text.strip(" .:")


def _lookup_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for metric in CATALOG:
        for name in (metric.key, metric.name, *metric.aliases):
            table[normalize(name)] = metric.key
            table[normalize(name).replace("->", " to ")] = metric.key
    return table


_LOOKUP = _lookup_table()


def find_metric(text: str) -> Metric | None:
    key = _LOOKUP.get(normalize(text))
    if key is None:
        # "MQLs" vs "mql", "SQL" vs "sqls": a trailing plural s is forgiven.
        folded = normalize(text)
        key = _LOOKUP.get(folded[:-1]) if folded.endswith("s") else _LOOKUP.get(folded + "s")
    return BY_KEY.get(key) if key else None


def get_metric(text: str) -> Metric:
    """The metric named by `text` (name, key or alias, any case), or InvalidInput with a suggestion."""
    metric = find_metric(text)
    if metric is not None:
        return metric
    shown = " ".join(text.split())[:60]
    hint = suggest(text)
    suffix = f" Did you mean *{hint.name}*?" if hint else ""
    raise InvalidInput(f"'{shown}' is not a KPI.{suffix} See `/kpi metrics` for the list.")


def suggest(text: str) -> Metric | None:
    from rapidfuzz import fuzz, process

    match = process.extractOne(normalize(text), list(_LOOKUP), scorer=fuzz.WRatio, score_cutoff=75)
    return BY_KEY[_LOOKUP[match[0]]] if match else None


def ratio_refusal(metric: Metric) -> str:
    parts = " and ".join(BY_KEY[k].name for k in metric.parts)
    return f"{metric.name} is calculated ({metric.description}), so it can't be typed in. Record {parts} instead."


def users_of(part_key: str) -> list[Metric]:
    """Ratio metrics that use a base metric."""
    return [m for m in RATIO_METRICS if part_key in m.parts]


# --- values: parsing and formatting -------------------------------------------------
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9}
_NUMBER = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?$")


def looks_like_number(text: str) -> bool:
    try:
        parse_number(text)
        return True
    except InvalidInput:
        return False


def parse_number(text: str) -> float:
    """'120', '1,200', '$12.5k', '1.2M', '41 days', '88%' (as 88) → float."""
    raw = text.strip()
    cleaned = raw.lower().replace("$", "").replace("€", "").replace("£", "").replace(" ", "")
    for word in ("days", "day", "d"):
        if cleaned.endswith(word) and cleaned[: -len(word)][-1:].isdigit():
            cleaned = cleaned[: -len(word)]
            break
    cleaned = cleaned.rstrip("%")
    multiplier = 1.0
    if cleaned[-1:] in _SUFFIX and cleaned[:-1]:
        multiplier = _SUFFIX[cleaned[-1]]
        cleaned = cleaned[:-1]
    if not cleaned or not _NUMBER.match(cleaned) or cleaned in ("+", "-", "."):
        raise InvalidInput(f"'{raw[:30]}' is not a number.")
    return float(cleaned.replace(",", "")) * multiplier


def check_value(metric: Metric, value: float) -> str | None:
    """Why `value` can't be stored for `metric`, or None."""
    if metric.is_ratio:
        return ratio_refusal(metric)
    if not math.isfinite(value):
        return "must be a finite number"
    if value < 0:
        return f"{metric.name} can't be negative"
    if value > MAX_VALUE:
        return f"{metric.name} of {value:,.0f} is implausibly large"
    if metric.unit == COUNT and value != int(value):
        return f"{metric.name} is a count, so it must be a whole number"
    return None


def range_problem(metric: Metric, value: float | None) -> str:
    """'check the inputs (MQLs followed up within SLA ÷ MQLs can't be over 100%)' for an impossible figure, else ''."""
    if not metric.out_of_range(value):
        return ""
    what = metric.description if metric.is_ratio else metric.name
    limit = "be negative" if value is not None and value < 0 else f"be over {format_value(metric, metric.upper_bound)}"
    return f"check the inputs ({what} can't {limit})"


def range_flag(metric: Metric, value: float | None) -> str:
    """'MQL follow-up SLA compliance 113.0%: check the inputs (…)' for an impossible figure, else ''."""
    problem = range_problem(metric, value)
    return f"{metric.name} {format_value(metric, value)}: {problem}" if problem else ""


def format_value(metric: Metric, value: float | None, *, compact: bool = False) -> str:
    if value is None:
        return "—"
    if metric.unit == PERCENT:
        return f"{value * 100:.1f}%"
    if metric.unit == CURRENCY:
        if compact and abs(value) >= 1e6:
            return f"${value / 1e6:.2f}M"
        if compact and abs(value) >= 1e4:
            return f"${value / 1e3:.0f}k"
        return f"${value:,.0f}"
    if metric.unit == DAYS:
        return f"{value:.1f} days" if value != int(value) else f"{value:.0f} days"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
