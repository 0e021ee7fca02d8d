"""The plan and backtest subcommands, through a parser built with register()."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from carbon_aware.planning.cli import register
from carbon_aware.timeseries import shipped_eia930_path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="carbon-aware")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    return code, capsys.readouterr().out


@pytest.fixture
def gcp_csv(tmp_path: Path) -> Path:
    lines = ["datetime,region,carbon_intensity"]
    for hour in range(6):
        lines.append(
            f"2024-01-01T{hour:02d}:00:00Z,us-west1,{[300, 100, 100, 300, 300, 300][hour]}"
        )
        lines.append(f"2024-01-01T{hour:02d}:00:00Z,europe-west4,{50 + hour}")
    path = tmp_path / "intensity.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


PLAN_KEYS = {
    "region", "start_utc", "end_utc", "delay_hours", "duration_hours", "max_delay_hours",
    "planned_at_utc", "expected_gco2e_per_kwh", "baseline_region", "run_now_gco2e_per_kwh",
    "expected_saving_pct", "data_source", "forecast", "forecast_methods", "forecast_mae",
    "constraints", "ranking", "exclusions", "notes", "schema_version", "forecast_model",
    "forecast_error",
}  # fmt: skip
BACKTEST_KEYS = {
    "jobs", "savings_pct", "per_region", "regions", "baseline_region", "duration_hours",
    "max_delay_hours", "forecast", "first_arrival_utc", "last_arrival_utc",
    "planned_mean_gco2e_per_kwh", "run_now_mean_gco2e_per_kwh", "mean_delay_hours",
    "chosen_share", "forecast_mae", "method_share", "data_source", "per_region_oracle",
    "per_region_kept_pct", "per_region_losing_starts_pct", "temporal_median_pct", "baseline_rule",
    "min_gain_rule",
}  # fmt: skip


def test_plan_json_with_residency(gcp_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(
        [
            "plan",
            "--intensity-csv",
            str(gcp_csv),
            "--regions",
            "us-west1,europe-west4",
            "--duration-hours",
            "2",
            "--max-delay-hours",
            "3",
            "--residency",
            "us",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    plan = json.loads(out)
    assert set(plan) == PLAN_KEYS
    assert (plan["region"], plan["start_utc"], plan["expected_gco2e_per_kwh"]) == (
        "us-west1",
        "2024-01-01T01:00:00Z",
        100.0,
    )
    assert plan["run_now_gco2e_per_kwh"] == 200.0
    assert plan["exclusions"][0]["region"] == "europe-west4"
    assert plan["exclusions"][0]["constraint"] == "residency"


def test_plan_text_with_prices(gcp_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(
        [
            "plan",
            "--intensity-csv",
            str(gcp_csv),
            "--regions",
            "us-west1,europe-west4",
            "--duration-hours",
            "1",
            "--max-delay-hours",
            "0",
            "--price-weight",
            "10",
            "--prices",
            "us-west1=1,europe-west4=30",
        ],
        capsys,
    )
    assert code == 0
    assert out.startswith("run in us-west1 from 2024-01-01T00:00:00Z")


def test_plan_errors_propagate(gcp_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["plan", "--intensity-csv", str(gcp_csv), "--duration-hours", "1"]
    with pytest.raises(ValueError, match="no candidate region satisfies"):
        run([*base, "--max-delay-hours", "0", "--regions", "us-west1", "--residency", "eu"], capsys)
    with pytest.raises(ValueError, match="REGION=PRICE"):
        run([*base, "--max-delay-hours", "0", "--regions", "us-west1", "--prices", "x"], capsys)


def test_backtest_json_on_shipped_data(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "backtest", "--intensity-csv", str(shipped_eia930_path()), "--regions", "CISO,BPAT",
        "--baseline-region", "CISO", "--duration-hours", "1", "--max-delay-hours", "24", "--json",
    ]  # fmt: skip
    code, out = run(argv, capsys)
    assert code == 0
    result = json.loads(out)
    assert set(result) == BACKTEST_KEYS
    assert result["jobs"] == 8736
    assert set(result["per_region"]) == {"CISO", "BPAT"}
    assert result["savings_pct"] > result["per_region"]["CISO"] > 0


def test_backtest_text_every_series(gcp_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["backtest", "--intensity-csv", str(gcp_csv), "--duration-hours", "1"]
    code, out = run([*argv, "--max-delay-hours", "2"], capsys)
    assert code == 0
    assert "4 jobs of 1 h" in out
    assert "europe-west4:" in out and "us-west1:" in out


@pytest.mark.parametrize("command", ["plan", "backtest"])
@pytest.mark.parametrize(
    ("name", "expected"), [("none.csv", "': no such file"), ("", "' is a directory, not a file")]
)
def test_missing_or_directory_intensity_csv_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, name: str, expected: str
) -> None:
    from carbon_aware.cli import main

    path = str(tmp_path / name) if name else str(tmp_path)
    argv = [command, "--intensity-csv", path, "--duration-hours", "1", "--max-delay-hours", "0"]
    assert main([*argv, "--regions", "us-west1"]) == 2
    err = capsys.readouterr().err
    assert f"--intensity-csv '{path}{expected}" in err and err.count("\n") == 1, err


@pytest.fixture
def daily_csv(tmp_path: Path) -> Path:
    """60 days of a noisy daily cycle in two zones, hourly."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(9)
    index = pd.date_range("2024-03-01", periods=60 * 24, freq="h", tz="UTC")
    hours = np.arange(index.size)
    rows = []
    for zone, amplitude in (("zone-a", 80.0), ("zone-b", 20.0)):
        values = 300 + amplitude * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 15, hours.size)
        rows += [
            f"{t:%Y-%m-%dT%H:%M:%SZ},{zone},{v:.2f}" for t, v in zip(index, values, strict=True)
        ]
    path = tmp_path / "daily.csv"
    path.write_text("datetime,region,carbon_intensity\n" + "\n".join(rows) + "\n")
    return path


def test_plan_names_the_model_and_its_backtested_error(
    daily_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["plan", "--intensity-csv", str(daily_csv), "--regions", "zone-a,zone-b"]
    argv += ["--duration-hours", "1", "--max-delay-hours", "24", "--forecast", "ridge"]
    _, out = run([*argv, "--json"], capsys)
    plan = json.loads(out)
    assert plan["forecast_model"] == {"zone-a": "ridge", "zone-b": "ridge"}
    error = plan["forecast_error"]["zone-a"]
    assert set(error) == {"saving_error_pct", "mape_1_24h_pct", "backtest_arrivals", "min_gain_pct"}
    assert 0 < error["mape_1_24h_pct"] < 20 and error["backtest_arrivals"] == 14 * 24
    assert error["min_gain_pct"] == pytest.approx(0.8 * error["saving_error_pct"], abs=1e-3)
    chosen = plan["forecast_error"][plan["region"]]["min_gain_pct"]
    assert any(n.startswith(f"min_gain_pct {chosen:g}%: back-tested on") for n in plan["notes"])
    _, text = run(argv, capsys)
    assert "model per region:" in text and "zone-a: ridge, back-tested saving error" in text
    # An explicit threshold replaces the back-tested one.
    _, out = run([*argv, "--min-gain-pct", "99", "--json"], capsys)
    assert json.loads(out)["delay_hours"] == 0.0


def test_backtest_headlines_temporal_savings_and_names_the_baseline(
    daily_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["backtest", "--intensity-csv", str(daily_csv), "--duration-hours", "1"]
    code, out = run([*argv, "--max-delay-hours", "24", "--forecast", "ridge"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[1].startswith("wait rule: back-tested: 0.8 x the forecast's saving error")
    assert lines[2].startswith("temporal savings (each region against starting at once in it)")
    assert lines[-1].endswith(
        "baseline: the first candidate (the data's series in order): pass --baseline-region to "
        "compare with another"
    )
    _, out = run([*argv, "--max-delay-hours", "24", "--min-gain-pct", "0", "--json"], capsys)
    assert json.loads(out)["min_gain_rule"].startswith("fixed: wait only for an expected gain")


def test_plan_does_not_wait_while_our_forecast_cannot_be_backtested(
    daily_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["plan", "--intensity-csv", str(daily_csv), "--regions", "zone-a", "--json"]
    argv += ["--duration-hours", "1", "--max-delay-hours", "24", "--forecast", "ridge"]
    # 29 days of history: enough to forecast (28), not to back-test (28 + 25 h + 24 h).
    _, out = run([*argv, "--now", "2024-03-30T00:00Z"], capsys)
    plan = json.loads(out)
    assert plan["delay_hours"] == 0.0 and plan["forecast_error"] == {}
    assert any(n.startswith("min_gain_pct inf: our forecast cannot be") for n in plan["notes"])
    _, out = run([*argv, "--now", "2024-04-05T00:00Z"], capsys)
    assert json.loads(out)["forecast_error"]["zone-a"]["backtest_arrivals"] > 24
