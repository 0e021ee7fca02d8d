"""Report sections for the footprint's terms, ranges and orchestration overhead."""

from __future__ import annotations

from collections.abc import Sequence

from carbon_aware.footprint.calculation import Footprint
from carbon_aware.report._text import fmt, pct

TERMS_HEADING = "## Energy by term"
UNCERTAINTY_HEADING = "## Ranges"
ORCHESTRATION_HEADING = "## What being carbon-aware cost"
TERM_LABELS = {"cpu": "CPU", "gpu": "GPU", "ram": "RAM", "data_movement": "data movement"}


def span(pair: Sequence[float], digits: int = 3) -> str:
    """``low - high`` of a ``[low, high]`` pair."""
    return f"{fmt(pair[0], digits)} to {fmt(pair[1], digits)}"


def pct_span(pair: Sequence[float]) -> str:
    """A percentage range."""
    return f"{pct(pair[0])} to {pct(pair[1])}"


def holds_text(holds: bool) -> str:
    """Whether a saving holds across the ranges, as the report says it."""
    return "holds across the ranges" if holds else "does **not** hold across the ranges"


def headline(footprint: Footprint) -> str:
    """The sentence under the headline: the saving's range and the orchestration cost."""
    u, o = footprint.uncertainty, footprint.orchestration
    return (
        f"Saving range {pct_span(u['savings_pct_vs_baseline'])}%: it "
        f"{holds_text(u['saving_holds'])}. The pipeline's own steps cost {fmt(o.co2e_g)} gCO2e "
        f"against a saving of {fmt(footprint.savings_g_vs_baseline)} g: net "
        f"**{fmt(footprint.net_savings_g_vs_baseline)} g** (range "
        f"{span(u['net_savings_g_vs_baseline'])} g)."
    )


def term_lines(footprint: Footprint) -> list[str]:
    """One row per energy term: kWh, method, range and source."""
    e = footprint.energy
    rows = [
        f"| {TERM_LABELS.get(name, name)} | {fmt(term.kwh, 6)} | {term.method} | "
        f"{span([term.low_kwh, term.high_kwh], 6)} | {term.source} |"
        for name, term in e.terms.items()
    ]
    return [
        TERMS_HEADING,
        "",
        "| term | kWh | method | range (kWh) | source |",
        "|---|---:|---|---:|---|",
        *rows,
        f"| IT total | {fmt(e.total_kwh, 6)} | | {span([e.low_kwh, e.high_kwh], 6)} | |",
        "",
        "Methods: `measured` = a hardware energy counter (RAPL, NVML); `modelled` = a measured "
        "quantity (utilisation) or the machine type's memory x a published power model; "
        "`estimated` = machine spec x duration, nothing measured.",
        "",
    ]


def uncertainty_lines(footprint: Footprint) -> list[str]:
    """The ranges of the headline figures, location-based and market-based apart."""
    u = footprint.uncertainty
    lines = [
        UNCERTAINTY_HEADING,
        "",
        "| figure | central | range |",
        "|---|---:|---:|",
        f"| IT energy (kWh) | {fmt(footprint.energy_kwh, 6)} | {span(u['energy_kwh'], 6)} |",
        f"| intensity, {footprint.region} (gCO2e/kWh) | "
        f"{fmt(footprint.intensity_gco2e_per_kwh, 1)} | {span(u['intensity_gco2e_per_kwh'], 1)} |",
        f"| intensity, baseline {footprint.baseline_region} (gCO2e/kWh) | "
        f"{fmt(footprint.baseline_intensity_gco2e_per_kwh, 1)} | "
        f"{span(u['baseline_intensity_gco2e_per_kwh'], 1)} |",
        f"| emissions, location-based (gCO2e) | {fmt(footprint.co2e_g)} | {span(u['co2e_g'])} |",
        f"| saving vs baseline, location-based (%) | {pct(footprint.savings_pct_vs_baseline)} | "
        f"{pct_span(u['savings_pct_vs_baseline'])} |",
        f"| total incl. orchestration (gCO2e) | {fmt(footprint.total_co2e_g)} | "
        f"{span(u['total_co2e_g'])} |",
        f"| net saving after orchestration (gCO2e) | "
        f"{fmt(footprint.net_savings_g_vs_baseline)} | {span(u['net_savings_g_vs_baseline'])} |",
        f"| SCI ({footprint.sci.unit}) | {fmt(footprint.sci.value)} | {span(u['sci'])} |",
        "",
        f"- The location-based saving {holds_text(u['saving_holds'])}; net of orchestration it "
        f"{holds_text(u['net_saving_holds'])}.",
        f"- Intensity range, chosen region: {u['intensity_basis']}; baseline: "
        f"{u['baseline_intensity_basis']}.",
        f"- {u['method'][0].upper()}{u['method'][1:]}.",
    ]
    market = u.get("market_based")
    if market:
        lines.append(
            f"- Market-based view, kept apart: {span(market['co2e_g'])} gCO2e, saving "
            f"{pct_span(market['savings_pct_vs_baseline'])}% (it "
            f"{holds_text(market['saving_holds'])})."
        )
    return [*lines, ""]


def orchestration_lines(footprint: Footprint) -> list[str]:
    """The pipeline's other steps, their run times, shapes and emissions, beside the saving."""
    o = footprint.orchestration
    lines = [
        ORCHESTRATION_HEADING,
        "",
        f"The pipeline's other steps: **{fmt(o.co2e_g)} gCO2e** ({fmt(o.energy_kwh, 6)} kWh, "
        f"range {fmt(o.low_co2e_g)} to {fmt(o.high_co2e_g)} g) against a saving of "
        f"{fmt(footprint.savings_g_vs_baseline)} g vs the baseline: net "
        f"**{fmt(footprint.net_savings_g_vs_baseline)} g**. All steps are counted, an upper "
        "bound on what carbon-awareness added.",
        "",
    ]
    if not o.steps:
        return [*lines, f"Not measured: {o.source}.", ""]
    lines += [
        "| step | run time (s) | shape | kWh |",
        "|---|---:|---|---:|",
        *(
            f"| {s.step} | {fmt(s.duration_s, 1)} | {s.shape_source} | {fmt(s.energy_kwh, 6)} |"
            for s in o.steps
        ),
        "",
        f"- Times: {o.source}. Region `{o.region}` ({o.region_basis}), PUE {o.pue:.2f}, "
        f"{fmt(o.intensity_gco2e_per_kwh, 1)} gCO2e/kWh; market-based view "
        f"{fmt(o.market_based_co2e_g)} g.",
        f"- Method: {o.method}.",
        "",
    ]
    return lines
