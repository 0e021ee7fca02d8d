"""The report of a run that deferred itself, and the "when" section of one that started now.

A deferred run trains nothing; its report says when and where the scheduled run is expected to
run, the expected saving and its range, the schedule's resource name, and what deferring cost:
the pipeline's steps so far, priced as every run's orchestration is
(:mod:`carbon_aware.footprint.orchestration`).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from typing import Any

from carbon_aware.decision import RegionDecision
from carbon_aware.footprint.orchestration import StepTimings
from carbon_aware.planning.deferral import StartDecision
from carbon_aware.report._text import fmt
from carbon_aware.report.html import markdown_to_html

DEFERRAL_HEADING = "# Deferred to the planned start"
WHEN_HEADING = "## When: waiting was planned"
DEFERRAL_SCHEMA_VERSION = 1


def _range(decision: StartDecision) -> tuple[float, float]:
    """The wait gain's range: gain +/- the back-tested error of the forecast's expected saving."""
    gain, error = decision.wait_gain_pct, decision.wait_gain_error_pct
    return round(gain - error, 3), round(gain + error, 3)


def start_section(plan_json: str) -> str:
    """Markdown for a run that started now although it could wait; empty when it did not plan."""
    if not plan_json:
        return ""
    decision = StartDecision.from_json(plan_json)
    plan = decision.plan
    if plan is None:
        return ""
    best = plan.ranking[0] if plan.ranking else None
    lines = ["", WHEN_HEADING, ""]
    lines.append(
        f"Planned at {plan.planned_at_utc} for a start within {plan.max_delay_hours:g} h of a "
        f"{plan.duration_hours:g} h run: **started now** in {plan.region} ({decision.reason})."
    )
    if best is not None and best.delay_hours > 0:
        low, high = _range(decision)
        lines.append(
            f"Waiting {best.delay_hours:g} h for {best.region} (start {best.start_utc}) would "
            f"have gained {decision.wait_gain_pct:.1f}% (range {low:.1f}% to {high:.1f}%), "
            "less than the gain worth waiting for."
        )
    else:
        lines.append("Waiting would have gained nothing: now is the cleanest start in the window.")
    return "\n".join(lines) + "\n"


def deferral_footprint(
    record: dict[str, Any], chosen: RegionDecision, timings: StepTimings | None, pue: float
) -> dict[str, Any]:
    """The deferral's record with its own footprint: the pipeline steps it took (JSON-ready)."""
    from carbon_aware.footprint.calculation import _orchestration

    decided = {item.region: item.gco2e_per_kwh for item in chosen.ranking}
    decided[chosen.baseline_region] = chosen.baseline_gco2e_per_kwh
    # No market-based factors and no run window: the deferral's steps, location-based.
    cost, _ = _orchestration(timings, 0.0, decided, chosen, pue, {}, None)
    decision = StartDecision.from_json(json.dumps(record["decision"]))
    low, high = _range(decision)
    return {
        **record,
        "schema_version": DEFERRAL_SCHEMA_VERSION,
        "expected_wait_gain_pct": decision.wait_gain_pct,
        "expected_wait_gain_range_pct": [low, high],
        "orchestration": asdict(cost),
    }


def deferral_markdown(footprint: dict[str, Any]) -> str:
    """The short report of a deferred run (Markdown, shown in the Vertex console)."""
    decision = StartDecision.from_json(json.dumps(footprint["decision"]))
    plan = decision.plan
    assert plan is not None  # a deferral always has a plan
    low, high = footprint["expected_wait_gain_range_pct"]
    cost = footprint["orchestration"]
    name = footprint["schedule_name"] or "(not created: a local run prints the request)"
    own_cost = (
        f"{fmt(cost['co2e_g'], 3)} gCO2e ({fmt(cost['low_co2e_g'], 3)} to "
        f"{fmt(cost['high_co2e_g'], 3)}): {len(cost['steps'])} pipeline steps in {cost['region']}"
        if cost["status"] == "timed"
        else f"not measured ({cost['source']})"
    )
    lines = [
        DEFERRAL_HEADING,
        "",
        f"This run trained nothing: it deferred itself to **{plan.start_utc}**, "
        f"{plan.delay_hours:g} h after it was planned ({plan.planned_at_utc}).",
        "",
        "| | |",
        "|---|---|",
        f"| Scheduled start | {plan.start_utc} (UTC) |",
        f"| Expected region | {plan.region} (chosen again from fresh data at the start) |",
        f"| Expected intensity | {fmt(plan.expected_gco2e_per_kwh, 1)} gCO2e/kWh |",
        f"| Starting now instead | {fmt(plan.run_now_gco2e_per_kwh, 1)} gCO2e/kWh in "
        f"{plan.baseline_region} (baseline) |",
        f"| Expected saving vs baseline now | {plan.expected_saving_pct:.1f}% |",
        f"| Expected gain of waiting | {decision.wait_gain_pct:.1f}% "
        f"(range {low:.1f}% to {high:.1f}%) |",
        f"| Schedule | `{name}` |",
        f"| Deferral's own footprint | {own_cost} |",
        "",
        f"Why: {decision.reason}. Forecast: "
        + "; ".join(f"{k}: {v}" for k, v in plan.forecast_methods.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


def deferral_html(markdown_text: str) -> str:
    """The same report as a standalone HTML page."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape('carbon-aware: deferred run')}</title></head>\n<body>\n"
        f"{markdown_to_html(markdown_text)}\n</body></html>\n"
    )


def write_deferral_report(
    record: dict[str, Any],
    chosen: RegionDecision,
    timings: StepTimings | None,
    pue: float,
    paths: tuple[str, str, str],
) -> dict[str, Any]:
    """Writes the deferral's Markdown, HTML and JSON to ``paths``; returns the JSON's content."""
    summary = deferral_footprint(record, chosen, timings, pue)
    text = deferral_markdown(summary)
    contents = (text, deferral_html(text), json.dumps(summary, indent=2, sort_keys=True))
    for path, content in zip(paths, contents, strict=True):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content)
    return summary
