"""submit --start-within: plan with the run's provider, then schedule the start or run now.

Offline dry runs, as in test_submit.py: a real ``aiplatform.PipelineJob`` is built from a template
compiled in a temporary directory, with anonymous credentials. The csv provider's file is written
around the real current time, so the planted window is in the future.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbon_aware.timeseries import to_long

BASE = ["submit", "--project", "test-proj-123", "--location", "europe-west4"]
ROOT = ["--pipeline-root", "gs://test-proj-123-root/runs"]
BUCKETS = "regional_bucket_template=gs://test-proj-123-carbon-{region}"


def main(argv):
    from carbon_aware import cli

    return cli.main(argv)


def this_hour() -> pd.Timestamp:
    return pd.Timestamp(datetime.now(UTC)).floor("h")


DATA_BUCKET = "test-proj-123-data"


@pytest.fixture(scope="module", autouse=True)
def emulator():
    """The csv provider's file lives in Cloud Storage, as a Vertex step needs it (emulated)."""
    from storage_emulator import make_bucket, storage_emulator

    with storage_emulator():
        make_bucket(DATA_BUCKET, "europe-west4")
        yield


def forecast_csv(tmp_path: Path, low_in_hours: int | None) -> str:
    """Three regions, 10 days back to 2 days ahead; one planted clean hour in europe-west1.

    Written to the emulated bucket: submit reads it there to plan, and the run's steps would too.
    """
    start = this_hour() - pd.Timedelta(days=10)
    index = pd.date_range(start, periods=12 * 24, freq="h", tz="UTC", name="datetime")
    west1 = np.full(len(index), 300.0)
    if low_in_hours is not None:
        west1[index.get_loc(this_hour() + pd.Timedelta(hours=low_in_hours))] = 20.0
    else:
        west1[index.get_loc(this_hour())] = 20.0  # now is best
    frame = pd.DataFrame(
        {"europe-west1": west1, "europe-west4": np.full(len(index), 280.0), "us-central1": 400.0},
        index=index,
    )
    from carbon_aware import storage

    uri = f"gs://{DATA_BUCKET}/{tmp_path.name}/intensity.csv"
    storage.write_text(uri, to_long(frame).to_csv(index=False))
    return uri


def argv(template: Path, csv: Path | str, *extra: str) -> list[str]:
    params = [
        BUCKETS,
        "intensity_provider=csv",
        f"intensity_csv={csv}",
        "candidate_regions=europe-west1,europe-west4",
    ]
    flags = [item for p in params for item in ("--param", p)]
    return [*BASE, *ROOT, "--template", str(template), *flags, *extra, "--dry-run"]


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out), err


def test_a_later_window_becomes_a_one_off_schedule_at_that_time(
    compiled_template, tmp_path, capsys
):
    csv = forecast_csv(tmp_path, low_in_hours=5)
    request, err = run(
        argv(compiled_template, csv, "--start-within", "12", "--duration-hours", "1"), capsys
    )
    planned = this_hour() + pd.Timedelta(hours=5)
    assert request["url"].endswith("/schedules")
    body = request["body"]
    assert body["cron"] == f"TZ=UTC 0 {planned.hour} {planned.day} {planned.month} *"
    assert body["startTime"] == (planned - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    job = body["createPipelineJobRequest"]["pipelineJob"]
    values = job["runtimeConfig"]["parameterValues"]
    assert values["planned_start_utc"] == planned.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert values["planned_carbon_intensity"] == 20.0
    assert job["labels"]["planned-region"] == "europe-west1"
    assert job["labels"]["planned-start"] == planned.strftime("%Y-%m-%dt%H%M%Sz")
    assert job["labels"]["planned-gco2e-per-kwh"] == "20"
    assert "plan: run in europe-west1" in err and "waits 5 h" in err


def test_when_now_is_best_the_run_is_submitted_at_once(compiled_template, tmp_path, capsys):
    csv = forecast_csv(tmp_path, low_in_hours=None)
    request, err = run(
        argv(compiled_template, csv, "--start-within", "12", "--duration-hours", "1"), capsys
    )
    assert "/pipelineJobs?pipelineJobId=" in request["url"]
    values = request["body"]["runtimeConfig"]["parameterValues"]
    assert values["planned_start_utc"] == this_hour().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "now is the best start" in err


def test_a_gain_below_min_gain_pct_runs_now(compiled_template, tmp_path, capsys):
    csv = forecast_csv(tmp_path, low_in_hours=5)
    args = argv(
        compiled_template,
        csv,
        "--start-within",
        "12",
        "--duration-hours",
        "1",
        "--min-gain-pct",
        "95",
    )
    request, err = run(args, capsys)
    assert "/pipelineJobs?pipelineJobId=" in request["url"]
    assert "less than min_gain_pct 95%" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--start-within", "0", "--duration-hours", "1"], "--start-within 0 must be more than 0"),
        (["--start-within", "200", "--duration-hours", "1"], "at most 168 hours"),
        (["--start-within", "5"], "--start-within needs --duration-hours"),
        (
            ["--start-within", "5", "--duration-hours", "1", "--start-at", "2099-01-01T00:00Z"],
            "either --start-at or --start-within",
        ),
    ],
)
def test_bad_start_within_is_refused_before_anything_is_read(
    compiled_template, tmp_path, capsys, extra, message
):
    missing = tmp_path / "not-there.csv"  # never read: the flags fail first
    assert main(argv(compiled_template, missing, *extra)) == 2
    assert message in capsys.readouterr().err


def test_start_within_must_be_a_number(compiled_template, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv(compiled_template, tmp_path / "x.csv", "--start-within", "soon"))
    assert stop.value.code == 2
    assert "expected a number of hours, got 'soon'" in capsys.readouterr().err
