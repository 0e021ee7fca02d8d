import base64
import json
import re
from pathlib import Path

import pytest
from footprint.test_calculation import RUN_RECORD, hourly, make_decision

from carbon_aware.footprint.calculation import compute_footprint
from carbon_aware.history.bigquery import FootprintHistory
from carbon_aware.report import (
    emissions_chart_png,
    history_chart_png,
    markdown_to_html,
    render_html,
    render_markdown,
)
from carbon_aware.report._text import fmt

SCHEMA = Path(__file__).resolve().parents[1] / "carbon_aware" / "footprint" / "schema.json"
HISTORY = FootprintHistory(
    "my-proj.carbon.carbon_footprint",
    "2026-01-01",
    "2026-02-01",
    "my-proj",
    {
        "by_month": [
            {"month": "2026-01", "location_based_kgco2e": 12.5, "market_based_kgco2e": 3.25},
            {"month": "2026-02", "location_based_kgco2e": 10.0, "market_based_kgco2e": 2.0},
        ],
        "by_service": [
            {"service": "Vertex AI", "location_based_kgco2e": 20.0, "market_based_kgco2e": 4.0}
        ],
    },
)


def render_both(series=None, history=None):
    decision = make_decision()
    fp = compute_footprint(decision, RUN_RECORD, pue=1.1, intensity_series=series)
    md = render_markdown(fp, decision, {"accuracy": 0.95}, history=history)
    return fp, md, render_html(fp, decision, md, intensity_series=series, history=history)


def pngs(page):
    found = dict(re.findall(r'id="([a-z-]+)"[^>]*src="data:image/png;base64,([^"]+)"', page))
    return {key: base64.b64decode(value) for key, value in found.items()}


def test_markdown_states_decision_savings_sci_and_sources():
    fp, md, _ = render_both()
    assert "**Trained in `europe-north1`**" in md
    assert f"**{fp.savings_pct_vs_baseline:.1f}%**" in md
    assert "| 1 | europe-north1 | ZZ | 40.0 | latest | 2026-11-23T10:00:00Z | [1] |" in md
    assert "[1] unit-test" in md
    assert "| us-central1 | baseline, not a candidate | 1.10 | 400.0 |" in md
    assert "energy (kWh) x PUE x grid intensity" in md
    assert "| accuracy | 0.95 |" in md
    assert f"**{fmt(fp.sci.value)} gCO2e per training_run**" in md
    assert "value used for the decision" in md
    assert "1 - Google CFE" not in md and "residual-mix-estimate" in md
    assert "the customer's Scope 3" in md and "AIB European Residual Mixes 2023" in md
    assert f"| **total** (= SCI x R) | **{fmt(fp.total_co2e_g)}** |" in md
    assert f"| CPU | {fmt(0.3, 6)} |" in md


def test_html_stands_alone_with_charts_and_numbers_from_the_record():
    fp, _, page = render_both()
    images = pngs(page)
    assert images["emissions-chart"].startswith(b"\x89PNG")
    assert "intensity-chart" not in images and 'id="intensity-chart-note"' in page
    assert f'<b id="savings-pct">{fp.savings_pct_vs_baseline:.1f}</b>' in page
    assert f'<b id="co2e-g">{fmt(fp.co2e_g)}</b>' in page
    assert f'<b id="embodied-g">{fmt(fp.embodied_g)}</b>' in page
    assert f'<b id="sci">{fmt(fp.sci.value)}</b>' in page
    assert "http://" not in page and "https://" not in page
    assert "<table>" in page and "<pre" not in page


def test_html_has_the_intensity_chart_when_a_series_is_given():
    series = {
        "europe-north1": hourly("europe-north1", 8, [30.0, 40.0, 50.0, 45.0]),
        "us-central1": hourly("us-central1", 8, [380.0, 400.0, 420.0, 410.0]),
    }
    fp, md, page = render_both(series=series)
    assert fp.intensity_method == "time-weighted"
    assert pngs(page)["intensity-chart"].startswith(b"\x89PNG")
    assert "time-weighted history" in md


def test_history_section_and_chart_when_the_export_is_configured():
    _, md, page = render_both(history=HISTORY)
    assert "## Project history (Carbon Footprint export)" in md
    assert "| 2026-01 | 12.500 | 3.250 |" in md and "| Vertex AI | 20.000 | 4.000 |" in md
    assert pngs(page)["history-chart"].startswith(b"\x89PNG")
    assert history_chart_png(HISTORY.results["by_month"])[:4] == b"\x89PNG"


def test_chart_is_a_png():
    fp, _, _ = render_both()
    assert emissions_chart_png(fp)[:4] == b"\x89PNG"


def test_fallback_regions_are_called_out():
    decision = make_decision()
    fp = compute_footprint(decision, RUN_RECORD)
    fp = type(fp)(**{**fp.__dict__, "fallback_regions": ["europe-west1"]})
    md = render_markdown(fp, decision, {"accuracy": 1.0}, notes=["history unavailable: 503"])
    assert "**Fallback data:**" in md and "europe-west1" in md
    assert "> **Note:** history unavailable: 503" in md
    assert "Fallback figures for: europe-west1" in render_html(fp, decision, md)


def test_markdown_subset_converts_to_html():
    out = markdown_to_html("## A & B\n\n| x | n |\n|---|---:|\n| `a` | **1** |\n\n- item\n")
    assert "<h2>A &amp; B</h2>" in out
    assert "<td><code>a</code></td><td class=num><b>1</b></td>" in out
    assert "<ul><li>item</li></ul>" in out


def check(instance, schema, path="$"):
    """A structural JSON Schema check (jsonschema is not installed): the keywords the file uses."""
    types = schema.get("type")
    if types:
        allowed = types if isinstance(types, list) else [types]
        py = {
            "object": dict,
            "array": list,
            "string": str,
            "integer": int,
            "number": (int, float),
            "null": type(None),
            "boolean": bool,
        }
        ok = any(
            isinstance(instance, py[t]) and not (t in ("integer", "number") and instance is True)
            for t in allowed
        )
        assert ok, f"{path}: {instance!r} is not {allowed}"
    if "enum" in schema:
        assert instance in schema["enum"], f"{path}: {instance!r} not in {schema['enum']}"
    if "pattern" in schema:
        assert re.search(schema["pattern"], instance), (
            f"{path}: {instance!r} !~ {schema['pattern']}"
        )
    if isinstance(instance, (int, float)) and not isinstance(instance, bool):
        assert instance >= schema.get("minimum", float("-inf")), path
        assert instance <= schema.get("maximum", float("inf")), path
    if isinstance(instance, dict):
        for key in schema.get("required", []):
            assert key in instance, f"{path}: missing {key}"
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, value in instance.items():
            if key in props:
                check(value, props[key], f"{path}.{key}")
            elif extra is False:
                raise AssertionError(f"{path}: unexpected key {key}")
            elif isinstance(extra, dict):
                check(value, extra, f"{path}.{key}")
    if isinstance(instance, list) and "minItems" in schema:
        assert schema["minItems"] <= len(instance) <= schema.get("maxItems", len(instance)), path
    if isinstance(instance, dict) and "propertyNames" in schema:
        for key in instance:
            check(key, schema["propertyNames"], f"{path}.{key}")
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            check(item, schema["items"], f"{path}[{index}]")


@pytest.mark.parametrize("unit", ["training_run", "1k_training_examples", "1k_predictions"])
def test_footprint_json_validates_against_its_schema(unit):
    schema = json.loads(SCHEMA.read_text())
    series = {"europe-north1": hourly("europe-north1", 10, [35.0])}
    fp = compute_footprint(
        make_decision(), RUN_RECORD, functional_unit=unit, intensity_series=series
    )
    check(json.loads(fp.to_json()), schema)
    broken = json.loads(fp.to_json())
    del broken["sci"]["unit"]
    with pytest.raises(AssertionError, match="missing unit"):
        check(broken, schema)


def test_timed_orchestration_and_the_exports_market_view_validate_too():
    from carbon_aware.footprint.orchestration import StepTimings

    schema = json.loads(SCHEMA.read_text())
    timings = StepTimings({"fetch-intensity": 20.0, "evaluate": 9.0}, "t", "europe-west4")
    failed = StepTimings({}, "task details unreadable: PermissionDenied", "europe-west4", False)
    for kwargs in (
        {"step_timings": timings, "market_ratios": {"europe-north1": 0.1, "us-central1": 0.9}},
        {"step_timings": failed},
    ):
        record = json.loads(compute_footprint(make_decision(), RUN_RECORD, **kwargs).to_json())
        check(record, schema)
    assert record["orchestration"]["status"] == "not-measured"
    assert record["orchestration"]["co2e_g"] is None


def test_constraints_and_left_out_regions_are_reported():
    from test_decision import make_snapshot

    from carbon_aware.decision import choose_region
    from carbon_aware.planning.constraints import Constraints

    snap = make_snapshot({"europe-west1": 100.0, "us-west1": 50.0, "us-central1": 400.0})
    decision = choose_region(
        snap, ["europe-west1", "us-west1"], "us-central1", Constraints(residency="eu")
    )
    md = render_markdown(compute_footprint(decision, RUN_RECORD), decision, {"accuracy": 0.9})
    assert "Constraints: residency=eu." in md
    assert "| us-west1 | residency | residency group 'us', required 'eu' |" in md


def test_levers_section_shows_measured_data_efficiency_and_precision():
    from carbon_aware.report.levers import lever_lines

    run = {
        "energy_kwh": 0.002,
        "duration_s": 4.0,
        "data_efficiency": {
            "applied": ["dedupe exact: removed 966 rows"],
            "before": {"rows": 1449, "columns": 82, "csv_bytes": 1778688, "memory_bytes": 973516},
            "after": {"rows": 483, "columns": 82, "csv_bytes": 593510, "memory_bytes": 328397},
        },
    }
    evaluation = {
        "precision_variants": [
            {"precision": "float32", "format": "tflite", "size_bytes": 8300, "size_ratio": 1.0,
             "accuracy": 0.953, "inference_us_per_example": 0.17},
            {"precision": "int8", "format": "tflite", "size_bytes": 5688, "size_ratio": 0.685,
             "accuracy": 0.953, "inference_us_per_example": 0.2},
        ]
    }  # fmt: skip
    text = "\n".join(lever_lines(run, evaluation, ["train"]))
    assert "| before | 1449 | 82 | 1,737.0 | 950.7 |" in text
    assert "| after | 483 | 82 |" in text
    assert "| int8 | tflite | 5688 | 0.685 | 0.9530 |" in text
    assert "Reused from the KFP cache this run: train" in text


def test_reused_steps_are_those_stamped_before_this_runs_fetch():
    from carbon_aware.report.levers import reused_steps

    run = {"end_utc": "2026-11-20T10:00:00.000Z"}
    evaluation = {"evaluated_at_utc": "2026-11-23T10:05:00.000000Z"}
    assert reused_steps(run, evaluation, "2026-11-23T10:00:00Z") == ["train"]
    assert reused_steps({}, {}, "2026-11-23T10:00:00Z") == []


def test_report_shows_terms_ranges_and_what_being_carbon_aware_cost():
    fp, md, page = render_both()
    u = fp.uncertainty
    assert "## Energy by term" in md and "| CPU | 0.300000 | estimated |" in md
    assert "## Ranges" in md and "## What being carbon-aware cost" in md
    low, high = u["savings_pct_vs_baseline"]
    assert f"Saving range {low:.1f} to {high:.1f}%: it holds across the ranges" in md
    assert "**Not measured**: no step timings" in md
    assert "| operational, location-based: orchestration steps | not measured |" in md
    assert (
        fp.net_savings_g_vs_baseline is None
        and "net saving after orchestration (gCO2e) | not measured" in md
    )
    assert '<span id="saving-holds">holds</span>' in page
    assert '<b id="orchestration-g">not measured</b>' in page
    assert f'<b id="total-co2e-g">{fmt(fp.total_co2e_g)}</b>' in page
    assert "What a range means: every [low, high] holds whenever" in md
