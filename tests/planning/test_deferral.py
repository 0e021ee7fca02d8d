"""plan-start's decision: the same planner and min-gain rule as submit --start-within."""

import dataclasses
import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from carbon_aware.planning.deferral import (
    START_LATER,
    START_NOW,
    StartDecision,
    check_start_window,
    decide_start,
    decision_from_plan,
    deferral_record,
    planning_time,
    read_deferral,
)
from carbon_aware.planning.planner import plan_job
from carbon_aware.report.deferral import WHEN_HEADING, start_section
from carbon_aware.run_defaults import run_defaults
from carbon_aware.timeseries import to_long

START = pd.Timestamp("2024-01-01T00:00Z")


def frame(clean_at: int, clean_value: float = 150.0) -> pd.DataFrame:
    index = pd.date_range(START, periods=48, freq="h", name="datetime")
    data = pd.DataFrame({"europe-west1": 300.0, "us-central1": 400.0}, index=index)
    data.loc[index[clean_at], "europe-west1"] = clean_value
    return data


@pytest.mark.parametrize(
    ("within", "duration", "message"),
    [
        (-1.0, 1.0, "start_within_hours -1.0 must be 0 (start now) or more"),
        (float("nan"), 1.0, "start_within_hours nan must be 0"),
        (169.0, 1.0, "start_within_hours 169 must be at most 168 hours"),
        (12.0, 0.0, "start_within_hours 12 needs expected_duration_hours"),
        (0.0, -2.0, "expected_duration_hours -2.0 must be 0"),
    ],
)
def test_bad_windows_are_refused_naming_the_parameter(within, duration, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_start_window(within, duration)


def test_zero_starts_now_without_planning_or_reading_anything():
    decision = decide_start({"intensity_csv": "/not/there.csv"}, 0.0, 0.0)
    assert decision.start == START_NOW and decision.plan is None


def test_a_cleaner_hour_later_defers_with_the_gain_over_now():
    decision = decision_from_plan(
        plan_job(frame(5), ["europe-west1", "us-central1"], 1, 12, min_gain_pct=10)
    )
    assert decision.start == START_LATER and decision.plan.delay_hours == 5
    assert decision.wait_gain_pct == 50.0
    assert decision.wait_gain_error_pct == 0.0  # the series as given: nothing to back-test
    assert StartDecision.from_json(decision.to_json()) == decision


def test_a_gain_under_min_gain_starts_now_and_the_report_says_what_waiting_would_gain():
    plan = plan_job(frame(5), ["europe-west1", "us-central1"], 1, 12, min_gain_pct=60)
    # As a back-tested forecast would report its error (Plan.forecast_error, in points).
    plan = dataclasses.replace(plan, forecast_error={"europe-west1": {"saving_error_pct": 7.5}})
    decision = decision_from_plan(plan)
    assert decision.start == START_NOW and decision.plan.delay_hours == 0
    section = start_section(decision.to_json())
    assert WHEN_HEADING in section and "**started now** in europe-west1" in section
    assert "Waiting 5 h for europe-west1 (start 2024-01-01T05:00:00Z) would have gained 50.0%" in (
        section
    )
    assert "(range 42.5% to 57.5%)" in section  # +/- the back-tested error, 7.5 points


def test_no_section_when_the_run_did_not_plan():
    assert start_section("") == ""
    assert start_section(decide_start({}, 0.0, 0.0).to_json()) == ""


def test_decide_start_plans_from_the_csv_providers_file_as_submit_does(tmp_path):
    data = frame(7, 20.0)
    path = tmp_path / "intensity.csv"
    to_long(data).to_csv(path, index=False)
    values = {
        "candidate_regions": ["europe-west1", "us-central1"],
        "baseline_region": "us-central1",
        "intensity_provider": "csv",
        "intensity_csv": str(path),
    }
    decision = decide_start(values, 12.0, 1.0, now=datetime(2024, 1, 1, 2, 30, tzinfo=UTC))
    assert decision.start == START_LATER
    assert decision.plan.start_utc == "2024-01-01T07:00:00Z"
    assert decision.plan.expected_gco2e_per_kwh == 20.0


def test_the_deferral_record_keeps_the_schedule_without_the_spec():
    decision = decision_from_plan(
        plan_job(frame(5), ["europe-west1", "us-central1"], 1, 12, min_gain_pct=0)
    )
    body = {"createPipelineJobRequest": {"pipelineJob": {"pipelineSpec": {"big": "x" * 100}}}}
    record = read_deferral(deferral_record(decision, "projects/p/schedules/1", body))
    assert record is not None and record["schedule_name"] == "projects/p/schedules/1"
    assert "big" not in json.dumps(record)
    assert read_deferral(json.dumps({"backend": "local"})) is None


def test_planning_time_comes_from_run_local_now_only():
    assert planning_time({}) is None
    assert planning_time({"CARBON_AWARE_PLAN_NOW": "2023-06-01T18:00+00:00"}) == datetime(
        2023, 6, 1, 18, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("project", "run_project", "template", "expected"),
    [
        ("", "my-proj-42", "", ("my-proj-42", "gs://my-proj-42-carbon-{region}")),
        ("other-proj", "my-proj-42", "", ("other-proj", "gs://other-proj-carbon-{region}")),
        ("", "my-proj-42", "gs://b-{region}", ("my-proj-42", "gs://b-{region}")),
        # kfp.local has no run project: nothing is invented.
        ("", "", "", ("", "")),
        ("", "{{$.pipeline_google_cloud_project_id}}", "", ("", "")),
    ],
)
def test_console_defaults(project, run_project, template, expected):
    assert run_defaults(project, run_project, template) == expected
