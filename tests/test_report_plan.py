"""report-footprint's planned-against-actual section: from the plan parameters and the history."""

import json

from footprint.test_calculation import RUN_RECORD, hourly, make_decision
from test_report import SCHEMA, check

from carbon_aware.footprint.calculation import compute_footprint
from carbon_aware.report import render_markdown
from carbon_aware.report.markdown import PLAN_HEADING


def footprint(series=None, planned_start="2026-11-23T09:00:00Z", planned=50.0):
    return compute_footprint(
        make_decision(),
        RUN_RECORD,
        pue=1.1,
        intensity_series=series,
        planned_start_utc=planned_start,
        planned_gco2e_per_kwh=planned,
    )


def test_planned_start_and_intensity_against_the_run_window():
    # The run went from 10:00 to 10:30; history says 30 then 90 gCO2e/kWh in those hours.
    series = {"europe-north1": hourly("europe-north1", 10, [30.0, 90.0])}
    fp = footprint(series)
    assert fp.plan == {
        "planned_start_utc": "2026-11-23T09:00:00Z",
        "planned_gco2e_per_kwh": 50.0,
        "actual_start_utc": "2026-11-23T10:00:00Z",
        "start_delay_vs_plan_hours": 1.0,
        "actual_gco2e_per_kwh": 30.0,
        "actual_method": "time-weighted over the run window from the provider's history",
        "intensity_vs_plan_pct": -40.0,
    }
    md = render_markdown(fp, make_decision(), {"accuracy": 0.95})
    section = md.split(PLAN_HEADING, 1)[1].split("\n## ", 1)[0]
    assert "| planned | 2026-11-23T09:00:00Z | 50.0 |" in section
    assert "| actual | 2026-11-23T10:00:00Z | 30.0 |" in section
    assert "Started 1.00 h after the planned start; intensity -40.0%" in section
    check(json.loads(fp.to_json()), json.loads(SCHEMA.read_text()))


def test_without_history_the_actual_intensity_is_not_made_up():
    fp = footprint()
    assert fp.plan is not None and fp.plan["actual_gco2e_per_kwh"] is None
    assert fp.plan["actual_method"] == "no test history covers the run window"
    md = render_markdown(fp, make_decision(), {"accuracy": 0.95})
    assert "| actual | 2026-11-23T10:00:00Z | n/a |" in md


def test_a_run_without_a_plan_has_no_section():
    fp = footprint(planned_start="", planned=0.0)
    assert fp.plan is None
    assert PLAN_HEADING not in render_markdown(fp, make_decision(), {"accuracy": 0.95})
    check(json.loads(fp.to_json()), json.loads(SCHEMA.read_text()))
