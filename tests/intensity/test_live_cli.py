"""``carbon-aware intensity`` through the register() hook, against the loopback server."""

import argparse
import json

import pytest

from carbon_aware.intensity.cli import register

from .conftest import this_hour


def run(argv):
    parser = argparse.ArgumentParser(prog="carbon-aware")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["intensity", *argv])
    return args.func(args)


def test_static_table(capsys):
    assert run(["--regions", "europe-west1,us-central1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["region", "zone", "gCO2e/kWh"]
    assert "europe-west1" in out and "US-MIDW-MISO" in out and "annual" in out


def test_json_output_fields(loopback, em_point, capsys):
    loopback.route("/v3/carbon-intensity/latest", loopback.Reply(200, em_point("BE", 150)))
    assert run(["--regions", "europe-west1", "--provider", "electricitymaps", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["region"] == "europe-west1" and row["zone"] == "BE"
    assert row["carbon_intensity_gco2e_per_kwh"] == 150 and row["kind"] == "latest"
    assert row["datetime"] == this_hour()[:19] + "Z" and row["is_estimated"] is True
    assert row["source"].startswith("Electricity Maps") and row["unit"] == "gCO2e/kWh"


def test_fallback_rows_are_explained_under_the_table(loopback, capsys):
    loopback.route(
        "/v3/carbon-intensity/forecast", loopback.Reply(403, {"error": "Request unauthorized"})
    )
    assert run(["--regions", "europe-west1", "--provider", "electricitymaps", "--forecast"]) == 0
    out = capsys.readouterr().out
    assert "fallback" in out and "fallbacks:" in out and "free tier" in out


def test_no_fallback_failure_exits_1_naming_the_region(loopback, capsys, monkeypatch):
    loopback.route("/v3/carbon-intensity/history", loopback.Reply(404, {"error": "Zone unknown"}))
    code = run(
        ["--regions", "europe-west1", "--provider", "electricitymaps", "--history", "--no-fallback"]
    )
    err = capsys.readouterr().err
    assert code == 1 and "europe-west1" in err and "HTTP 404" in err


def test_value_errors_propagate(monkeypatch):
    with pytest.raises(ValueError, match="has no history series"):
        run(["--regions", "europe-west1", "--history"])
    with pytest.raises(ValueError, match="europe-west99"):
        run(["--regions", "europe-west99"])
    monkeypatch.delenv("ELECTRICITY_MAPS_API_KEY", raising=False)
    with pytest.raises(ValueError, match="ELECTRICITY_MAPS_API_KEY"):
        run(["--regions", "europe-west1", "--provider", "electricitymaps"])


def test_history_and_forecast_are_exclusive():
    with pytest.raises(SystemExit):
        run(["--regions", "europe-west1", "--history", "--forecast"])


def test_missing_intensity_csv_is_refused_before_reading(tmp_path):
    with pytest.raises(ValueError, match=r"^--intensity-csv '.*/x.csv': no such file$"):
        run(["--regions", "us-west1", "--provider", "csv", "--intensity-csv", f"{tmp_path}/x.csv"])
