"""The footprint report: Markdown for the Vertex console, and a standalone HTML page."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from carbon_aware.decision import RegionDecision
from carbon_aware.footprint import Footprint


def _fmt(value: float, digits: int = 3) -> str:
    if value == 0:
        return "0"
    if abs(value) < 10 ** (-digits):
        return f"{value:.2e}"
    return f"{value:,.{digits}f}"


def _pct(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _sources(decision: RegionDecision) -> list[str]:
    return list(dict.fromkeys(item.source for item in decision.ranking))


def _savings_rows(footprint: Footprint, decision: RegionDecision) -> list[list[str]]:
    intensities = {item.region: item for item in decision.ranking}
    rows = []
    for region, grams in sorted(footprint.counterfactuals.items(), key=lambda kv: (kv[1], kv[0])):
        marks = []
        if region == footprint.region:
            marks.append("chosen")
        if region == footprint.baseline_region:
            marks.append("baseline")
        if region not in intensities:
            marks.append("not a candidate")
        item = intensities.get(region)
        kind = item.kind if item else decision.baseline_kind
        intensity = item.gco2e_per_kwh if item else footprint.baseline_intensity_gco2e_per_kwh
        vs_baseline = (
            100.0 * (1 - grams / footprint.baseline_co2e_g) if footprint.baseline_co2e_g else 0.0
        )
        rows.append(
            [region, ", ".join(marks), _fmt(intensity, 1), kind, _fmt(grams), f"{vs_baseline:.1f}"]
        )
    return rows


SAVINGS_HEADER = ["region", "", "gCO2e/kWh", "figure", "gCO2e for this run", "% vs baseline"]


def render_markdown(
    footprint: Footprint, decision: RegionDecision, evaluation: dict[str, Any]
) -> str:
    """Renders the report as Markdown (the Vertex console renders Markdown artifacts).

    Args:
        footprint: The run's footprint record.
        decision: choose-region's decision.
        evaluation: Test-set metrics (at least ``accuracy``).

    Returns:
        The Markdown text.
    """
    e = footprint.energy
    lines = [
        "# Carbon footprint of this training run",
        "",
        f"**Trained in `{footprint.region}`** at {_fmt(footprint.intensity_gco2e_per_kwh, 1)} "
        f"gCO2e/kWh instead of the baseline `{footprint.baseline_region}` at "
        f"{_fmt(footprint.baseline_intensity_gco2e_per_kwh, 1)} gCO2e/kWh: "
        f"**{_fmt(footprint.co2e_g)} gCO2e** vs {_fmt(footprint.baseline_co2e_g)} gCO2e, "
        f"a saving of **{_pct(footprint.savings_pct_vs_baseline)}%** "
        f"({_fmt(footprint.savings_g_vs_baseline)} g).",
        "",
    ]
    if footprint.fallback_regions:
        lines += [
            "> **Fallback data:** the provider could not serve "
            f"{', '.join(footprint.fallback_regions)}; those figures are fallbacks.",
            "",
        ]
    lines += [
        "## Decision",
        "",
        f"- Intensity provider: `{decision.provider}`, fetched {decision.fetched_at_utc}",
        f"- Figure used: {footprint.intensity_source}",
        "",
        "| rank | region | zone | gCO2e/kWh | figure | for | source |",
        "|---:|---|---|---:|---|---|---:|",
    ]
    sources = _sources(decision)
    for item in decision.ranking:
        kind = f"**{item.kind}**" if item.is_fallback else item.kind
        lines.append(
            f"| {item.rank} | {item.region} | {item.zone} | {_fmt(item.gco2e_per_kwh, 1)} "
            f"| {kind} | {item.datetime_utc} | [{sources.index(item.source) + 1}] |"
        )
    lines += [""] + [f"[{i + 1}] {source}" for i, source in enumerate(sources)]
    lines += [
        "",
        "## Energy",
        "",
        "| component | kWh |",
        "|---|---:|",
        f"| CPU | {_fmt(e.cpu_kwh, 6)} |",
        f"| GPU | {_fmt(e.gpu_kwh, 6)} |",
        f"| RAM | {_fmt(e.ram_kwh, 6)} |",
        f"| IT total | {_fmt(e.total_kwh, 6)} |",
        f"| facility total (x PUE {footprint.pue}) | {_fmt(footprint.facility_energy_kwh, 6)} |",
        "",
        f"Energy method: `{e.method}` ({e.method_detail}).",
        "",
        "## The same energy in every region",
        "",
        "| " + " | ".join(SAVINGS_HEADER) + " |",
        "|---|---|---:|---|---:|---:|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in _savings_rows(footprint, decision)]
    run = footprint.run
    lines += [
        "",
        "## Model",
        "",
        f"- Test accuracy: {evaluation.get('accuracy', float('nan')):.4f}",
        f"- Training window: {run.get('start_utc', '?')} to {run.get('end_utc', '?')} "
        f"({_fmt(float(run.get('duration_s', 0.0)), 1)} s)",
        "",
        "## Method and sources",
        "",
        "- Operational emissions = IT energy (kWh) x PUE x grid intensity (gCO2e/kWh).",
        f"- PUE {footprint.pue}: {footprint.pue_source}.",
        f"- Grid intensity: {footprint.intensity_source}.",
        f"- Energy: {e.method} — {e.method_detail}.",
        f"- Footprint record schema {footprint.schema_version}.",
        "",
    ]
    return "\n".join(lines)


def emissions_chart_png(footprint: Footprint) -> bytes:
    """Draws gCO2e per region for this run's energy, chosen and baseline marked, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = sorted(footprint.counterfactuals.items(), key=lambda kv: (kv[1], kv[0]))
    names = [name for name, _ in items]
    values = [value for _, value in items]
    colours = [
        "#1a7f37"
        if name == footprint.region
        else "#cf222e"
        if name == footprint.baseline_region
        else "#8c959f"
        for name in names
    ]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.5), dpi=100)
    ax.barh(names, values, color=colours)
    ax.invert_yaxis()
    ax.set_xlabel("gCO2e for this run's energy")
    ax.set_title("Emissions of this run by region (green: chosen, red: baseline)")
    for index, value in enumerate(values):
        ax.text(value, index, f" {_fmt(value)}", va="center", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def render_html(footprint: Footprint, decision: RegionDecision, markdown_text: str) -> str:
    """Renders a standalone HTML page: the headline, the chart (embedded) and the tables."""
    chart = base64.b64encode(emissions_chart_png(footprint)).decode("ascii")
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in _savings_rows(footprint, decision)
    )
    header = "".join(f"<th>{html.escape(cell)}</th>" for cell in SAVINGS_HEADER)
    ranking = "".join(
        f"<tr><td>{item.rank}</td><td>{html.escape(item.region)}</td>"
        f"<td>{html.escape(item.zone)}</td><td>{_fmt(item.gco2e_per_kwh, 1)}</td>"
        f"<td>{html.escape(item.kind)}</td><td>{html.escape(item.source)}</td></tr>"
        for item in decision.ranking
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Carbon footprint: {html.escape(footprint.region)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #1f2328; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; }}
.headline {{ font-size: 1.2rem; background: #dafbe1; padding: 1rem; border-radius: .5rem; }}
.fallback {{ background: #fff8c5; padding: .5rem 1rem; }}
</style></head><body>
<h1>Carbon footprint of this training run</h1>
<p class="headline" id="headline">Trained in <b>{html.escape(footprint.region)}</b>:
<b id="co2e-g">{_fmt(footprint.co2e_g)}</b> gCO2e vs {_fmt(footprint.baseline_co2e_g)} gCO2e in
{html.escape(footprint.baseline_region)} &mdash;
<b id="savings-pct">{_pct(footprint.savings_pct_vs_baseline)}</b>% less.</p>
{
        '<p class="fallback">Fallback figures for: '
        + html.escape(", ".join(footprint.fallback_regions))
        + "</p>"
        if footprint.fallback_regions
        else ""
    }
<h2>Emissions by region</h2>
<img id="emissions-chart" alt="gCO2e per region" src="data:image/png;base64,{chart}">
<table id="savings"><tr>{header}</tr>{rows}</table>
<h2>Decision</h2>
<table id="ranking"><tr><th>rank</th><th>region</th><th>zone</th><th>gCO2e/kWh</th>
<th>figure</th><th>source</th></tr>{ranking}</table>
<h2>Full report</h2>
<pre id="markdown">{html.escape(markdown_text)}</pre>
</body></html>
"""
