"""kfp.local with the csv provider and a plan: report-footprint shows planned against actual."""

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from carbon_aware.delivery.local_run import run_local
from carbon_aware.report.markdown import PLAN_HEADING
from carbon_aware.timeseries import to_long


@pytest.mark.slow
def test_planned_against_actual_from_a_local_csv_run(compiled_template, tmp_path):
    # A constant series around now, so the run window's time-weighted intensity is known: 123.
    now = pd.Timestamp(datetime.now(UTC)).floor("h")
    index = pd.date_range(now - pd.Timedelta(days=2), periods=4 * 24, freq="h", name="datetime")
    frame = pd.DataFrame({"europe-west1": np.full(len(index), 123.0)}, index=index)
    frame["us-central1"] = 400.0
    csv = tmp_path / "intensity.csv"
    to_long(frame).to_csv(csv, index=False)
    planned = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    result = run_local(
        compiled_template,
        tmp_path / "run",
        {
            "candidate_regions": "europe-west1",
            "baseline_region": "us-central1",
            "intensity_provider": "csv",
            "intensity_csv": str(csv),
            "planned_start_utc": planned,
            "planned_carbon_intensity": "100.0",
            "epochs": "1",
            "min_quality": "0.5",
        },
    )
    plan = result.footprint["plan"]
    assert plan["planned_start_utc"] == planned and plan["planned_gco2e_per_kwh"] == 100.0
    assert plan["actual_start_utc"] == result.footprint["run"]["start_utc"]
    assert 0 <= plan["start_delay_vs_plan_hours"] < 2
    assert plan["actual_gco2e_per_kwh"] == pytest.approx(123.0)
    assert plan["intensity_vs_plan_pct"] == pytest.approx(23.0)
    report = result.report_md.read_text()
    assert PLAN_HEADING in report and f"| planned | {planned} | 100.0 |" in report
    assert json.loads(result.footprint_json.read_text())["plan"] == plan
