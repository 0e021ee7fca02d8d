"""The report's charts, drawn with matplotlib (Agg) and returned as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from carbon_aware.footprint.calculation import Footprint
from carbon_aware.footprint.intensity_window import parse_utc
from carbon_aware.intensity.base import IntensityReading
from carbon_aware.report._text import sig

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


def region_ranges(footprint: Footprint) -> dict[str, tuple[float, float]]:
    """Each region's gCO2e range for this run, as the chosen region's range scales.

    The chosen and baseline regions have their own ranges (every energy term and the intensity at
    the ends of their documented ranges); every other region gets the chosen region's relative
    range, the same energy and intensity band applied to its own figure.
    """
    ranges = footprint.uncertainty or {}
    chosen = ranges.get("co2e_g")
    own = {
        footprint.region: chosen,
        footprint.baseline_region: ranges.get("baseline_co2e_g"),
    }
    result: dict[str, tuple[float, float]] = {}
    for name, value in footprint.counterfactuals.items():
        span = own.get(name)
        if span:
            result[name] = (float(span[0]), float(span[1]))
        elif chosen and footprint.co2e_g > 0:
            low, high = (float(chosen[0]) / footprint.co2e_g, float(chosen[1]) / footprint.co2e_g)
            result[name] = (value * low, value * high)
    return result


def emissions_chart_png(
    footprint: Footprint, exclusions: Sequence[Mapping[str, str]] = ()
) -> bytes:
    """Draws gCO2e per region with its range, chosen and baseline marked, excluded regions named.

    Args:
        footprint: The run's footprint (every candidate's counterfactual and the ranges).
        exclusions: Candidates choose-region left out (``region``, ``reason``), drawn without
            a bar and with the reason.

    Returns:
        The chart as PNG bytes.
    """
    plt = _pyplot()
    items = sorted(footprint.counterfactuals.items(), key=lambda kv: (kv[1], kv[0]))
    ranges = region_ranges(footprint)
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
    lows = [value - ranges.get(name, (value, value))[0] for name, value in items]
    highs = [ranges.get(name, (value, value))[1] - value for name, value in items]
    excluded = [item for item in exclusions if item.get("region") not in footprint.counterfactuals]
    rows = len(items) + len(excluded)
    fig, ax = plt.subplots(figsize=(8, 0.45 * rows + 1.8), dpi=100)
    positions = list(range(len(items)))
    ax.barh(positions, values, color=colours, xerr=[lows, highs], capsize=3, ecolor="#57606a")
    top = max([v + h for v, h in zip(values, highs, strict=True)], default=0) * 1.3 or 1
    for index, item in enumerate(excluded, start=len(items)):
        labels.append(f"{item.get('region', '?')} (excluded)")
        ax.text(
            0,
            index,
            f" excluded: {item.get('reason', '')}"[:110],
            va="center",
            fontsize=8,
            color="#57606a",
        )
    ax.set_yticks(list(range(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("gCO2e for this run's IT energy (x each region's PUE); bars: range")
    ax.set_title("Operational emissions of this run by region")
    ax.set_xlim(0, top)
    for index, (value, high) in enumerate(zip(values, highs, strict=True)):
        ax.text(value + high, index, f" {sig(value)} g", va="center", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def intensity_chart_png(
    series: Mapping[str, Sequence[IntensityReading]],
    start_utc: str,
    end_utc: str,
    chosen: str,
    baseline: str,
) -> bytes:
    """Draws grid intensity over time for the chosen and baseline regions, run window shaded.

    A region whose readings all end before the run is labelled stale (with its last reading's
    time), never "latest"; with no reading in the window shown the chart says so.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.4), dpi=100)
    start, end = parse_utc(start_utc), parse_utc(end_utc)
    shown_from, shown_to = start - CONTEXT, end + CONTEXT
    drawn = 0
    for region, colour in ((chosen, CHOSEN), (baseline, BASELINE)):
        points = sorted(
            (parse_utc(r.datetime_utc), r.gco2e_per_kwh)
            for r in series.get(region, ())
            if "T" in r.datetime_utc
        )
        if not points:
            continue
        label = region
        if points[-1][0] < start:
            label = f"{region} (stale: last reading {points[-1][0]:%Y-%m-%d %H:%M} UTC)"
            # A stale series is drawn as a flat line at its last value over the window shown.
            points = [(shown_from, points[-1][1]), (shown_to, points[-1][1])]
        inside = [p for p in points if shown_from <= p[0] <= shown_to]
        if not inside and not (points[0][0] <= shown_from and points[-1][0] >= shown_to):
            continue
        times: list[datetime] = [moment for moment, _ in points]
        ax.step(times, [v for _, v in points], where="post", color=colour, label=label)
        drawn += 1
    ax.axvspan(start, end, color="#0969da", alpha=0.2)
    ax.axvline(start, color="#0969da", linewidth=1, label="training run")
    ax.set_xlim(shown_from, shown_to)
    ax.set_ylabel("gCO2e/kWh")
    ax.set_ylim(bottom=0)
    ax.set_title("Grid carbon intensity around the training run")
    if not drawn:
        ax.text(
            0.5,
            0.5,
            "no intensity readings in this window",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="#57606a",
        )
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
