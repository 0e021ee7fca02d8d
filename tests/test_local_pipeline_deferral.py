"""kfp.local, both decisions of a run that may wait, on real hourly data (Electricity Maps 2023).

``run-local --now`` plans against the csv file's hours from then: on 2023-06-01 at 18:00 UTC the
cleanest 2 h window within 12 h is Great Britain's (europe-west2) at 06:00 the next morning, so
the run defers itself (prints the schedule request and stops); at 14:00 now is best, so it
trains, and the report says what waiting would have gained.
"""

import json
from pathlib import Path

import pytest

from carbon_aware.delivery.local_run import run_local
from carbon_aware.report.deferral import DEFERRAL_HEADING, WHEN_HEADING

FILE = "shared/data/electricitymaps-hourly-2021-2024/em_hourly_lca_2023.csv.gz"
# ../shared beside the repository (/work/shared for /work/main and for /work/wt/<name>).
CSV = next((p / FILE for p in Path(__file__).resolve().parents if (p / FILE).exists()), None)
pytestmark = pytest.mark.skipif(CSV is None, reason=f"needs ../{FILE} beside the repository")


def params(**extra: str) -> list[str]:
    values = {
        "intensity_provider": "csv",
        "intensity_csv": str(CSV),
        "candidate_regions": "europe-west3,europe-west2",
        "baseline_region": "europe-west3",
        "start_within_hours": "12",
        "expected_duration_hours": "2",
        "epochs": "1",
        "min_quality": "0.5",
        **extra,
    }
    return [item for name, value in values.items() for item in ("--param", f"{name}={value}")]


@pytest.mark.slow
def test_a_local_run_that_should_wait_prints_the_schedule_request_and_stops(
    compiled_template, tmp_path, capsys
):
    from carbon_aware.cli import main

    out = tmp_path / "run"
    argv = ["run-local", "--template", str(compiled_template), "--output-dir", str(out)]
    assert main([*argv, *params(), "--now", "2023-06-01T18:00+00:00"]) == 0
    printed = capsys.readouterr().out
    assert "deferred: nothing trained" in printed
    logs = {path.name for path in (out / "logs").glob("*.log")}
    assert "defer-run.log" in logs and not logs & {"train.log", "evaluate.log"}
    request = json.loads((out / "schedule_request.json").read_text())
    body = request["body"]
    assert request["method"] == "POST" and request["url"].endswith("/schedules")
    assert body["cron"] == "TZ=UTC 0 6 2 6 *"
    assert (body["startTime"], body["endTime"]) == ("2023-06-02T05:59:00Z", "2023-06-02T07:00:00Z")
    assert body["maxRunCount"] == "1"
    job = body["createPipelineJobRequest"]["pipelineJob"]
    assert job["pipelineSpec"] == json.loads(json.dumps(_yaml(compiled_template)))
    values = job["runtimeConfig"]["parameterValues"]
    assert values["start_within_hours"] == 0.0 and values["expected_duration_hours"] == 2.0
    assert values["planned_start_utc"] == "2023-06-02T06:00:00Z"
    assert values["planned_carbon_intensity"] > 0
    assert job["labels"]["planned-region"] == "europe-west2"
    # The printed request is the saved one, with the spec shortened.
    assert '"cron": "TZ=UTC 0 6 2 6 *"' in printed and "the template's pipeline spec" in printed
    report = (out / "report.md").read_text()
    assert report.startswith(DEFERRAL_HEADING)
    assert "| Scheduled start | 2023-06-02T06:00:00Z (UTC) |" in report
    assert "| Expected region | europe-west2" in report
    record = json.loads((out / "footprint.json").read_text())
    assert record["kind"] == "deferral" and record["schedule_name"] == ""
    # The steps it took, timed by run-local: the deferral's own (small) footprint.
    cost = record["orchestration"]
    assert cost["status"] == "timed" and 0 < cost["co2e_g"] < 1
    assert {s["step"] for s in cost["steps"]} >= {"plan-start", "defer-run"}
    assert "<table>" in (out / "report.html").read_text()


def _yaml(path: Path):
    import yaml

    return yaml.safe_load(path.read_text())


@pytest.mark.slow
def test_a_local_run_for_which_now_is_best_trains_and_says_what_waiting_would_gain(
    compiled_template, tmp_path
):
    from carbon_aware.inputs import utc_time

    overrides = dict(item.split("=", 1) for item in params()[1::2])
    result = run_local(
        compiled_template, tmp_path / "run", overrides, now=utc_time("2023-06-01T14:00Z", "--now")
    )
    assert result.schedule_request is None
    assert result.footprint["region"] in ("europe-west2", "europe-west3")
    report = result.report_md.read_text()
    assert WHEN_HEADING in report
    assert "**started now** in europe-west2" in report
    assert "Waiting would have gained nothing" in report
