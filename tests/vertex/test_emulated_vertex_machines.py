"""A team's first real Vertex runs, offline: an A3 H100 run, a G2 L4 run, a run on Google's
prebuilt training container, and a Python package run on it (``python_package_spec``).

Each goes through the compiled template, GCPC's own launcher and the request it sends to a
loopback JobService (the same stand-ins as ``test_emulated_vertex_run``, the PipelineService
one included; see its docstring for what is stood in for and why). The package run's
collect-training step reads the custom job's start and end from that JobService too
(GetCustomJob), as it does from Vertex AI.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
import uuid
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
PREBUILT = "europe-docker.pkg.dev/vertex-ai/training/tf-cpu.2-17.py310:latest"
BASE_PARAMS = {
    "backend": "vertex",
    "project": PROJECT,
    "regional_bucket_template": BUCKETS,
    "candidate_regions": REGIONS,
    "epochs": 2,
    "min_quality": 0.5,
}


@pytest.fixture(scope="module")
def emulator():
    with storage_emulator() as host:
        for region in [*REGIONS, SUBMISSION_REGION]:
            make_bucket(BUCKETS.format(region=region).removeprefix("gs://"), region)
        yield host


def run_on_emulated_vertex(template: Path, tmp_path: Path, params, *, stop_after=""):
    """Runs the template with backend=vertex; returns the backend, the stand-in and the result."""
    spec = yaml.safe_load(template.read_text())
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    endpoints = tmp_path / "endpoints.txt"
    logs = tmp_path / "workers"
    logs.mkdir()
    standin = JobServiceStandIn(worker_env=env, log_dir=logs, run_workers=not stop_after)
    loopback = {
        "PYTHONPATH": str(LAUNCHER_SITE),
        "JOB_SERVICE_STANDIN": f"127.0.0.1:{standin.port}",
        "JOB_SERVICE_STANDIN_ENDPOINTS": str(endpoints),
        "JOB_SERVICE_STANDIN_PROJECT": PROJECT,
    }
    pipelines = PipelineServiceStandIn({JOB_RESOURCE_NAME: pipeline_job(JOB_RESOURCE_NAME)}, None)
    with standin, pipelines:
        backend = PipelineBackend(
            spec,
            tmp_path / "pipeline_root",
            resolution="typed",
            system={
                "pipeline_service_account": SERVICE_ACCOUNT,
                # One run id per test: the runs share the emulator's buckets, and a run must not
                # collect the replica records an earlier test's run left there.
                "pipeline_job_uuid": f"run-{uuid.uuid4().hex[:12]}",
                "pipeline_job_name": "carbon-aware-training-20261206",
                "pipeline_job_resource_name": JOB_RESOURCE_NAME,
                "pipeline_google_cloud_project_id": PROJECT,
                "pipeline_google_cloud_location": SUBMISSION_REGION,
                "pipeline_persistent_resource_id": "",
            },
            env=env,
            # collect-training reads the job's running time from the same JobService.
            task_env={
                "train-on-vertex": loopback,
                "collect-training": loopback,
                # report-footprint times the orchestration steps from the PipelineService.
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


def _footprint_and_report(result) -> tuple[dict, str]:
    footprint = json.loads(Path(result.artifacts["footprint"]["uri"]).read_text())
    return footprint, Path(result.artifacts["report"]["uri"]).read_text()


def _embodied_knows(machine_type: str) -> bool:
    from carbon_aware.footprint import embodied

    try:
        embodied.machine_vcpus(machine_type)
    except ValueError:
        return False
    return True


A3 = {
    "machine_type": "a3-highgpu-1g",
    "accelerator_type": "NVIDIA_H100_80GB",
    "accelerator_count": 1,
}


def test_an_a3_h100_job_is_requested_in_a_region_that_trains_on_h100(
    emulator, compiled_template, compiled_image, tmp_path
):
    _, standin, _, endpoints = run_on_emulated_vertex(
        compiled_template, tmp_path, A3, stop_after="train-on-vertex"
    )
    [job] = standin.jobs
    # europe-north1 offers no H100 for Vertex training; europe-west1 is the next cleanest.
    assert endpoints == ["europe-west1-aiplatform.googleapis.com"]
    assert job.parent == f"projects/{PROJECT}/locations/europe-west1"
    [pool] = job.message.job_spec.worker_pool_specs
    assert pool.machine_spec.machine_type == "a3-highgpu-1g"
    assert pool.machine_spec.accelerator_type.name == "NVIDIA_H100_80GB"
    assert pool.machine_spec.accelerator_count == 1
    assert pool.container_spec.image_uri == compiled_image
    assert "{{$" not in json.dumps(job.request)


MISSING_A3_CATALOGUE = (
    "embodied carbon has no a3 machines until the hw helper's single machine catalogue "
    "(carbon_aware/hardware/) is merged: report-footprint raises 'unknown "
    "accelerator-optimised machine type'"
)


@pytest.mark.slow
def test_an_a3_h100_run_gets_its_footprint_and_report(emulator, compiled_template, tmp_path):
    from pipeline_backend import BackendError

    try:
        backend, standin, result, _ = run_on_emulated_vertex(compiled_template, tmp_path, A3)
    except BackendError as err:
        # Only this one known gap is tolerated, and only while the catalogue lacks a3.
        if not _embodied_knows("a3-highgpu-1g") and "unknown accelerator-optimised" in str(err):
            pytest.xfail(MISSING_A3_CATALOGUE)
        raise
    assert backend.executed[-1] == "report-footprint"
    [job] = standin.jobs
    assert job.exit_codes == [0]
    footprint, report = _footprint_and_report(result)
    assert footprint["region"] == "europe-west1"
    run = footprint["run"]
    assert run["machine"]["machine_type"] == "a3-highgpu-1g"
    assert run["machine"]["accelerator_type"] == "NVIDIA_H100_80GB"
    assert "a3-highgpu-1g" in report


def test_a_g2_l4_job_is_requested_where_l4_trains(emulator, compiled_template, tmp_path):
    params = {"machine_type": "g2-standard-8", "accelerator_type": "NVIDIA_L4"}
    params["accelerator_count"] = 1
    _, standin, _, endpoints = run_on_emulated_vertex(
        compiled_template, tmp_path, params, stop_after="train-on-vertex"
    )
    [job] = standin.jobs
    # Neither europe-north1 nor europe-west1 trains on L4: us-central1 is chosen.
    assert endpoints == ["us-central1-aiplatform.googleapis.com"]
    assert job.parent == f"projects/{PROJECT}/locations/us-central1"
    [pool] = job.message.job_spec.worker_pool_specs
    assert pool.machine_spec.machine_type == "g2-standard-8"
    assert pool.machine_spec.accelerator_type.name == "NVIDIA_L4"
    assert pool.machine_spec.accelerator_count == 1


@pytest.mark.slow
def test_a_run_on_googles_prebuilt_container_says_its_tag_is_mutable(
    emulator, compiled_template, tmp_path
):
    params = {
        "training_image": PREBUILT,
        "training_command": ["python", "-m", "carbon_aware.trainer.task", "--epochs", "2"],
    }
    _, standin, result, endpoints = run_on_emulated_vertex(compiled_template, tmp_path, params)
    [job] = standin.jobs
    assert endpoints == ["europe-north1-aiplatform.googleapis.com"]
    [pool] = job.message.job_spec.worker_pool_specs
    assert pool.container_spec.image_uri == PREBUILT
    assert job.exit_codes == [0]
    footprint, report = _footprint_and_report(result)
    training = footprint["run"]["training"]
    assert training["image"] == PREBUILT
    assert training["image_tag_mutable"] is True
    assert "The image tag is mutable (`:latest`" in report


TOY_TASK = '''\
"""A Python training package as a team ships one: reads its args, writes model and metrics."""
import argparse, json, os, pathlib

parser = argparse.ArgumentParser()
parser.add_argument("--accuracy", type=float, required=True)
args = parser.parse_args()
model_dir = os.environ["AIP_MODEL_DIR"]
if model_dir.startswith("gs://"):
    from google.cloud import storage
    bucket, _, prefix = model_dir.removeprefix("gs://").partition("/")
    blob = storage.Client().bucket(bucket).blob(prefix.rstrip("/") + "/metrics.json")
    blob.upload_from_string(json.dumps({"accuracy": args.accuracy}))
else:
    pathlib.Path(model_dir).mkdir(parents=True, exist_ok=True)
    pathlib.Path(model_dir, "metrics.json").write_text(json.dumps({"accuracy": args.accuracy}))
print("toy_trainer ran with", json.dumps(vars(args)))
'''


def toy_sdist() -> bytes:
    """A real source distribution (``python -m build --sdist`` layout) of ``toy_trainer``."""
    files = {
        "pyproject.toml": (
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
            '[project]\nname = "toy-trainer"\nversion = "0.1"\n'
            '[tool.setuptools]\npackages = ["toy_trainer"]\n'
        ),
        "PKG-INFO": "Metadata-Version: 2.1\nName: toy-trainer\nVersion: 0.1\n",
        "toy_trainer/__init__.py": "",
        "toy_trainer/task.py": TOY_TASK,
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"toy_trainer-0.1/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.slow
def test_a_python_package_runs_as_python_package_spec_and_is_estimated_from_the_job(
    emulator, compiled_template, tmp_path
):
    from google.cloud import storage

    package = f"gs://carbon-proj-123-carbon-{SUBMISSION_REGION}/packages/toy_trainer-0.1.tar.gz"
    bucket, _, name = package.removeprefix("gs://").partition("/")
    storage.Client().bucket(bucket).blob(name).upload_from_string(toy_sdist())
    params = {
        "training_image": PREBUILT,
        "training_package_uris": [package],
        "training_python_module": "toy_trainer.task",
        "training_command": ["--accuracy", "0.93"],
        "quality_metric": "accuracy",
        "min_quality": 0.9,
    }
    backend, standin, result, endpoints = run_on_emulated_vertex(
        compiled_template, tmp_path, params
    )
    [job] = standin.jobs
    # The launcher created the job there, and collect-training read it back from there.
    assert endpoints == ["europe-north1-aiplatform.googleapis.com"] * 2
    [pool] = job.message.job_spec.worker_pool_specs
    spec = pool.python_package_spec
    assert spec.executor_image_uri == PREBUILT
    assert list(spec.package_uris) == [package]
    assert spec.python_module == "toy_trainer.task"
    assert list(spec.args) == ["--accuracy", "0.93"]
    assert not pool.container_spec.image_uri
    assert job.exit_codes == [0], [log.read_text() for log in job.worker_logs]
    assert "toy_trainer ran with" in job.worker_logs[0].read_text()
    assert backend.executed[-1] == "report-footprint"
    footprint, report = _footprint_and_report(result)
    run = footprint["run"]
    assert run["training"]["command"] == ["python", "-m", "toy_trainer.task", "--accuracy", "0.93"]
    assert run["training"]["package_uris"] == [package]
    assert run["replicas"] == {**run["replicas"], "count": 1, "measured": 0, "estimated": 1}
    [replica] = run["replicas"]["records"]
    assert "python_package_spec" in replica["energy"]["method_detail"]
    start, end = job.window
    assert replica["duration_s"] == pytest.approx((end - start).total_seconds(), abs=0.01)
    assert footprint["energy_kwh"] > 0
    assert footprint["co2e_g"] > 0
    assert run["metrics"] == {"accuracy": 0.93}
    assert "python -m toy_trainer.task --accuracy 0.93" in report
