"""The emulated Vertex run with every step inside the real image (``make test-image``).

The same stand-ins as test_emulated_vertex_run.py (the compiled DAG walked as the backend does,
the loopback JobService and PipelineService, the storage emulator), but each executor's command and
each replica of the custom job runs as its container command in a container of its image
(:mod:`containers`), as the image's own user, with the executor's inputs and outputs under a
``/gcs`` mount owned by root and not world-writable. Every ``gs://`` file the steps read or
write goes through that mount (as ``carbon_aware.storage`` does wherever ``/gcs`` exists); the
emulator answers what only the API answers (bucket locations). Images:

- the project's image (``make image``) for every step compiled on it;
- the same image for the custom-job launcher, which Vertex runs in GCPC's own image
  (``gcr.io/ml-pipeline/google-cloud-pipeline-components``, unreachable here); ours holds the same
  pinned google-cloud-pipeline-components release;
- the bare Debian base with Python (no carbon_aware inside) as a user's own training image.

Skipped unless requested (``make test-image`` sets ``CARBON_AWARE_IN_IMAGE=1``); once requested, a
missing podman or image is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from containers import (
    BASE_IMAGE,
    HOW_TO_RUN,
    PROJECT_IMAGE,
    STEPS_IMAGE,
    PodmanRunner,
    missing_runtime,
    podman_env,
)
from footprint.pipeline_service_standin import PipelineServiceStandIn
from footprint.test_orchestration import pipeline_job
from job_service_standin import JobServiceStandIn
from pipeline_backend import BackendError, PipelineBackend
from storage_emulator import make_bucket, storage_emulator

pytestmark = pytest.mark.image

PROJECT = "carbon-proj-123"
SERVICE_ACCOUNT = f"pipeline-runner@{PROJECT}.iam.gserviceaccount.com"
BUCKETS = "gs://carbon-proj-123-carbon-{region}"
REGIONS = ["europe-north1", "europe-west1", "us-central1"]
SUBMISSION_REGION = "europe-west4"
PIPELINE_ROOT_BUCKET = BUCKETS.format(region=SUBMISSION_REGION).removeprefix("gs://")
LAUNCHER_SITE = Path(__file__).parent / "launcher_site"
PIPELINE_SITE = Path(__file__).parent / "pipeline_site"
JOB_RESOURCE_NAME = f"projects/{PROJECT}/locations/{SUBMISSION_REGION}/pipelineJobs/console-run-1"
USER_IMAGE = "europe-docker.pkg.dev/their-proj/train/plain-python:v1"
COMPILED_STEPS_IMAGE = "europe-docker.pkg.dev/test-proj/carbon/carbon-aware-steps:0123abc"
LIGHT_STEPS = (
    "fetch-intensity",
    "plan-start",
    "choose-region",
    "collect-training",
    "report-footprint",
)
BASE_PARAMS = {
    "backend": "vertex",
    "project": PROJECT,
    "regional_bucket_template": BUCKETS,
    "candidate_regions": REGIONS,
    "epochs": 5,
    "min_quality": 0.5,
}
CONTRACT = (
    "AIP_MODEL_DIR",
    "AIP_CHECKPOINT_DIR",
    "AIP_TENSORBOARD_LOG_DIR",
    "AIP_TRAINING_DATA_URI",
    "CLUSTER_SPEC",
    "TF_CONFIG",
    "CLOUD_ML_JOB_ID",
)
# A user's training program with nothing but the standard library: it keeps the contract variables
# it was given and a metrics.json for evaluate, in its model directory through the /gcs mount.
CONTRACT_PROGRAM = f"""
import json, os
model = "/gcs/" + os.environ["AIP_MODEL_DIR"].removeprefix("gs://")
os.makedirs(model, exist_ok=True)
with open(os.path.join(model, "contract.json"), "w") as out:
    json.dump({{name: os.environ.get(name) for name in {CONTRACT!r}}}, out)
with open(os.path.join(model, "metrics.json"), "w") as out:
    json.dump({{"accuracy": 0.875}}, out)
print("contract program done")
"""


@pytest.fixture(scope="module")
def in_image() -> None:
    """Skips unless the in-image run was asked for; fails if it was but cannot run."""
    if os.environ.get("CARBON_AWARE_IN_IMAGE") != "1":
        pytest.skip(f"in-image tests skipped (not requested): {HOW_TO_RUN}")
    missing = missing_runtime()
    if missing:
        pytest.fail(f"in-image Vertex run requested but impossible: {missing}")


@pytest.fixture(scope="module")
def emulator(in_image):
    with storage_emulator() as host:
        for region in [*REGIONS, SUBMISSION_REGION]:
            make_bucket(BUCKETS.format(region=region).removeprefix("gs://"), region)
        yield host


def image_map(spec, compiled_image, project_image=PROJECT_IMAGE):
    """Every image the template and the job may name -> the local image it runs on."""
    executors = spec["deploymentSpec"]["executors"].values()
    launcher = next(
        e["container"]["image"]
        for e in executors
        if "pipeline-components" in e["container"]["image"]
    )
    return {
        compiled_image: project_image,
        COMPILED_STEPS_IMAGE: STEPS_IMAGE,
        launcher: project_image,
        USER_IMAGE: BASE_IMAGE,
    }


@pytest.fixture(scope="module")
def two_image_template(in_image, compiled_image, tmp_path_factory):
    """The one template, compiled with ``--steps-image`` for the light steps."""
    from carbon_aware.kfp.pipelines.compiler import compile_pipeline

    return compile_pipeline(
        compiled_image,
        tmp_path_factory.mktemp("two") / "pipeline.yaml",
        steps_image=COMPILED_STEPS_IMAGE,
    )


def run_in_image(template, tmp_path, emulator, params, *, images, user="", stop_after=""):
    """Runs the template with every executor and replica in its image; returns what it did."""
    spec = yaml.safe_load(template.read_text())
    gcs = tmp_path / "gcs"
    runner = PodmanRunner(
        images=images,
        gcs_root=gcs,
        mounts={
            str(LAUNCHER_SITE): "/launcher_site",
            str(PIPELINE_SITE): "/pipeline_site",
            str(tmp_path / "standin"): "/standin:rw",
        },
        user=user,
    )
    for region in [*REGIONS, SUBMISSION_REGION]:  # each bucket is a folder of the FUSE mount
        (gcs / BUCKETS.format(region=region).removeprefix("gs://")).mkdir(mode=0o755)
    (tmp_path / "standin").mkdir()
    (tmp_path / "workers").mkdir()
    # Only what Vertex gives a step, and the emulator's address: nothing of this machine's.
    env = {"STORAGE_EMULATOR_HOST": emulator}
    standin = JobServiceStandIn(
        worker_env=dict(env), log_dir=tmp_path / "workers", runner=runner, run_workers=True
    )
    pipelines = PipelineServiceStandIn({JOB_RESOURCE_NAME: pipeline_job(JOB_RESOURCE_NAME)}, None)
    with standin, pipelines:
        backend = PipelineBackend(
            spec,
            gcs / PIPELINE_ROOT_BUCKET / "pipeline-root",
            resolution="typed",
            system={
                "pipeline_service_account": SERVICE_ACCOUNT,
                "pipeline_job_uuid": "0f9e8d7c-run",
                "pipeline_job_name": "carbon-aware-training-20261201",
                "pipeline_job_resource_name": JOB_RESOURCE_NAME,
                "pipeline_google_cloud_project_id": PROJECT,
                "pipeline_google_cloud_location": SUBMISSION_REGION,
                "pipeline_persistent_resource_id": "",
            },
            env=env,
            task_env={
                "train-on-vertex": {
                    "PYTHONPATH": "/launcher_site",
                    "JOB_SERVICE_STANDIN": f"127.0.0.1:{standin.port}",
                    "JOB_SERVICE_STANDIN_ENDPOINTS": "/standin/endpoints.txt",
                    "JOB_SERVICE_STANDIN_PROJECT": PROJECT,
                },
                "report-footprint": {
                    "PYTHONPATH": "/pipeline_site",
                    "PIPELINE_SERVICE_STANDIN": f"127.0.0.1:{pipelines.port}",
                    "PIPELINE_SERVICE_ENDPOINTS": "/standin/pipeline_endpoints.txt",
                },
            },
            stop_after=stop_after,
            runner=runner,
            gcs_root=gcs,
        )
        try:
            result = backend.run({**BASE_PARAMS, **params})
        except BackendError as failed:
            # The launcher only learns that the job failed; CI needs the replica's own last lines.
            raise BackendError(f"{failed}{failed_replicas(standin)}") from None
    return backend, standin, runner, result


def failed_replicas(standin):
    """Each failed replica's name, exit code and last log lines ('' when none failed)."""
    text = ""
    for job in standin.jobs:
        for log, code in zip(job.worker_logs, job.exit_codes, strict=True):
            if code != 0:
                tail = "\n".join(log.read_text(encoding="utf-8").splitlines()[-25:])
                text += f"\nreplica {log.stem} exited with {code}:\n{tail}"
    return text


def replica_log_tail(standin):
    return "\n".join(
        log.read_text(encoding="utf-8")[-2000:] for job in standin.jobs for log in job.worker_logs
    )


def test_every_step_of_the_vertex_run_runs_in_the_image(
    in_image, emulator, two_image_template, compiled_image, tmp_path
):
    """Compiled with --steps-image: the light steps in the steps image, the rest in the image."""
    spec = yaml.safe_load(two_image_template.read_text())
    backend, standin, runner, result = run_in_image(
        two_image_template, tmp_path, emulator, {}, images=image_map(spec, compiled_image)
    )
    steps = [
        "fetch-intensity",
        "plan-start",
        "choose-region",
        "train-on-vertex",
        "collect-training",
        "evaluate",
        "report-footprint",
    ]
    assert backend.executed == steps
    # Each step, and the job's one replica (during train-on-vertex), in a container of the image.
    assert [run.name for run in runner.runs] == [*steps[:3], "workerpool0-0", *steps[3:]]
    for run in runner.runs:
        assert run.image == (STEPS_IMAGE if run.name in LIGHT_STEPS else PROJECT_IMAGE), run.name
    assert all(run.user == "image" and run.exit_code == 0 for run in runner.runs)
    # The launcher asked the chosen region's endpoint, and the replica wrote into that bucket
    # through /gcs, as root inside the root-owned, not world-writable mount.
    chosen = "europe-north1"
    assert (tmp_path / "standin" / "endpoints.txt").read_text().split() == [
        f"{chosen}-aiplatform.googleapis.com"
    ]
    [job] = standin.jobs
    assert job.exit_codes == [0], replica_log_tail(standin)
    [pool] = job.message.job_spec.worker_pool_specs
    assert pool.container_spec.image_uri == compiled_image
    base = job.message.job_spec.base_output_directory.output_uri_prefix
    host_base = tmp_path / "gcs" / base.removeprefix("gs://")
    for name in (
        "model/model.keras",
        "model/metrics.json",
        "carbon-aware/replicas/workerpool0-0.json",
    ):
        assert (host_base / name).is_file(), name
    gcs_mode = (tmp_path / "gcs").stat()
    assert (gcs_mode.st_uid, gcs_mode.st_mode & 0o777) == (0, 0o755)
    # Executor outputs were written under /gcs and are gs:// URIs, as on Vertex.
    footprint_uri = result.artifacts["footprint"]["uri"]
    assert footprint_uri.startswith(f"gs://{PIPELINE_ROOT_BUCKET}/pipeline-root/")
    footprint = json.loads(backend.host_path(footprint_uri).read_text())
    assert footprint["region"] == chosen
    run = footprint["run"]
    assert run["backend"] == "vertex"
    assert run["replicas"] == {**run["replicas"], "count": 1, "measured": 1, "estimated": 0}
    assert run["training"]["model_dir"] == f"{base}/model"
    report = backend.host_path(result.artifacts["report"]["uri"]).read_text()
    assert "Backend: `vertex`" in report
    # report-footprint, in its container, timed the steps from the job over the loopback stand-in.
    orchestration = footprint["orchestration"]
    assert orchestration["status"] == "timed", orchestration
    assert (tmp_path / "standin" / "pipeline_endpoints.txt").read_text().split() == [
        f"{SUBMISSION_REGION}-aiplatform.googleapis.com"
    ]


@pytest.mark.parametrize("path", ["wrapped", "plain-sh"])
def test_every_contract_variable_reaches_the_program_on_both_entrypoint_paths(
    in_image, emulator, compiled_template, compiled_image, tmp_path, path
):
    """wrapped: the project's image (carbon_aware.training.job measures the replica); plain-sh: the
    bare Debian base with Python, no carbon_aware inside (the entrypoint script records times)."""
    spec = yaml.safe_load(compiled_template.read_text())
    data_uri = f"{BUCKETS.format(region='europe-north1')}/data/train.csv"
    params = {
        "training_command": ["python3", "-c", CONTRACT_PROGRAM],
        "training_image": USER_IMAGE if path == "plain-sh" else "",
        "data_uri": data_uri,
    }
    backend, standin, runner, result = run_in_image(
        compiled_template, tmp_path, emulator, params, images=image_map(spec, compiled_image)
    )
    [replica] = [run for run in runner.runs if run.name == "workerpool0-0"]
    assert replica.image == (BASE_IMAGE if path == "plain-sh" else PROJECT_IMAGE)
    assert replica.exit_code == 0, replica_log_tail(standin)
    [job] = standin.jobs
    base = job.message.job_spec.base_output_directory.output_uri_prefix
    model_dir = tmp_path / "gcs" / base.removeprefix("gs://") / "model"
    given = json.loads((model_dir / "contract.json").read_text())
    assert {name for name, value in given.items() if not value} == set()
    assert given["AIP_TRAINING_DATA_URI"] == data_uri
    assert given["AIP_MODEL_DIR"].rstrip("/") == f"{base}/model"
    assert given["CLOUD_ML_JOB_ID"] == job.name.rsplit("/", 1)[-1]
    assert json.loads(given["CLUSTER_SPEC"])["task"] == {"type": "workerpool0", "index": 0}
    assert json.loads(given["TF_CONFIG"])["task"] == {"type": "chief", "index": 0}
    # The replica's record was collected, and the report counts it as measured or estimated.
    footprint = json.loads(backend.host_path(result.artifacts["footprint"]["uri"]).read_text())
    replicas = footprint["run"]["replicas"]
    if path == "plain-sh":
        assert (replicas["measured"], replicas["estimated"]) == (0, 1)
        [record] = (tmp_path / "gcs").rglob("unwrapped-*.json")
        assert json.loads(record.read_text())["exit_code"] == 0
    else:
        assert (replicas["measured"], replicas["estimated"]) == (1, 0)


def test_a_non_root_user_cannot_write_the_gcs_mount_so_the_image_runs_as_root(
    in_image, emulator, compiled_template, compiled_image, tmp_path
):
    """Why the Dockerfile says USER root: the first step, run as uid 10001 (the image's user until
    now) under the same mount, fails naming the step and showing its last log lines."""
    spec = yaml.safe_load(compiled_template.read_text())
    with pytest.raises(BackendError) as failed:
        run_in_image(
            compiled_template,
            tmp_path,
            emulator,
            {},
            images=image_map(spec, compiled_image),
            user="10001",
            stop_after="fetch-intensity",
        )
    message = str(failed.value)
    assert message.startswith("task fetch-intensity (")
    assert "Permission denied" in message and "/gcs/" in message, message


@pytest.fixture
def broken_image(in_image, tmp_path):
    """The project's image with one component module missing (as a bad Dockerfile change would)."""
    tag = f"localhost/carbon-aware-vertex-broken:{os.getpid()}"
    (tmp_path / "Containerfile").write_text(
        f"FROM {PROJECT_IMAGE}\n"
        "RUN rm -r /opt/venv/lib/python3.11/site-packages/carbon_aware/intensity\n"
    )
    subprocess.run(
        ["podman", "build", "--pull=never", "-q", "-t", tag, str(tmp_path)],
        env=podman_env(),
        check=True,
        capture_output=True,
    )
    yield tag
    subprocess.run(["podman", "rmi", tag], env=podman_env(), check=False, capture_output=True)


def test_a_missing_file_in_the_image_fails_with_the_step_name_and_its_log_tail(
    in_image, emulator, compiled_template, compiled_image, tmp_path, broken_image
):
    spec = yaml.safe_load(compiled_template.read_text())
    with pytest.raises(BackendError) as failed:
        run_in_image(
            compiled_template,
            tmp_path,
            emulator,
            {},
            images=image_map(spec, compiled_image, project_image=broken_image),
            stop_after="fetch-intensity",
        )
    message = str(failed.value)
    assert message.startswith("task fetch-intensity (")
    assert "ModuleNotFoundError: No module named 'carbon_aware.intensity'" in message, message


def test_the_steps_image_has_no_tensorflow(in_image):
    """What the light image leaves out; its cost is measured in benchmarks/image_cost.py."""
    found = subprocess.run(
        [
            "podman",
            "run",
            "--rm",
            "--network=none",
            STEPS_IMAGE,
            "python",
            "-c",
            "import importlib.util as u; print(u.find_spec('tensorflow'), u.find_spec('kfp'))",
        ],
        env=podman_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert found[0] == "None" and found[1] != "None"


def test_a_failing_replica_fails_with_the_step_the_replica_and_its_log_tail(
    in_image, emulator, compiled_template, compiled_image, tmp_path
):
    spec = yaml.safe_load(compiled_template.read_text())
    program = "import sys; print('loading data', flush=True); sys.exit('no such table: sales')"
    with pytest.raises(BackendError) as failed:
        run_in_image(
            compiled_template,
            tmp_path,
            emulator,
            {"training_command": ["python3", "-c", program], "training_image": USER_IMAGE},
            images=image_map(spec, compiled_image),
        )
    message = str(failed.value)
    assert message.startswith("task train-on-vertex (")
    assert "replica workerpool0-0 exited with 1:\nloading data\nno such table: sales" in message
