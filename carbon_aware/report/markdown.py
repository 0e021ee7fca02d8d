"""The report as Markdown (the Vertex console renders Markdown artifacts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from carbon_aware.decision import RegionDecision
from carbon_aware.footprint.calculation import Footprint
from carbon_aware.history.bigquery import FootprintHistory
from carbon_aware.report._text import fmt, md, md_code, pct, sig
from carbon_aware.report.bounds import (
    emission_rows,
    headline,
    orchestration_lines,
    term_lines,
    uncertainty_lines,
)
from carbon_aware.report.levers import lever_lines, reused_steps

SAVINGS_HEADER = [
    "region",
    "",
    "PUE",
    "gCO2e/kWh",
    "figure",
    "gCO2e for this run",
    "% vs baseline",
    "market-based gCO2e",
]
INTENSITY_HEADING = "## Grid intensity during the run"
SAVINGS_HEADING = "## The same energy in every region"
HISTORY_HEADING = "## Project history (Carbon Footprint export)"
PLAN_HEADING = "## Planned against actual"


def _sources(decision: RegionDecision) -> list[str]:
    return list(dict.fromkeys(item.source for item in decision.ranking))


def savings_rows(footprint: Footprint, decision: RegionDecision) -> list[list[str]]:
    """One row per region: marks, PUE, intensity, figure, gCO2e, % vs baseline, market-based."""
    candidates = {item.region: item for item in decision.ranking}
    rows = []
    ordered = sorted(footprint.regions.values(), key=lambda r: (r.co2e_g, r.region))
    for item in ordered:
        marks = []
        if item.region == footprint.region:
            marks.append("chosen")
        if item.region == footprint.baseline_region:
            marks.append("baseline")
        if item.region not in candidates:
            marks.append("not a candidate")
        ranked = candidates.get(item.region)
        kind = ranked.kind if ranked else decision.baseline_kind
        if item.intensity_method == "time-weighted":
            kind = "time-weighted history"
        vs_baseline = (
            100.0 * (1 - item.co2e_g / footprint.baseline_co2e_g)
            if footprint.baseline_co2e_g
            else 0.0
        )
        rows.append(
            [
                item.region,
                ", ".join(marks),
                f"{item.pue:.2f}",
                fmt(item.intensity_gco2e_per_kwh, 1),
                kind,
                fmt(item.co2e_g),
                pct(vs_baseline),
                fmt(item.market_based_co2e_g),
            ]
        )
    return rows


def _table(header: Sequence[str], align: str, rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        align,
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def history_lines(history: FootprintHistory | None) -> list[str]:
    """The Markdown section on the project's recent Carbon Footprint export, if configured."""
    if history is None:
        return []
    scope = f"project `{history.project_id}`" if history.project_id else "every project"
    lines = [
        HISTORY_HEADING,
        "",
        f"From `{history.table}`, {history.start_month[:7]} to {history.end_month[:7]}, {scope}; "
        "kgCO2e as Google reports it (scopes 1, 2 and 3).",
        "",
    ]
    months = [
        [str(r["month"]), fmt(r["location_based_kgco2e"]), fmt(r["market_based_kgco2e"])]
        for r in history.results.get("by_month", [])
    ]
    lines += _table(
        ["month", "location-based kgCO2e", "market-based kgCO2e"], "|---|---:|---:|", months
    )
    services = [
        [str(r["service"]), fmt(r["location_based_kgco2e"]), fmt(r["market_based_kgco2e"])]
        for r in history.results.get("by_service", [])[:5]
    ]
    if services:
        lines += ["", "Top services:", ""]
        lines += _table(
            ["service", "location-based kgCO2e", "market-based kgCO2e"], "|---|---:|---:|", services
        )
    return [*lines, ""]


def constraint_lines(decision: RegionDecision) -> list[str]:
    """The constraints applied and every candidate they left out, with the reason."""
    if not decision.constraints and not decision.exclusions:
        return []
    applied = ", ".join(f"{md(key)}={md(value)}" for key, value in decision.constraints.items())
    lines = ["", f"Constraints: {applied or 'none'}."]
    if decision.exclusions:
        lines += ["", "| left out | constraint | reason |", "|---|---|---|"]
        lines += [
            f"| {md(item['region'])} | {md(item['constraint'])} | {md(item['reason'])} |"
            for item in decision.exclusions
        ]
    lines += [f"- {md(note, 1000)}" for note in decision.notes]
    return lines


def training_lines(run: dict[str, Any], evaluation: dict[str, Any]) -> list[str]:
    """The training program, its replicas, where its data came from, and its metrics."""
    training = run.get("training") or {}
    replicas = run.get("replicas") or {}
    data = run.get("data") or {}
    gate = evaluation.get("quality_gate") or {}
    lines = ["## Training", ""]
    if training:
        image = f" in {md_code(training['image'])}" if training.get("image") else ""
        command = md_code(" ".join(str(part) for part in training.get("command", [])))
        lines += [
            f"- Program: {command}{image}",
            f"- Backend: {md_code(run.get('backend', '?'))}; outputs in "
            f"{md_code(training.get('output_dir'))}",
        ]
        if training.get("image_tag_mutable"):
            lines.append(
                "- The image tag is mutable (`:latest`, as Google publishes its prebuilt "
                "training containers): a later run of the same tag may get a different image"
            )
    if replicas:
        lines.append(
            f"- Replicas: {replicas.get('count')} ({replicas.get('measured')} measured, "
            f"{replicas.get('estimated')} estimated from the machine spec x duration)"
        )
    lines.append(
        f"- Training window: {md(run.get('start_utc', '?'))} to {md(run.get('end_utc', '?'))} "
        f"({fmt(float(run.get('duration_s', 0.0)), 1)} s)"
    )
    if data:
        lines.append(
            f"- Training data: {md_code(data.get('uri'))} "
            f"(location {md_code(data.get('location'))})"
        )
        if data.get("outside_chosen_region"):
            lines.append(
                f"> **Data read from another region:** {md_code(data.get('location'))} is not "
                f"{md_code(data.get('chosen_region'))}; the read crossed regions (egress, "
                "residency)."
            )
    if gate:
        verdict = "passed" if gate.get("passed") else "failed"
        lines.append(
            f"- Quality gate: {md_code(gate.get('metric'))} = "
            f"{fmt(float(gate.get('value', 0.0)), 4)}, floor {md(gate.get('min_quality'))}: "
            f"{verdict}"
        )
    metrics = evaluation.get("metrics") or {
        key: evaluation[key]
        for key in ("accuracy", "auc", "log_loss")
        if isinstance(evaluation.get(key), int | float)
    }
    if metrics:
        lines += ["", "| metric | value |", "|---|---:|"]
        lines += [
            f"| {md(name)} | {sig(float(value), 4)} |" for name, value in sorted(metrics.items())
        ]
    return [*lines, ""]


def plan_lines(plan: dict[str, Any] | None) -> list[str]:
    """The planned-against-actual section (nothing when the run had no plan)."""
    if plan is None:
        return []
    late = plan["start_delay_vs_plan_hours"]
    actual = plan["actual_gco2e_per_kwh"]
    return [
        PLAN_HEADING,
        "",
        "| | start (UTC) | gCO2e/kWh |",
        "|---|---|---:|",
        f"| planned | {plan['planned_start_utc']} | {fmt(plan['planned_gco2e_per_kwh'], 1)} |",
        f"| actual | {plan['actual_start_utc'] or 'n/a'} | {fmt(actual, 1)} |",
        "",
        f"- Started {'n/a' if late is None else fmt(late, 2)} h after the planned start; "
        f"intensity {pct(plan['intensity_vs_plan_pct'])}% against the plan's expectation",
        f"- Actual intensity: {plan['actual_method']}",
        "",
    ]


def render_markdown(
    footprint: Footprint,
    decision: RegionDecision,
    evaluation: dict[str, Any],
    *,
    history: FootprintHistory | None = None,
    notes: Sequence[str] = (),
) -> str:
    """Renders the report as Markdown.

    Args:
        footprint: The run's footprint record.
        decision: choose-region's decision.
        evaluation: Test-set metrics (at least ``accuracy``).
        history: The project's Carbon Footprint export summary, when configured.
        notes: Things the report could not include, and why.

    Returns:
        The Markdown text.
    """
    e, sci, emb, market = (
        footprint.energy,
        footprint.sci,
        footprint.embodied,
        footprint.market_based,
    )
    lines = [
        "# Carbon footprint of this training run",
        "",
        f"**Trained in `{footprint.region}`** at {fmt(footprint.intensity_gco2e_per_kwh, 1)} "
        f"gCO2e/kWh instead of the baseline `{footprint.baseline_region}` at "
        f"{fmt(footprint.baseline_intensity_gco2e_per_kwh, 1)} gCO2e/kWh: "
        f"**{fmt(footprint.co2e_g)} gCO2e** vs {fmt(footprint.baseline_co2e_g)} gCO2e, "
        f"a saving of **{pct(footprint.savings_pct_vs_baseline)}%** "
        f"({fmt(footprint.savings_g_vs_baseline)} g). "
        f"SCI: **{fmt(sci.value)} {sci.unit}**.",
        "",
        headline(footprint),
        "",
    ]
    if footprint.fallback_regions:
        lines += [
            "> **Fallback data:** the provider could not serve "
            f"{', '.join(footprint.fallback_regions)}; those figures are fallbacks.",
            "",
        ]
    lines += [f"> **Note:** {note}" for note in notes] + ([""] if notes else [])
    lines += [
        "## Decision",
        "",
        f"- Intensity provider: `{decision.provider}`, fetched {decision.fetched_at_utc}",
        f"- Figure used for the footprint: {footprint.intensity_source}",
        "",
        "| rank | region | zone | gCO2e/kWh | figure | for | source |",
        "|---:|---|---|---:|---|---|---:|",
    ]
    sources = _sources(decision)
    for item in decision.ranking:
        kind = f"**{item.kind}**" if item.is_fallback else item.kind
        lines.append(
            f"| {item.rank} | {item.region} | {item.zone} | {fmt(item.gco2e_per_kwh, 1)} "
            f"| {kind} | {item.datetime_utc} | [{sources.index(item.source) + 1}] |"
        )
    lines += [""] + [f"[{i + 1}] {source}" for i, source in enumerate(sources)]
    lines += constraint_lines(decision)
    window = footprint.intensity_window
    lines += [
        "",
        INTENSITY_HEADING,
        "",
        f"- Run window: {window.get('start_utc', '?')} to {window.get('end_utc', '?')}",
        f"- Method: `{footprint.intensity_method}`; {footprint.intensity_source}",
        f"- Chosen region: {fmt(footprint.intensity_gco2e_per_kwh, 1)} gCO2e/kWh; baseline: "
        f"{fmt(footprint.baseline_intensity_gco2e_per_kwh, 1)} gCO2e/kWh",
        "",
        *plan_lines(footprint.plan),
        *term_lines(footprint),
        f"Facility total (x PUE {footprint.pue:.2f}): {fmt(footprint.facility_energy_kwh, 6)} "
        f"kWh. Measurement: `{e.method}` ({e.method_detail}).",
        "",
        "## Emissions",
        "",
        *emission_rows(footprint),
        "",
        *orchestration_lines(footprint),
        *uncertainty_lines(footprint),
        SAVINGS_HEADING,
        "",
        "Every region gets this run's IT energy, its own PUE and its own grid intensity.",
        "",
        *_table(
            SAVINGS_HEADER,
            "|---|---|---:|---:|---|---:|---:|---:|",
            savings_rows(footprint, decision),
        ),
        "",
        f"Market-based view ({market['scope']}): {fmt(market['co2e_g'])} gCO2e vs "
        f"{fmt(market['baseline_co2e_g'])} gCO2e in the baseline, "
        f"{pct(market['savings_pct_vs_baseline'])}% less. Chosen: {market['source']}. "
        f"Baseline: {market['baseline_source']}.",
        "",
        "## Software Carbon Intensity (SCI)",
        "",
        f"SCI = (E x I + M) / R = ({fmt(sci.operational_g)} gCO2e + {fmt(sci.embodied_g)} "
        f"gCO2e) / {fmt(sci.functional_unit_count)} = **{fmt(sci.value)} {sci.unit}**",
        "",
        f"- Functional unit R: `{sci.functional_unit}`, {sci.functional_unit_basis}.",
        f"- E = {fmt(sci.energy_kwh, 6)} kWh (the run's facility energy plus the measured "
        f"orchestration steps'), I = {fmt(sci.intensity_gco2e_per_kwh, 3)} gCO2e/kWh (their "
        "energy-weighted intensity), M = the run's and the orchestration machines' embodied "
        f"share. E x I + M = {fmt(footprint.total_co2e_g)} gCO2e, the total.",
        "",
    ]
    lines += history_lines(history)
    run = footprint.run
    reused = reused_steps(run, evaluation, decision.fetched_at_utc)
    lines += lever_lines({**run, "energy_kwh": e.total_kwh}, evaluation, reused)
    lines += training_lines(run, evaluation)
    lines += [
        "## Method and sources",
        "",
        "- Operational emissions = IT energy (kWh) x PUE x grid intensity (gCO2e/kWh).",
        f"- PUE {footprint.pue:.2f} ({footprint.pue_kind}): {footprint.pue_source}.",
        f"- Grid intensity: {footprint.intensity_source}.",
        f"- Market-based view: {market['method']}",
        f"- Embodied emissions ({emb.method}): {fmt(emb.host_kgco2e, 2)} kgCO2e host x "
        f"({fmt(emb.duration_s, 1)} s / {emb.lifetime_years:g} years) x ({emb.vcpus} / "
        f"{emb.host_vcpus} vCPUs) + {emb.gpu_count} accelerator(s) x their figure x time share. "
        f"{emb.source}.{' ' + emb.note + '.' if emb.note else ''}",
        f"- SCI: {sci.method}.",
        f"- Energy: {e.method} — {e.method_detail}.",
        f"- Footprint record schema {footprint.schema_version}; units: energy kWh, intensity "
        "gCO2e/kWh, emissions gCO2e (history kgCO2e).",
        "",
    ]
    return "\n".join(lines)
