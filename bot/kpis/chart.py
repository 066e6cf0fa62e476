"""The digest's 8-week trend chart: one small panel per key metric, with its target line."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from bot.kpis import catalog

if TYPE_CHECKING:
    from bot.kpis.digest import Digest, DigestMetric

LINE = "#1d3b5a"
TARGET = "#d1495b"
GOOD = "#2e9e5b"
BAD = "#d1495b"
MUTED = "#7a8591"
SUSPECT = "#c77d00"


def _axis_formatter(unit: str):
    from matplotlib.ticker import FuncFormatter

    if unit == catalog.PERCENT:
        return FuncFormatter(lambda v, _: f"{v * 100:.0f}%")
    if unit == catalog.CURRENCY:

        def money(v, _):
            if abs(v) >= 1e6:
                return f"${v / 1e6:.1f}M"
            if abs(v) >= 1e3:
                return f"${v / 1e3:.0f}k"
            return f"${v:.0f}"

        return FuncFormatter(money)
    if unit == catalog.DAYS:
        return FuncFormatter(lambda v, _: f"{v:.0f}d")
    return FuncFormatter(lambda v, _: f"{v:,.0f}")


def _panel(ax, metric: DigestMetric, labels: list[str]) -> None:
    xs = list(range(len(labels)))
    points = [(x, v) for x, v in zip(xs, metric.trend, strict=False) if v is not None]
    targets = metric.trend_targets
    if any(t is not None for t in targets):
        ax.step(
            xs,
            [t if t is not None else float("nan") for t in targets],
            where="mid",
            color=TARGET,
            linestyle=(0, (4, 3)),
            linewidth=1.3,
            label="target",
            zorder=2,
        )
    if points:
        px, py = zip(*points, strict=True)
        ax.plot(px, py, color=LINE, linewidth=2.2, marker="o", markersize=3.5, zorder=3)
        ax.fill_between(px, py, min(0, min(py)), color=LINE, alpha=0.06, zorder=1)
    last = metric.trend[-1]
    if last is not None:
        colour = MUTED if metric.on_target is None else (GOOD if metric.on_target else BAD)
        label = metric.value_text
        if metric.flag:  # an impossible figure: neither on nor off target, and said so
            colour, label = SUSPECT, f"{metric.value_text} · check the inputs"
        ax.plot([xs[-1]], [last], marker="o", markersize=8, color=colour, zorder=4)
        ax.annotate(
            label,
            (xs[-1], last),
            textcoords="offset points",
            xytext=(-6, 9),
            ha="right",
            fontsize=9.5,
            fontweight="bold",
            color=colour,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
    else:
        ax.text(0.5, 0.5, "not recorded", transform=ax.transAxes, ha="center", va="center", color=MUTED)
    ax.set_title(metric.label, loc="left", fontsize=11, fontweight="bold", color="#222222")
    if metric.change_text:
        colour = MUTED if metric.improving is None else (GOOD if metric.improving else BAD)
        ax.set_title(metric.change_text, loc="right", fontsize=9.5, color=colour)
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, fontsize=8, color=MUTED)
    ax.yaxis.set_major_formatter(_axis_formatter(metric.unit))
    ax.tick_params(axis="y", labelsize=8, colors=MUTED)
    ax.tick_params(axis="x", length=0)
    ax.grid(axis="y", color="#e6e9ec", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#c9ced4")
    # Leave room above the highest point for the value label.
    values = [v for v in metric.trend + targets if v is not None]
    if values:
        low, high = min(values + [0.0]), max(values)
        ax.set_ylim(low, high * 1.22 if high > 0 else 1)
    ax.set_xlim(-0.4, len(labels) - 0.6)


def render_chart(digest: Digest) -> bytes:
    """A PNG of the key metrics' 8-week trends with target lines (matplotlib, Agg backend)."""
    # The Agg canvas is attached explicitly: no pyplot, no global backend switch, thread-safe.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    panels = [m for m in digest.metrics if m.key_metric]
    columns = 4
    rows = max(1, -(-len(panels) // columns))
    figure = Figure(figsize=(14, 3.4 * rows + 0.9), dpi=110, facecolor="white")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False)
    labels = [p.split("-")[1] for p in digest.trend_periods]
    for index, ax in enumerate(axes.flat):
        if index < len(panels):
            _panel(ax, panels[index], labels)
        else:
            ax.set_visible(False)
    figure.suptitle(
        f"Shared KPIs · 8 weeks to {digest.period_label}",
        x=0.01,
        ha="left",
        fontsize=15,
        fontweight="bold",
        color="#1d3b5a",
    )
    legend = [
        Line2D([0], [0], color=LINE, linewidth=2.2, marker="o", markersize=4, label="actual"),
        Line2D([0], [0], color=TARGET, linestyle=(0, (4, 3)), linewidth=1.3, label="shared target"),
        Line2D([0], [0], color=GOOD, marker="o", linestyle="", markersize=7, label="on target"),
        Line2D([0], [0], color=BAD, marker="o", linestyle="", markersize=7, label="off target"),
    ]
    figure.legend(handles=legend, loc="upper right", ncol=4, frameon=False, fontsize=9, bbox_to_anchor=(0.995, 0.995))
    # Fixed margins rather than tight_layout: same look, half the rendering time.
    figure.subplots_adjust(
        left=0.045,
        right=0.99,
        bottom=0.06 if rows > 1 else 0.1,
        top=0.87 if rows > 1 else 0.78,
        wspace=0.24,
        hspace=0.38,
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()
