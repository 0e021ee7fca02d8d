"""What the pipeline's own steps cost: each step's run time x the machine it asks for.

Every step but the training program runs on a Vertex-managed machine too (locally: on this
one), so being carbon-aware has a footprint of its own. The light steps request a small shape
(:data:`STEP_RESOURCES`, applied by the pipeline with ``set_cpu_limit``/``set_memory_limit``);
a step without a request runs on Vertex AI Pipelines' default e2-standard-4 (4 vCPU, 16 GB,
cloud.google.com/vertex-ai/docs/pipelines/machine-types). Energy per step: the shape's vCPUs x
Cloud Carbon Footprint's per-vCPU watts at an assumed 50 % (bounded by 0-100 %) plus its memory
x the cited W/GB, over the step's measured run time.

Run times come from where the run happened: locally, run-local times every step and writes
them to the file named by :data:`TIMINGS_ENV` (the report step adds its own, from its process
start); on Vertex AI, from the pipeline job's task details.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from carbon_aware.measurement import energy_terms

TIMINGS_ENV = "CARBON_AWARE_STEP_TIMINGS"
METADATA_HOST = "metadata.google.internal"
REPORT_STEP = "report-footprint"
# Steps whose energy is the training run itself (measured per replica), not orchestration.
TRAINING_STEPS = ("train",)
DEFAULT_STEP_SHAPE = (4.0, 16.0)
DEFAULT_STEP_SOURCE = "Vertex AI Pipelines' default e2-standard-4 (4 vCPU, 16 GB)"
_JOB_NAME = re.compile(r"^projects/[^/\s]+/locations/([a-z0-9-]+)/pipelineJobs/[^/\s]+$")


@dataclass(frozen=True)
class StepResources:
    """The CPU and memory a step requests (and so the machine Vertex runs it on)."""

    cpu: float
    memory_gb: float

    @property
    def cpu_limit(self) -> str:
        """As ``set_cpu_limit`` takes it."""
        return f"{self.cpu:g}"

    @property
    def memory_limit(self) -> str:
        """As ``set_memory_limit`` takes it."""
        return f"{self.memory_gb:g}G"


# Measured peaks are far below these (the steps parse JSON, call an API, render two charts);
# evaluate loads the model with TensorFlow, hence its larger memory.
STEP_RESOURCES: dict[str, StepResources] = {
    "fetch-intensity": StepResources(1, 2),
    "choose-region": StepResources(1, 2),
    "train-on-vertex": StepResources(1, 2),
    "collect-training": StepResources(1, 2),
    "evaluate": StepResources(1, 4),
    REPORT_STEP: StepResources(1, 2),
}


@dataclass(frozen=True)
class StepEnergy:
    """One step's run time, its machine shape and the energy that takes."""

    step: str
    duration_s: float
    vcpus: float
    memory_gb: float
    shape_source: str
    energy_kwh: float
    low_kwh: float
    high_kwh: float


def step_energy(step: str, duration_s: float) -> StepEnergy:
    """The energy of ``step`` running ``duration_s`` on the shape it requests."""
    requested = STEP_RESOURCES.get(step)
    vcpus, memory_gb = (requested.cpu, requested.memory_gb) if requested else DEFAULT_STEP_SHAPE
    shape_source = (
        f"requested {requested.cpu_limit} vCPU / {requested.memory_limit}"
        if requested
        else DEFAULT_STEP_SOURCE
    )
    hours = max(0.0, duration_s) / 3600.0
    cpu = energy_terms.cpu_estimated(1, hours)
    ram = energy_terms.ram_modelled(memory_gb, hours)
    return StepEnergy(
        step=step,
        duration_s=round(max(0.0, duration_s), 3),
        vcpus=vcpus,
        memory_gb=memory_gb,
        shape_source=shape_source,
        energy_kwh=vcpus * cpu.kwh + ram.kwh,
        low_kwh=vcpus * cpu.low_kwh + ram.low_kwh,
        high_kwh=vcpus * cpu.high_kwh + ram.high_kwh,
    )


@dataclass(frozen=True)
class StepTimings:
    """Each step's run time in seconds, where they came from, and the region it ran in."""

    seconds: dict[str, float]
    source: str
    region: str | None = None


def orchestration_steps(timings: StepTimings, training_duration_s: float) -> list[StepEnergy]:
    """Energy of every step but the training program.

    A local ``train`` step runs the program in-process: only its time beyond the measured
    program (``training_duration_s``) is orchestration.
    """
    steps = []
    for step, seconds in sorted(timings.seconds.items()):
        if step in TRAINING_STEPS:
            seconds = seconds - training_duration_s
        steps.append(step_energy(step, seconds))
    return steps


def local_timings(env: Mapping[str, str], process_started_s: float | None) -> StepTimings | None:
    """Run-local's timings file (finished steps), plus this step's own time so far."""
    path = env.get(TIMINGS_ENV, "")
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        seconds = {str(k): float(v) for k, v in json.load(handle).items()}
    if process_started_s is not None:
        seconds[REPORT_STEP] = max(0.0, time.time() - process_started_s)
    return StepTimings(seconds, "timed by run-local (kfp.local); report-footprint from its start")


def process_start_s() -> float | None:
    """When this process started (epoch seconds), or None without psutil."""
    try:
        import psutil
    except ImportError:
        return None
    return float(psutil.Process().create_time())


def region_of_job(job_name: str) -> str | None:
    """The location in a pipeline job's resource name, or None."""
    match = _JOB_NAME.fullmatch(job_name)
    return match.group(1) if match else None


def _epoch(value: Any) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def timings_from_task_details(
    task_details: Sequence[Mapping[str, Any]], now_s: float, job_name: str
) -> StepTimings:
    """Step run times from a Vertex pipeline job's ``job_detail.task_details``.

    Tasks still running (this report step) count until ``now_s``; the pipeline's root task
    and DAG tasks (conditions) are containers for others, not machines, and are skipped.
    """
    seconds: dict[str, float] = {}
    for task in task_details:
        name = str(task.get("task_name", ""))
        if not name or task.get("parent_task_id") in (None, "", 0) or name.startswith("condition"):
            continue
        if name in ("train-in-chosen-region", "train-in-process"):
            continue
        start = _epoch(task.get("start_time"))
        if start is None:
            continue
        end = _epoch(task.get("end_time")) or now_s
        seconds[name] = max(0.0, end - start)
    return StepTimings(
        seconds, f"Vertex AI pipeline job {job_name} task details", region_of_job(job_name)
    )


def vertex_timings(job_name: str) -> StepTimings:
    """Reads the running pipeline job's task details from the Vertex AI API."""
    from google.cloud import aiplatform_v1

    region = region_of_job(job_name)
    if region is None:
        raise ValueError(f"pipeline job name {job_name!r} is not projects/*/locations/*/...")
    client = aiplatform_v1.PipelineServiceClient(
        client_options={"api_endpoint": f"{region}-aiplatform.googleapis.com"}
    )
    job = client.get_pipeline_job(name=job_name)
    details = [
        {
            "task_name": t.task_name,
            "parent_task_id": t.parent_task_id,
            "start_time": t.start_time.isoformat() if t.start_time else None,
            "end_time": t.end_time.isoformat() if t.end_time else None,
        }
        for t in job.job_detail.task_details
    ]
    return timings_from_task_details(details, time.time(), job_name)


def _metadata(path: str) -> str | None:
    """A value from the Compute Engine metadata server (there on Vertex-managed machines)."""
    import urllib.request

    request = urllib.request.Request(
        f"http://{METADATA_HOST}/computeMetadata/v1/{path}", headers={"Metadata-Flavor": "Google"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 (fixed host)
            return str(response.read().decode("utf-8"))
    except OSError:
        return None


def job_resource_name(job_id: str, project: str) -> str | None:
    """``projects/P/locations/L/pipelineJobs/ID`` of the running job, L from this VM's zone."""
    if not job_id or "{{" in job_id:
        return None
    zone = _metadata("instance/zone")  # projects/123/zones/europe-west4-a
    project = project or (_metadata("project/project-id") or "")
    if not zone or not project:
        return None
    region = zone.rsplit("/", 1)[-1].rsplit("-", 1)[0]
    return f"projects/{project}/locations/{region}/pipelineJobs/{job_id}"


def step_timings(
    job_id: str, project: str = "", env: Mapping[str, str] | None = None
) -> StepTimings | None:
    """The run's step timings, from run-local or from Vertex AI; None where neither has them.

    Args:
        job_id: The pipeline job's name (``PIPELINE_JOB_NAME_PLACEHOLDER``).
        project: Its project (empty: the metadata server's).
        env: The environment (default: this process's).
    """
    found = local_timings(os.environ if env is None else env, process_start_s())
    if found is not None:
        return found
    name = job_resource_name(job_id, project)
    if name is None:
        return None
    try:
        return vertex_timings(name)
    except Exception as err:  # the API's errors (permission, quota): report, do not fail
        reason = f"task details of {name} unreadable: {type(err).__name__}: {err}"
        return StepTimings({}, reason, region_of_job(name))


def steps_to_dicts(steps: list[StepEnergy]) -> list[dict[str, Any]]:
    """The steps as JSON-ready dicts."""
    return [asdict(step) for step in steps]


def request_step_resources(task: Any, step: str) -> Any:
    """Applies :data:`STEP_RESOURCES` to a pipeline task, so Vertex runs it on a small machine.

    The footprint models each step on this same shape.
    """
    resources = STEP_RESOURCES[step]
    return task.set_cpu_limit(resources.cpu_limit).set_memory_limit(resources.memory_limit)
