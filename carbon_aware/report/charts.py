"""The report's charts, drawn with matplotlib (Agg) and returned as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from carbon_aware.footprint.calculation import Footprint
from carbon_aware.footprint.intensity_window import parse_utc
from carbon_aware.intensity.base import IntensityReading
from carbon_aware.report._text import fmt

CHOSEN = "#1a7f37"
BASELINE = "#cf222e"
OTHER = "#8c959f"
CONTEXT = timedelta(hours=6)  # shown either side of the run


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    _pyplot().close(fig)
    return buffer.getvalue()


def emissions_chart_png(footprint: Footprint) -> bytes:
    """Draws gCO2e per region for this run's energy, chosen and baseline marked, as a PNG."""
    plt = _pyplot()
    items = sorted(footprint.counterfactuals.items(), key=lambda kv: (kv[1], kv[0]))
    labels = []
    colours = []
    for name, _ in items:
        if name == footprint.region:
            labels.append(f"{name} (chosen)")
            colours.append(CHOSEN)
        elif name == footprint.baseline_region:
            labels.append(f"{name} (baseline)")
            colours.append(BASELINE)
        else:
            labels.append(name)
            colours.append(OTHER)
    values = [value for _, value in items]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(items) + 1.6), dpi=100)
    ax.barh(labels, values, color=colours)
    ax.invert_yaxis()
    ax.set_xlabel("gCO2e for this run's IT energy (x each region's PUE)")
    ax.set_title("Operational emissions of this run by region")
    ax.set_xlim(0, max(values, default=0) * 1.25 or 1)
    for index, value in enumerate(values):
        ax.text(value, index, f" {fmt(value)} g", va="center", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def intensity_chart_png(
    series: Mapping[str, Sequence[IntensityReading]],
    start_utc: str,
    end_utc: str,
    chosen: str,
    baseline: str,
) -> bytes:
    """Draws grid intensity over time for the chosen and baseline regions, run window shaded."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.4), dpi=100)
    for region, colour in ((chosen, CHOSEN), (baseline, BASELINE)):
        points = sorted(
            (parse_utc(r.datetime_utc), r.gco2e_per_kwh)
            for r in series.get(region, ())
            if "T" in r.datetime_utc
        )
        if points:
            times: list[datetime] = [moment for moment, _ in points]
            ax.step(times, [v for _, v in points], where="post", color=colour, label=region)
    start, end = parse_utc(start_utc), parse_utc(end_utc)
    ax.axvspan(start, end, color="#0969da", alpha=0.2)
    ax.axvline(start, color="#0969da", linewidth=1, label="training run")
    ax.set_xlim(start - CONTEXT, end + CONTEXT)
    ax.set_ylabel("gCO2e/kWh")
    ax.set_ylim(bottom=0)
    ax.set_title("Grid carbon intensity around the training run")
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return _png(fig)


def history_chart_png(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """Draws monthly location- and market-based kgCO2e from the Carbon Footprint export."""
    plt = _pyplot()
    months = [str(row["month"]) for row in rows]
    positions = range(len(months))
    location = [float(row.get("location_based_kgco2e") or 0.0) for row in rows]
    market = [float(row.get("market_based_kgco2e") or 0.0) for row in rows]
    fig, ax = plt.subplots(figsize=(8, 3.4), dpi=100)
    ax.bar([p - 0.2 for p in positions], location, width=0.4, color=OTHER, label="location-based")
    ax.bar([p + 0.2 for p in positions], market, width=0.4, color=CHOSEN, label="market-based")
    ax.set_xticks(list(positions), months, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("kgCO2e")
    ax.set_title("Project carbon footprint by month (Carbon Footprint export)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)
