"""What the pipeline's own steps cost: each step's run time x the machine Vertex gives it.

Every step but the training program runs on a Vertex-managed machine too (locally: on this
one), so being carbon-aware has a footprint of its own. Vertex AI Pipelines runs a step "as a
Vertex AI CustomJob using an e2-standard-4 machine, with 4 core CPUs and 16GB memory" by
default and, for a step with CPU and memory limits, "automatically selects the closest match
from the supported machine types" (cloud.google.com/vertex-ai/docs/pipelines/machine-types).
It does not publish the matching rule, so each light step's request (:data:`STEP_RESOURCES`,
1 vCPU / 2-4 GB, applied with ``set_cpu_limit``/``set_memory_limit``) is modelled on the
smallest supported E2 machine that meets it (fewest vCPUs, then least memory, from
:data:`VERTEX_E2_MACHINES`): e2-highmem-2 (2 vCPU, 16 GB); the range's high end is the default
e2-standard-4, which the closest match may also be. Energy: the whole machine's vCPUs x Cloud
Carbon Footprint's per-vCPU watts at an assumed 50 % (bounded by 0-100 %) plus its memory x the
cited W/GB, over the step's measured run time; embodied: the machine's share over that time.

Run times come from where the run happened: locally, run-local times every step and writes
them to the file named by :data:`TIMINGS_ENV` (the report step adds its own, from its process
start); on Vertex AI, from the pipeline job's task details, looked up by the job's resource
name (``{{$.pipeline_job_resource_name}}``). A failed lookup is "not measured", never 0.
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

from carbon_aware.footprint.embodied import embodied_emissions
from carbon_aware.hardware import catalogue
from carbon_aware.measurement import energy_terms

TIMINGS_ENV = "CARBON_AWARE_STEP_TIMINGS"
REPORT_STEP = "report-footprint"
# Steps whose energy is the training run itself (measured per replica), not orchestration.
TRAINING_STEPS = ("train",)
DEFAULT_STEP_MACHINE = "e2-standard-4"
MACHINE_TYPES_DOC = "cloud.google.com/vertex-ai/docs/pipelines/machine-types"
# E2 machine types Vertex AI custom training supports, (vCPUs, GB): from the hardware catalogue.
VERTEX_E2_MACHINES: dict[str, tuple[int, float]] = {
    t.name: (t.vcpus, t.memory_gb)
    for t in catalogue.load_machine_types().values()
    if t.family == "e2"
}
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
    "plan-start": StepResources(1, 2),
    "defer-run": StepResources(1, 2),
}


@dataclass(frozen=True)
class StepEnergy:
    """One step's run time, the machine it ran on, the energy that takes and its embodied share."""

    step: str
    duration_s: float
    machine_type: str
    vcpus: float
    memory_gb: float
    shape_source: str
    energy_kwh: float
    low_kwh: float
    high_kwh: float
    embodied_g: float


def step_machine(requested: StepResources | None) -> str:
    """The machine Vertex is modelled to give a step (see the module docstring)."""
    if requested is None:
        return DEFAULT_STEP_MACHINE
    fitting = [
        (vcpus, memory_gb, name)
        for name, (vcpus, memory_gb) in VERTEX_E2_MACHINES.items()
        if vcpus >= requested.cpu and memory_gb >= requested.memory_gb
    ]
    if not fitting:
        raise ValueError(
            f"no supported E2 machine has {requested.cpu_limit} vCPU and {requested.memory_limit}"
        )
    return min(fitting)[2]


def _machine_kwh(machine_type: str, hours: float) -> tuple[float, float, float]:
    vcpus, memory_gb = VERTEX_E2_MACHINES[machine_type]
    cpu = energy_terms.cpu_estimated(vcpus, hours)
    ram = energy_terms.ram_modelled(memory_gb, hours)
    return cpu.kwh + ram.kwh, cpu.low_kwh + ram.low_kwh, cpu.high_kwh + ram.high_kwh


def step_energy(step: str, duration_s: float) -> StepEnergy:
    """The energy and embodied share of ``step`` running ``duration_s`` on its machine."""
    requested = STEP_RESOURCES.get(step)
    machine = step_machine(requested)
    vcpus, memory_gb = VERTEX_E2_MACHINES[machine]
    seconds = max(0.0, duration_s)
    hours = seconds / 3600.0
    kwh, low, high = _machine_kwh(machine, hours)
    high = max(high, _machine_kwh(DEFAULT_STEP_MACHINE, hours)[2])
    if requested:
        shape_source = (
            f"requests {requested.cpu_limit} vCPU / {requested.memory_limit}: smallest supported "
            f"E2 machine meeting it, {machine}; high end on {DEFAULT_STEP_MACHINE} "
            f"({MACHINE_TYPES_DOC})"
        )
    else:
        shape_source = f"no request: Vertex AI Pipelines' default {machine} ({MACHINE_TYPES_DOC})"
    # Embodied share via embodied.py's API (the hardware catalogue's machine function replaces it).
    embodied = embodied_emissions(machine, "", 0, seconds)
    return StepEnergy(
        step=step,
        duration_s=round(seconds, 3),
        machine_type=machine,
        vcpus=float(vcpus),
        memory_gb=memory_gb,
        shape_source=shape_source,
        energy_kwh=kwh,
        low_kwh=low,
        high_kwh=high,
        embodied_g=embodied.embodied_g,
    )


@dataclass(frozen=True)
class StepTimings:
    """Each step's run time in seconds, where they came from, and the region it ran in.

    ``measured`` is False when the lookup failed: ``source`` then says why.
    """

    seconds: dict[str, float]
    source: str
    region: str | None = None
    measured: bool = True


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


def vertex_timings(job_name: str, client: Any = None) -> StepTimings:
    """Reads the running pipeline job's task details from Vertex AI's PipelineService.

    Args:
        job_name: ``projects/P/locations/L/pipelineJobs/ID``.
        client: A ``PipelineServiceClient`` (default: one for L's regional endpoint).
    """
    region = region_of_job(job_name)
    if region is None:
        raise ValueError(
            f"pipeline job resource name {job_name!r} is not projects/*/locations/*/pipelineJobs/*"
        )
    if client is None:
        from google.cloud import aiplatform_v1

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


def step_timings(
    job_resource_name: str, env: Mapping[str, str] | None = None, client: Any = None
) -> StepTimings | None:
    """The run's step timings, from run-local or from Vertex AI; None where neither applies.

    Args:
        job_resource_name: The pipeline job's resource name, as GCPC passes it
            (``{{$.pipeline_job_resource_name}}``); an unresolved placeholder or empty: not a
            Vertex run.
        env: The environment (default: this process's).
        client: The PipelineService client for the lookup (default: the regional one).

    Returns:
        The timings; on a failed lookup, timings with ``measured=False`` and the reason.
    """
    found = local_timings(os.environ if env is None else env, process_start_s())
    if found is not None:
        return found
    name = job_resource_name.strip()
    if not name or "{{" in name:
        return None
    try:
        return vertex_timings(name, client)
    except Exception as err:  # the API's errors (permission, quota, bad name): report, do not fail
        reason = f"task details of {name} unreadable: {type(err).__name__}: {err}"
        return StepTimings({}, reason, region_of_job(name), measured=False)


def steps_to_dicts(steps: list[StepEnergy]) -> list[dict[str, Any]]:
    """The steps as JSON-ready dicts."""
    return [asdict(step) for step in steps]


def request_step_resources(task: Any, step: str) -> Any:
    """Applies :data:`STEP_RESOURCES` to a pipeline task, so Vertex runs it on a small machine.

    The footprint models each step on this same shape.
    """
    resources = STEP_RESOURCES[step]
    return task.set_cpu_limit(resources.cpu_limit).set_memory_limit(resources.memory_limit)
