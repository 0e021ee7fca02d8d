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


def orchestration_text(footprint: Footprint) -> str:
    """The orchestration steps' gCO2e (operational + embodied), or "not measured"."""
    o = footprint.orchestration
    if not o.measured:
        return "not measured"
    return f"{fmt((o.co2e_g or 0.0) + (o.embodied_g or 0.0))} gCO2e"


def headline(footprint: Footprint) -> str:
    """The sentence under the headline: the saving's range and the orchestration cost."""
    u, o = footprint.uncertainty, footprint.orchestration
    saving = (
        f"Saving range {pct_span(u['savings_pct_vs_baseline'])}%: it "
        f"{holds_text(u['saving_holds'])}."
    )
    if not o.measured:
        return f"{saving} The pipeline's own steps: **not measured** ({o.source})."
    return (
        f"{saving} The pipeline's own steps cost {orchestration_text(footprint)} "
        f"against a saving of {fmt(footprint.savings_g_vs_baseline)} g: net "
        f"**{fmt(footprint.net_savings_g_vs_baseline)} g** (range "
        f"{span(u['net_savings_g_vs_baseline'])} g)."
    )


def emission_rows(footprint: Footprint) -> list[str]:
    """The emissions table: each part of the one total, and the market-based view apart."""
    o, market = footprint.orchestration, footprint.market_based
    measured = o.measured
    return [
        "| component | gCO2e |",
        "|---|---:|",
        f"| operational, location-based: the run (incl. data movement) | {fmt(footprint.co2e_g)} |",
        "| operational, location-based: orchestration steps | "
        f"{fmt(o.co2e_g) if measured else 'not measured'} |",
        f"| embodied: the run's hardware share | {fmt(footprint.embodied_g)} |",
        "| embodied: the orchestration machines' share | "
        f"{fmt(o.embodied_g) if measured else 'not measured'} |",
        f"| **total** (= SCI x R) | **{fmt(footprint.total_co2e_g)}** |",
        f"| market-based view of the run, {market['kind']} (the customer's Scope 3) | "
        f"{fmt(market['co2e_g'])} |",
        "",
        f"Total: {footprint.total_definition}.",
    ]


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
        f"| total (gCO2e) | {fmt(footprint.total_co2e_g)} | {span(u['total_co2e_g'])} |",
        *net_rows(footprint),
        f"| SCI ({footprint.sci.unit}) | {fmt(footprint.sci.value)} | {span(u['sci'])} |",
        "",
        f"- What a range means: {u['meaning']}.",
        f"- The location-based saving {holds_text(u['saving_holds'])}; net of orchestration "
        + (
            f"it {holds_text(u['net_saving_holds'])}."
            if u["net_saving_holds"] is not None
            else "not known (orchestration not measured)."
        ),
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


def net_rows(footprint: Footprint) -> list[str]:
    """The net-saving row of the ranges table."""
    net = footprint.uncertainty["net_savings_g_vs_baseline"]
    if net is None:
        return ["| net saving after orchestration (gCO2e) | not measured | |"]
    return [
        f"| net saving after orchestration (gCO2e) | "
        f"{fmt(footprint.net_savings_g_vs_baseline)} | {span(net)} |"
    ]


def orchestration_lines(footprint: Footprint) -> list[str]:
    """The pipeline's other steps, their run times, shapes and emissions, beside the saving."""
    o = footprint.orchestration
    if not o.measured:
        return [ORCHESTRATION_HEADING, "", f"**Not measured**: {o.source}.", ""]
    lines = [
        ORCHESTRATION_HEADING,
        "",
        f"The pipeline's other steps: **{fmt(o.co2e_g)} gCO2e** operational "
        f"({fmt(o.energy_kwh, 6)} kWh, range {fmt(o.low_co2e_g)} to {fmt(o.high_co2e_g)} g) "
        f"+ {fmt(o.embodied_g)} g "
        f"embodied, against a saving of {fmt(footprint.savings_g_vs_baseline)} g vs the baseline: "
        f"net **{fmt(footprint.net_savings_g_vs_baseline)} g**. All steps are counted, an upper "
        "bound on what carbon-awareness added.",
        "",
    ]
    lines += [
        "| step | run time (s) | machine | kWh | embodied g |",
        "|---|---:|---|---:|---:|",
        *(
            f"| {s.step} | {fmt(s.duration_s, 1)} | {s.shape_source} | {fmt(s.energy_kwh, 6)} "
            f"| {fmt(s.embodied_g)} |"
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
