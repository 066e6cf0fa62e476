"""The metric catalog: every shared KPI, its unit, owner team and default target.

Base metrics are recorded (Slack, CSV, API). Ratio metrics are derived from
base metrics and can never be typed in: `sum(numerator) / sum(denominator)`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

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


CATALOG: tuple[Metric, ...] = (
    # --- marketing-owned base metrics -------------------------------------------
    Metric(
        "mqls",
        "MQLs",
        COUNT,
        MARKETING,
        "Marketing-qualified leads created in the week",
        default_target=120,
        aliases=("mql", "marketing qualified leads", "marketing-qualified leads"),
        key_metric=True,
    ),
    Metric(
        "marketing_spend",
        "Marketing spend",
        CURRENCY,
        MARKETING,
        "Paid media, events and tools spent in the week",
        higher_is_better=False,
        aliases=("spend", "marketing cost", "marketing costs"),
    ),
    Metric(
        "content_shares",
        "Content shares",
        COUNT,
        MARKETING,
        "Content sent to prospects by reps",
        default_target=60,
        aliases=("shares", "content shared"),
        counted_from_content=True,
    ),
    # --- sales-owned base metrics ------------------------------------------------
    Metric(
        "sqls",
        "SQLs",
        COUNT,
        SALES,
        "Sales-qualified leads accepted in the week",
        default_target=40,
        aliases=("sql", "sales qualified leads", "sales-qualified leads"),
        key_metric=True,
    ),
    Metric(
        "mqls_followed_up",
        "MQLs followed up within SLA",
        COUNT,
        SALES,
        "MQLs a rep contacted within the follow-up SLA",
        aliases=("mqls followed up", "followed up", "mql follow-ups", "mql follow ups", "followed up within sla"),
    ),
    Metric(
        "deals_won",
        "Deals won",
        COUNT,
        SALES,
        "Opportunities closed-won in the week",
        default_target=10,
        aliases=("won", "wins", "closed won", "deals closed won"),
    ),
    Metric(
        "deals_lost",
        "Deals lost",
        COUNT,
        SALES,
        "Opportunities closed-lost in the week",
        higher_is_better=False,
        aliases=("lost", "losses", "closed lost"),
    ),
    Metric(
        "new_customers",
        "New customers",
        COUNT,
        SALES,
        "New logos signed in the week",
        default_target=8,
        aliases=("customers", "new logos", "logos"),
    ),
    Metric(
        "pipeline_created",
        "Pipeline created",
        CURRENCY,
        SALES,
        "Value of opportunities opened in the week",
        default_target=400_000,
        aliases=("pipeline", "new pipeline", "pipeline generated"),
        key_metric=True,
    ),
    Metric(
        "revenue_closed",
        "Revenue closed",
        CURRENCY,
        SALES,
        "Bookings from deals won in the week",
        default_target=150_000,
        aliases=("revenue", "bookings", "closed revenue"),
        key_metric=True,
    ),
    Metric(
        "sales_cycle_days",
        "Average sales cycle",
        DAYS,
        SALES,
        "Average days from opportunity created to closed-won, for deals won in the week",
        higher_is_better=False,
        default_target=45,
        aliases=("sales cycle", "avg sales cycle", "average sales cycle (days)", "sales cycle days", "cycle"),
    ),
    # --- derived ratios ------------------------------------------------------------
    Metric(
        "mql_to_sql",
        "MQL→SQL conversion",
        PERCENT,
        SHARED,
        "SQLs ÷ MQLs",
        default_target=0.33,
        aliases=(
            "mql->sql conversion",
            "mql to sql conversion",
            "mql->sql",
            "mql to sql",
            "mql sql conversion",
            "mql-to-sql",
        ),
        numerator=("sqls",),
        denominator=("mqls",),
        key_metric=True,
    ),
    Metric(
        "sql_to_won",
        "SQL→won conversion",
        PERCENT,
        SALES,
        "Deals won ÷ SQLs",
        default_target=0.25,
        aliases=("sql->won conversion", "sql to won conversion", "sql->won", "sql to won", "sql-to-won"),
        numerator=("deals_won",),
        denominator=("sqls",),
    ),
    Metric(
        "win_rate",
        "Win rate",
        PERCENT,
        SALES,
        "Deals won ÷ (deals won + deals lost)",
        default_target=0.30,
        aliases=("winrate", "win %"),
        numerator=("deals_won",),
        denominator=("deals_won", "deals_lost"),
        key_metric=True,
    ),
    Metric(
        "cpa",
        "Cost per acquisition",
        CURRENCY,
        MARKETING,
        "Marketing spend ÷ new customers",
        higher_is_better=False,
        default_target=6_000,
        aliases=("cac", "cost per customer", "customer acquisition cost"),
        numerator=("marketing_spend",),
        denominator=("new_customers",),
        key_metric=True,
    ),
    Metric(
        "mql_sla",
        "MQL follow-up SLA compliance",
        PERCENT,
        SHARED,
        "MQLs followed up within SLA ÷ MQLs",
        default_target=0.90,
        aliases=("sla compliance", "mql sla", "follow-up sla", "sla", "mql follow-up sla"),
        numerator=("mqls_followed_up",),
        denominator=("mqls",),
        key_metric=True,
        short_name="MQL follow-up SLA",
    ),
)

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
