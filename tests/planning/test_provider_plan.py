"""plan --provider csv|static: the provider's forecast, else ours from history, else annual."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbon_aware.planning.planner import WAIT_NOTE
from carbon_aware.planning.sources import saving_error_pct
from carbon_aware.planning.when import plan_from_provider
from carbon_aware.timeseries import to_long

NOW = datetime(2030, 3, 10, 9, 20, tzinfo=UTC)
START = pd.Timestamp("2030-03-10T09:00Z")


def write_csv(path: Path, start: pd.Timestamp, **series: np.ndarray) -> Path:
    n = len(next(iter(series.values())))
    index = pd.date_range(start, periods=n, freq="h", tz="UTC", name="datetime")
    to_long(pd.DataFrame(series, index=index)).to_csv(path, index=False)
    return path


def planted(n: int, at: int, low: float = 50.0, level: float = 300.0) -> np.ndarray:
    values = np.full(n, level)
    values[at] = low
    return values


def test_csv_forecast_window_planted_by_the_test_is_chosen(tmp_path: Path) -> None:
    csv = write_csv(
        tmp_path / "f.csv",
        START,
        **{"europe-west1": planted(48, 7), "europe-west4": planted(48, 3, low=120.0)},
    )
    plan = plan_from_provider(
        "csv", ["europe-west1", "europe-west4"], 1, 12, now=NOW, csv_uri=str(csv)
    )
    assert (plan.region, plan.start_utc, plan.expected_gco2e_per_kwh) == (
        "europe-west1",
        "2030-03-10T16:00:00Z",
        50.0,
    )
    assert plan.planned_at_utc == "2030-03-10T09:00:00Z"
    assert plan.forecast == "provider"
    assert plan.forecast_methods["europe-west1"] == "csv forecast (13 h)"
    assert plan.notes[-1].startswith(WAIT_NOTE + "waits 7 h")
    assert set(json.loads(plan.to_json())) >= {"region", "start_utc", "expected_gco2e_per_kwh"}


def test_a_window_beyond_the_slack_is_not_chosen(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "f.csv", START, **{"europe-west1": planted(48, 20)})
    plan = plan_from_provider("csv", ["europe-west1"], 1, 12, now=NOW, csv_uri=str(csv))
    assert plan.delay_hours == 0 and plan.start_utc == "2030-03-10T09:00:00Z"
    assert plan.notes[-1] == WAIT_NOTE + "now is the best start"


def test_min_gain_keeps_a_small_gain_from_delaying_the_run(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "f.csv", START, **{"europe-west1": planted(48, 4, low=290.0)})
    plan = plan_from_provider(
        "csv", ["europe-west1"], 1, 12, now=NOW, csv_uri=str(csv), min_gain_pct=5
    )
    assert plan.delay_hours == 0 and plan.expected_gco2e_per_kwh == 300.0
    assert "would gain 3.3%, less than min_gain_pct 5%" in plan.notes[-1]


def test_history_only_gives_our_ridge_forecast_with_a_backtested_min_gain(tmp_path: Path) -> None:
    days = 60
    hours = np.arange(days * 24)
    rng = np.random.default_rng(5)
    daily = 300 + 120 * np.sin(2 * np.pi * (hours % 24) / 24) + rng.normal(0, 5, hours.size)
    csv = write_csv(tmp_path / "h.csv", START - pd.Timedelta(days=days), **{"europe-west1": daily})
    plan = plan_from_provider("csv", ["europe-west1"], 1, 24, now=NOW, csv_uri=str(csv))
    assert plan.forecast_methods["europe-west1"].startswith("our ridge forecast from intensity CSV")
    # The series starts at 09:00 UTC, so the sine's trough (hour 18 of the series) is at 03:00.
    assert plan.start_utc == "2030-03-11T03:00:00Z"
    gain_note = next(n for n in plan.notes if n.startswith("min_gain_pct"))
    assert "back-tested error of our forecast" in gain_note
    assert 0 < saving_error_pct(daily, 1, 24) < 10


def test_stale_history_falls_back_to_annual_and_starts_now(tmp_path: Path) -> None:
    csv = write_csv(
        tmp_path / "old.csv", pd.Timestamp("2022-01-01T00:00Z"), **{"europe-west1": np.ones(900)}
    )
    plan = plan_from_provider("csv", ["europe-west1"], 2, 10, now=NOW, csv_uri=str(csv))
    assert plan.delay_hours == 0
    assert "time cannot be chosen" in plan.forecast_methods["europe-west1"]
    assert (
        "history has no 28 days ending at 2030-03-10T09:00:00Z"
        in (plan.forecast_methods["europe-west1"])
    )


def test_static_says_time_cannot_be_chosen() -> None:
    plan = plan_from_provider("static", ["europe-west1", "us-central1"], 2, 10, now=NOW)
    assert plan.region == "europe-west1" and plan.delay_hours == 0
    assert "only annual figures: the time cannot be chosen, so the job starts now" in plan.notes


def test_unknown_provider_is_named() -> None:
    with pytest.raises(ValueError, match="unknown provider 'nope'; allowed: csv, electricitymaps"):
        plan_from_provider("nope", ["europe-west1"], 1, 1, now=NOW)


def test_plan_cli_with_a_provider_prints_the_same_json_keys(tmp_path: Path, capsys) -> None:
    from test_planning_cli import PLAN_KEYS

    from carbon_aware import cli

    csv = write_csv(tmp_path / "f.csv", START, **{"europe-west1": planted(48, 7)})
    argv = ["plan", "--provider", "csv", "--intensity-csv", str(csv), "--regions", "europe-west1"]
    argv += ["--duration-hours", "1", "--max-delay-hours", "12", "--now", "2030-03-10T09:20Z"]
    assert cli.main([*argv, "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert set(plan) == PLAN_KEYS
    assert plan["start_utc"] == "2030-03-10T16:00:00Z"
    assert cli.main(["plan", "--provider", "csv", *argv[5:]]) == 2  # no --intensity-csv
    assert "--provider csv needs --intensity-csv" in capsys.readouterr().err
