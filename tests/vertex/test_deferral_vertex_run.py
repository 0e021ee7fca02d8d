"""A console run that may wait, executed on the emulated Vertex backend: it defers itself.

Stood in for, and why (nothing else is replaced):
- the Vertex AI Pipelines backend: :mod:`pipeline_backend` walks the compiled DAG and resolves the
  run's placeholders (its resource name, project, submission region, service account);
- Vertex AI's PipelineService and ScheduleService: a loopback gRPC server speaking the real
  protocol (:mod:`vertex_control_standin`), holding the running job as Vertex keeps it;
- the JobService (:mod:`job_service_standin`) for the run that starts now;
- Google sign-in and the clients' channels (``schedule_site`` and ``launcher_site``);
- Cloud Storage: the storage emulator; the csv provider's file lives there.

The runs are console runs: neither ``project`` nor ``regional_bucket_template`` is given.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from job_service_standin import JobServiceStandIn
from pipeline_backend import BackendError, PipelineBackend
from storage_emulator import make_bucket, storage_emulator
from vertex_control_standin import VertexControlStandIn

from carbon_aware.timeseries import to_long

PROJECT = "carbon-proj-123"
SERVICE_ACCOUNT = f"pipeline-runner@{PROJECT}.iam.gserviceaccount.com"
SUBMISSION_REGION = "europe-west4"
JOB_NAME = f"projects/{PROJECT}/locations/{SUBMISSION_REGION}/pipelineJobs/console-run-0042"
REGIONS = ["europe-west1", "europe-west4", "us-central1"]
HERE = Path(__file__).parent
DATA_BUCKET = f"{PROJECT}-data"


def this_hour() -> pd.Timestamp:
    return pd.Timestamp(datetime.now(UTC)).floor("h")


@pytest.fixture(scope="module")
def emulator():
    with storage_emulator() as host:
        for region in REGIONS:
            make_bucket(f"{PROJECT}-carbon-{region}", region)
        make_bucket(DATA_BUCKET, SUBMISSION_REGION)
        yield host


def forecast_csv(name: str, clean_in_hours: int) -> str:
    """10 days back to 2 days ahead; europe-west1 has one clean hour ``clean_in_hours`` from now."""
    from carbon_aware import storage

    index = pd.date_range(
        this_hour() - pd.Timedelta(days=10), periods=12 * 24, freq="h", name="datetime"
    )
    west1 = np.full(len(index), 300.0)
    west1[index.get_loc(this_hour() + pd.Timedelta(hours=clean_in_hours))] = 20.0
    frame = pd.DataFrame(
        {"europe-west1": west1, "europe-west4": 280.0, "us-central1": 400.0}, index=index
    )
    uri = f"gs://{DATA_BUCKET}/{name}.csv"
    storage.write_text(uri, to_long(frame).to_csv(index=False))
    return uri


def task_details() -> list[dict]:
    """The job's task details as Vertex keeps them while report-footprint runs (step timings)."""
    t0 = pd.Timestamp(datetime.now(UTC)) - pd.Timedelta(minutes=5)
    steps = [("fetch-intensity", 0, 60), ("plan-start", 0, 45), ("choose-region", 60, 90),
             ("defer-run", 90, 120)]  # fmt: skip
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    details = [{"taskId": "1", "parentTaskId": "0", "taskName": "carbon-aware-training",
                "startTime": t0.strftime(stamp)}]  # fmt: skip
    for task_id, (name, start, end) in enumerate(steps, start=2):
        details.append({
            "taskId": str(task_id), "parentTaskId": "1", "taskName": name,
            "startTime": (t0 + pd.Timedelta(seconds=start)).strftime(stamp),
            "endTime": (t0 + pd.Timedelta(seconds=end)).strftime(stamp),
        })  # fmt: skip
    running = pd.Timestamp(datetime.now(UTC)) - pd.Timedelta(seconds=5)
    details.append({"taskId": "9", "parentTaskId": "1", "taskName": "report-footprint",
                    "startTime": running.strftime(stamp)})  # fmt: skip
    return details


def console_run(template: Path, tmp_path: Path, params: dict, *, refuse: str = "", stop_after=""):
    """Runs the template as a console run whose job Vertex holds; returns what each side saw."""
    spec = yaml.safe_load(template.read_text())
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    control_endpoints = tmp_path / "control-endpoints.txt"
    launcher_endpoints = tmp_path / "launcher-endpoints.txt"
    (tmp_path / "workers").mkdir()
    control = VertexControlStandIn(refuse=refuse)
    # What Vertex AI keeps of the running job: the spec and the values the console sent.
    control.add_job(
        JOB_NAME,
        {
            "displayName": "carbon-aware-training-console",
            "pipelineSpec": spec,
            "runtimeConfig": {
                "parameterValues": params,
                "gcsOutputDirectory": f"gs://{PROJECT}-carbon-{SUBMISSION_REGION}/pipeline-root",
            },
            "serviceAccount": SERVICE_ACCOUNT,
            "labels": {"team": "ml"},
            "jobDetail": {"taskDetails": task_details()},
        },
    )
    jobs = JobServiceStandIn(worker_env=env, log_dir=tmp_path / "workers", run_workers=False)
    with control, jobs:
        backend = PipelineBackend(
            spec,
            tmp_path / "pipeline_root",
            resolution="typed",
            system={
                "pipeline_service_account": SERVICE_ACCOUNT,
                "pipeline_job_uuid": "console-run-0042",
                "pipeline_job_name": "console-run-0042",
                "pipeline_job_resource_name": JOB_NAME,
                "pipeline_google_cloud_project_id": PROJECT,
                "pipeline_google_cloud_location": SUBMISSION_REGION,
                "pipeline_persistent_resource_id": "",
            },
            env=env,
            task_env={
                **{
                    step: {
                        "PYTHONPATH": str(HERE / "schedule_site"),
                        "VERTEX_CONTROL_STANDIN": f"127.0.0.1:{control.port}",
                        "VERTEX_CONTROL_ENDPOINTS": str(control_endpoints),
                    }
                    # report-footprint reads the job's task details (its steps' timings).
                    for step in ("defer-run", "report-footprint")
                },
                "train-on-vertex": {
                    "PYTHONPATH": str(HERE / "launcher_site"),
                    "JOB_SERVICE_STANDIN": f"127.0.0.1:{jobs.port}",
                    "JOB_SERVICE_STANDIN_ENDPOINTS": str(launcher_endpoints),
                    "JOB_SERVICE_STANDIN_PROJECT": PROJECT,
                },
            },
            stop_after=stop_after,
        )
        try:
            result = backend.run(params)
        finally:
            seen = control_endpoints.read_text().split() if control_endpoints.exists() else []
    return backend, control, jobs, result, seen


def waiting_params(csv: str) -> dict:
    return {
        "backend": "vertex",
        "candidate_regions": REGIONS,
        "baseline_region": "europe-west4",
        "intensity_provider": "csv",
        "intensity_csv": csv,
        "start_within_hours": 12.0,
        "expected_duration_hours": 1.0,
    }


def test_a_run_that_may_wait_schedules_itself_at_the_planned_hour_and_trains_nothing(
    emulator, compiled_template, tmp_path
):
    params = waiting_params(forecast_csv("clean-in-5h", 5))
    backend, control, jobs, result, endpoints = console_run(compiled_template, tmp_path, params)
    assert sorted(backend.executed) == sorted(
        ["fetch-intensity", "plan-start", "choose-region", "defer-run", "report-footprint"]
    )
    assert jobs.jobs == []  # nothing trained
    # The run read itself, then scheduled its copy, both in the submission region (and the
    # report step read the job's task details there).
    assert control.job_reads == [JOB_NAME, JOB_NAME]
    assert endpoints == [f"{SUBMISSION_REGION}-aiplatform.googleapis.com"] * 3
    [created] = control.schedules
    assert created.parent == f"projects/{PROJECT}/locations/{SUBMISSION_REGION}"
    schedule = created.schedule
    planned = this_hour() + pd.Timedelta(hours=5)
    assert schedule.cron == f"TZ=UTC 0 {planned.hour} {planned.day} {planned.month} *"
    assert schedule.max_run_count == 1 and schedule.max_concurrent_run_count == 1
    assert pd.Timestamp(schedule.start_time.isoformat()) == planned - pd.Timedelta(minutes=1)
    assert pd.Timestamp(schedule.end_time.isoformat()) == planned + pd.Timedelta(hours=1)
    request = schedule.create_pipeline_job_request
    assert request.parent == f"projects/{PROJECT}/locations/{SUBMISSION_REGION}"
    job = json.loads(type(request.pipeline_job).to_json(request.pipeline_job))
    # The same pipeline, as the run's own service account, with its parameters and the plan.
    assert job["pipelineSpec"] == yaml.safe_load(compiled_template.read_text())
    assert job["serviceAccount"] == SERVICE_ACCOUNT
    sent = job["runtimeConfig"]["parameterValues"]
    assert sent == {
        **params,
        "start_within_hours": 0.0,
        "planned_start_utc": planned.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "planned_carbon_intensity": 20.0,
    }
    assert job["runtimeConfig"]["gcsOutputDirectory"].endswith("/pipeline-root")
    assert job["labels"]["team"] == "ml" and job["labels"]["planned-region"] == "europe-west1"
    assert job["labels"]["deferred-from"] == "console-run-0042"
    # The short report: when, where, the saving and its range, the schedule, its own cost.
    report = Path(result.artifacts["report"]["uri"]).read_text()
    assert report.startswith("# Deferred to the planned start")
    assert planned.strftime("%Y-%m-%dT%H:%M:%SZ") in report and "europe-west1" in report
    assert f"`{created.name}`" in report
    assert "Expected gain of waiting | 92.9% (range 92.9% to 92.9%)" in report
    assert "Deferral's own footprint" in report
    html = Path(result.artifacts["report_html"]["uri"]).read_text()
    assert created.name in html and "<table>" in html
    record = json.loads(Path(result.artifacts["footprint"]["uri"]).read_text())
    assert record["kind"] == "deferral" and record["schedule_name"] == created.name
    # The deferral's own footprint: its steps, timed from the job's task details.
    cost = record["orchestration"]
    assert cost["status"] == "timed" and cost["region"] == SUBMISSION_REGION
    assert {s["step"] for s in cost["steps"]} >= {"plan-start", "defer-run", "choose-region"}
    assert 0 < cost["co2e_g"] < 1 and "gCO2e" in report


def test_the_deferral_fails_naming_the_one_permission_it_lacks_before_anything_trains(
    emulator, compiled_template, tmp_path
):
    params = waiting_params(forecast_csv("refused", 5))
    with pytest.raises(BackendError) as failure:
        console_run(compiled_template, tmp_path, params, refuse="aiplatform.schedules.create")
    message = str(failure.value)
    assert "task defer-run" in message and "exited with 1" in message
    assert (
        f"MissingPermission: the run's service account {SERVICE_ACCOUNT} lacks "
        f"aiplatform.schedules.create on projects/{PROJECT}/locations/{SUBMISSION_REGION}"
    ) in message
    assert "roles/aiplatform.user" in message


def test_when_now_is_best_the_console_run_trains_with_its_own_project_and_the_setup_buckets(
    emulator, compiled_template, tmp_path
):
    params = waiting_params(forecast_csv("clean-now", 0))
    backend, control, jobs, _, _ = console_run(
        compiled_template, tmp_path, params, stop_after="train-on-vertex"
    )
    assert "defer-run" not in backend.executed and control.schedules == []
    [job] = jobs.jobs
    # Nothing typed in: the run's own project, and the buckets `setup` creates by default.
    assert job.parent == f"projects/{PROJECT}/locations/europe-west1"
    base = job.message.job_spec.base_output_directory.output_uri_prefix
    assert base.startswith(f"gs://{PROJECT}-carbon-europe-west1/")
