"""The Vertex path executed offline: the compiled YAML driven as the backend does, GCPC's own
launcher building the CreateCustomJob request, and the job's worker run as Vertex runs it.

Stood in for, and why (nothing else is replaced):
- the Vertex AI Pipelines backend: :mod:`pipeline_backend` walks the compiled DAG and runs each
  executor's container command here (no Kubernetes, no containers offline);
- the Vertex AI JobService: a loopback gRPC server speaking the real protocol
  (:mod:`job_service_standin`), which also runs the job's replicas as subprocesses;
- Google sign-in and the launcher's RPC channel (``launcher_site/sitecustomize.py``);
- the Vertex AI PipelineService report-footprint reads the job's task details from: a loopback
  gRPC stand-in (``footprint/pipeline_service_standin.py``, ``pipeline_site/sitecustomize.py``);
- Cloud Storage: a real emulator on loopback (gcp-storage-emulator).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml
from footprint.pipeline_service_standin import PipelineServiceStandIn
from footprint.test_orchestration import pipeline_job
from job_service_standin import JobServiceStandIn
from pipeline_backend import PipelineBackend
from storage_emulator import make_bucket, storage_emulator

PROJECT = "carbon-proj-123"
SERVICE_ACCOUNT = f"pipeline-runner@{PROJECT}.iam.gserviceaccount.com"
BUCKETS = "gs://carbon-proj-123-carbon-{region}"
REGIONS = ["europe-north1", "europe-west1", "us-central1"]
SUBMISSION_REGION = "europe-west4"
LAUNCHER_SITE = Path(__file__).parent / "launcher_site"
PIPELINE_SITE = Path(__file__).parent / "pipeline_site"
JOB_RESOURCE_NAME = f"projects/{PROJECT}/locations/{SUBMISSION_REGION}/pipelineJobs/console-run-1"
BASE_PARAMS = {
    "backend": "vertex",
    "project": PROJECT,
    "regional_bucket_template": BUCKETS,
    "candidate_regions": REGIONS,
    "epochs": 20,
}


@pytest.fixture(scope="module")
def emulator():
    with storage_emulator() as host:
        for region in [*REGIONS, SUBMISSION_REGION]:
            make_bucket(BUCKETS.format(region=region).removeprefix("gs://"), region)
        yield host


def run_on_emulated_vertex(
    template: Path, tmp_path: Path, params, *, resolution, stop_after="", job_task="train-on-vertex"
):
    """Runs the template with backend=vertex; returns the backend, the stand-in and the result."""
    spec = yaml.safe_load(template.read_text())
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    endpoints = tmp_path / "endpoints.txt"
    logs = tmp_path / "workers"
    logs.mkdir()
    standin = JobServiceStandIn(worker_env=env, log_dir=logs, run_workers=not stop_after)
    pipelines = PipelineServiceStandIn({JOB_RESOURCE_NAME: pipeline_job(JOB_RESOURCE_NAME)}, None)
    with standin, pipelines:
        backend = PipelineBackend(
            spec,
            tmp_path / "pipeline_root",
            resolution=resolution,
            system={
                "pipeline_service_account": SERVICE_ACCOUNT,
                "pipeline_job_uuid": "0f9e8d7c-run",
                "pipeline_job_name": "carbon-aware-training-20261201",
                "pipeline_job_resource_name": JOB_RESOURCE_NAME,
                "pipeline_google_cloud_project_id": PROJECT,
                "pipeline_google_cloud_location": SUBMISSION_REGION,
                "pipeline_persistent_resource_id": (
                    f"projects/{PROJECT}/locations/{SUBMISSION_REGION}/persistentResources/shared"
                ),
            },
            env=env,
            task_env={
                job_task: {
                    "PYTHONPATH": str(LAUNCHER_SITE),
                    "JOB_SERVICE_STANDIN": f"127.0.0.1:{standin.port}",
                    "JOB_SERVICE_STANDIN_ENDPOINTS": str(endpoints),
                    "JOB_SERVICE_STANDIN_PROJECT": PROJECT,
                },
                "report-footprint": {
                    "PYTHONPATH": str(PIPELINE_SITE),
                    "PIPELINE_SERVICE_STANDIN": f"127.0.0.1:{pipelines.port}",
                    "PIPELINE_SERVICE_ENDPOINTS": str(tmp_path / "pipeline_endpoints.txt"),
                },
            },
            stop_after=stop_after,
        )
        result = backend.run({**BASE_PARAMS, **params})
    return backend, standin, result, endpoints.read_text().split()


@pytest.mark.slow
def test_the_whole_pipeline_runs_with_backend_vertex_offline(
    emulator, compiled_template, compiled_image, tmp_path
):
    backend, standin, result, endpoints = run_on_emulated_vertex(
        compiled_template, tmp_path, {}, resolution="typed"
    )
    assert backend.executed == [
        "fetch-intensity",
        "plan-start",
        "choose-region",
        "train-on-vertex",
        "collect-training",
        "evaluate",
        "report-footprint",
    ]
    # The request GCPC's launcher sent: the chosen region's endpoint, parent and bucket.
    [job] = standin.jobs
    chosen = "europe-north1"
    assert endpoints == [f"{chosen}-aiplatform.googleapis.com"]
    assert job.parent == f"projects/{PROJECT}/locations/{chosen}"
    spec = job.message.job_spec
    base = spec.base_output_directory.output_uri_prefix
    assert base == f"gs://carbon-proj-123-carbon-{chosen}/carbon-aware-runs/0f9e8d7c-run"
    assert spec.service_account == SERVICE_ACCOUNT
    assert spec.persistent_resource_id == ""
    [pool] = spec.worker_pool_specs
    assert pool.machine_spec.machine_type == "n1-standard-4"
    assert pool.replica_count == 1
    assert pool.container_spec.image_uri == compiled_image
    assert "carbon_aware.trainer.task" in list(pool.container_spec.command)
    assert "{{$" not in json.dumps(job.request)
    # The worker ran from what the job received, and wrote into the chosen region's bucket.
    assert job.exit_codes == [0]
    from carbon_aware import storage

    files = storage.list_files(base)
    for name in (
        "model/model.keras",
        "model/metrics.json",
        "carbon-aware/replicas/workerpool0-0.json",
    ):
        assert f"{base}/{name}" in files, files
    # Downstream steps consumed its outputs.
    footprint = json.loads(Path(result.artifacts["footprint"]["uri"]).read_text())
    assert footprint["region"] == chosen
    run = footprint["run"]
    assert run["backend"] == "vertex"
    assert run["replicas"] == {**run["replicas"], "count": 1, "measured": 1, "estimated": 0}
    assert run["training"]["model_dir"] == f"{base}/model"
    assert run["training"]["job_resource"].endswith(f"locations/{chosen}/customJobs/1000")
    evaluate = backend.inputs["evaluate"]
    assert evaluate["model_uri"] == f"{base}/model"
    report = Path(result.artifacts["report"]["uri"]).read_text()
    assert "Backend: `vertex`" in report
    # The orchestration steps: timed from the job looked up by its resource name, in its region.
    o = footprint["orchestration"]
    assert o["status"] == "timed" and o["region"] == SUBMISSION_REGION
    assert JOB_RESOURCE_NAME in o["source"] and o["co2e_g"] > 0
    assert {s["step"] for s in o["steps"]} >= {"fetch-intensity", "choose-region"}
    endpoints_used = (tmp_path / "pipeline_endpoints.txt").read_text().split()
    assert endpoints_used == [f"{SUBMISSION_REGION}-aiplatform.googleapis.com"]


@pytest.mark.parametrize("resolution", ["typed", "textual"])
def test_the_request_is_the_same_whether_nested_placeholders_resolve_typed_or_as_text(
    emulator, compiled_template, tmp_path, resolution
):
    params = {
        "machine_type": "n1-standard-8",
        "accelerator_type": "NVIDIA_TESLA_T4",
        "accelerator_count": 1,
        "worker_replica_count": 2,
        "training_command": ["python", "-m", "my_pkg.train", "--epochs", "3"],
        "training_image": "us-docker.pkg.dev/their-proj/train/model:v7",
        "training_env": {"LOG_LEVEL": "debug"},
        "training_timeout_hours": 2.5,
    }
    _, standin, _, endpoints = run_on_emulated_vertex(
        compiled_template, tmp_path, params, resolution=resolution, stop_after="train-on-vertex"
    )
    [job] = standin.jobs
    # europe-north1 offers no T4 for training: the next cleanest region that does is chosen.
    assert job.parent == f"projects/{PROJECT}/locations/europe-west1"
    assert endpoints == ["europe-west1-aiplatform.googleapis.com"]
    chief, workers = job.message.job_spec.worker_pool_specs
    for pool in (chief, workers):
        assert pool.machine_spec.machine_type == "n1-standard-8"
        assert pool.machine_spec.accelerator_type.name == "NVIDIA_TESLA_T4"
        assert pool.machine_spec.accelerator_count == 1
        assert pool.container_spec.image_uri == params["training_image"]
        command = list(pool.container_spec.command)
        assert command[-5:] == params["training_command"]
        assert [(v.name, v.value) for v in pool.container_spec.env] == [("LOG_LEVEL", "debug")]
    assert job.message.job_spec.scheduling.timeout.total_seconds() == 2.5 * 3600
    assert (chief.replica_count, workers.replica_count) == (1, 2)
    assert job.message.job_spec.service_account == SERVICE_ACCOUNT
    assert "{{$" not in json.dumps(job.request)


@pytest.mark.parametrize(("resolution", "launcher_ok"), [("typed", True), ("textual", False)])
def test_the_stand_in_tells_the_two_resolutions_apart_on_a_nested_design(
    emulator, tmp_path, resolution, launcher_ok
):
    """The design we avoid: numbers nested in a constant as channels. Typed, it works; as text,
    GCPC's launcher dies before Vertex is called, as GCPC's own b/353577594 note warns."""
    from kfp import compiler
    from nested_design import nested_pools
    from pipeline_backend import BackendError

    # The count given explicitly as an integer, so only the resolution differs between the runs.
    template = tmp_path / "nested.yaml"
    compiler.Compiler().compile(nested_pools, str(template))
    run = lambda: run_on_emulated_vertex(  # noqa: E731
        template,
        tmp_path,
        {"accelerator_count": 1},
        resolution=resolution,
        stop_after="custom-training-job",
        job_task="custom-training-job",
    )
    if launcher_ok:
        _, standin, _, _ = run()
        assert (
            standin.jobs[0].message.job_spec.worker_pool_specs[0].machine_spec.accelerator_count
            == 1
        )
    else:
        with pytest.raises(BackendError, match="'str' object cannot be interpreted as an integer"):
            run()
