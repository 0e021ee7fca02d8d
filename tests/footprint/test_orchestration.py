import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from footprint.pipeline_service_standin import PipelineServiceStandIn
from footprint.test_calculation import RUN_RECORD, make_decision
from google.cloud.aiplatform_v1.types import pipeline_job as aiplatform_pipeline_job

from carbon_aware.footprint.calculation import compute_footprint
from carbon_aware.footprint.embodied import embodied_emissions
from carbon_aware.footprint.orchestration import (
    STEP_RESOURCES,
    TIMINGS_ENV,
    StepResources,
    StepTimings,
    local_timings,
    orchestration_steps,
    region_of_job,
    request_step_resources,
    step_energy,
    step_machine,
    step_timings,
    timings_from_task_details,
)
from carbon_aware.measurement import energy_terms

JOB = "projects/p/locations/europe-west4/pipelineJobs/run-1"


def test_a_step_runs_on_the_machine_vertex_gives_its_request():
    # 1 vCPU / 2 GB: the smallest supported E2 machine meeting it is e2-highmem-2 (2 vCPU, 16 GB).
    assert step_machine(StepResources(1, 2)) == "e2-highmem-2"
    assert step_machine(StepResources(1, 4)) == "e2-highmem-2"
    assert step_machine(StepResources(3, 8)) == "e2-standard-4"
    assert step_machine(StepResources(1, 40)) == "e2-highmem-8"
    assert step_machine(None) == "e2-standard-4"
    with pytest.raises(ValueError, match="no supported E2 machine"):
        step_machine(StepResources(64, 8))
    step = step_energy("choose-region", 3600.0)
    cpu = energy_terms.cpu_estimated(2, 1.0)
    ram = energy_terms.ram_modelled(16.0, 1.0)
    assert step.machine_type == "e2-highmem-2" and step.vcpus == 2
    assert step.energy_kwh == pytest.approx(cpu.kwh + ram.kwh)
    assert step.low_kwh == pytest.approx(cpu.low_kwh + ram.low_kwh)
    # The matching rule is not published: the high end is the documented default e2-standard-4.
    default_high = energy_terms.cpu_estimated(4, 1.0).high_kwh + ram.high_kwh
    assert step.high_kwh == pytest.approx(default_high)
    assert step.embodied_g == pytest.approx(
        embodied_emissions("e2-highmem-2", "", 0, 3600).embodied_g
    )
    assert step.embodied_g > 0
    default = step_energy("something-else", 3600.0)
    assert (
        default.machine_type == "e2-standard-4" and "default e2-standard-4" in default.shape_source
    )


def test_a_local_train_step_counts_only_its_time_beyond_the_program():
    steps = orchestration_steps(StepTimings({"train": 100.0, "evaluate": 5.0}, "t"), 80.0)
    assert {s.step: s.duration_s for s in steps} == {"evaluate": 5.0, "train": 20.0}


def test_run_local_timings_file_and_this_steps_own_time(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"fetch-intensity": 2.5}))
    found = local_timings({TIMINGS_ENV: str(path)}, process_started_s=0.0)
    assert found is not None and found.seconds["fetch-intensity"] == 2.5
    assert found.seconds["report-footprint"] > 0
    assert local_timings({}, None) is None


def test_vertex_task_details_give_run_times_and_the_region():
    details = [
        {"task_name": "carbon-aware-training", "parent_task_id": 0,
         "start_time": "2026-01-01T00:00:00Z"},
        {"task_name": "fetch-intensity", "parent_task_id": 1,
         "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T00:01:30Z"},
        {"task_name": "condition-2", "parent_task_id": 1, "start_time": "2026-01-01T00:00:00Z"},
        {"task_name": "report-footprint", "parent_task_id": 1,
         "start_time": "2026-01-01T00:10:00Z", "end_time": None},
    ]  # fmt: skip
    now = 1767225600.0 + 630.0  # 2026-01-01T00:10:30Z
    timings = timings_from_task_details(details, now, JOB)
    assert timings.seconds == {"fetch-intensity": 90.0, "report-footprint": 30.0}
    assert timings.region == "europe-west4" == region_of_job(JOB)
    assert region_of_job("{{$.pipeline_job_resource_name}}") is None


def test_orchestration_is_in_the_total_and_the_sci_not_in_the_runs_co2e():
    timings = StepTimings({"fetch-intensity": 3600.0}, "unit test", "europe-west4")
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.0, step_timings=timings)
    o = fp.orchestration
    assert o.status == "timed" and o.region == "europe-west4"
    # europe-west4 is not in the decision: its catalogue annual figure is used.
    assert o.co2e_g == pytest.approx(o.energy_kwh * o.pue * o.intensity_gco2e_per_kwh)
    assert fp.co2e_g == pytest.approx(0.5 * 40.0)  # the run's own figure is unchanged
    assert fp.total_co2e_g == pytest.approx(fp.co2e_g + o.co2e_g + fp.embodied_g + o.embodied_g)
    assert fp.net_savings_g_vs_baseline == pytest.approx(
        fp.savings_g_vs_baseline - o.co2e_g - o.embodied_g
    )
    assert fp.sci.value == pytest.approx(fp.co2e_g + o.co2e_g + fp.embodied_g + o.embodied_g)
    assert fp.total_co2e_g == pytest.approx(fp.sci.value)
    untimed = compute_footprint(make_decision(), RUN_RECORD, pue=1.0)
    assert untimed.orchestration.status == "not-measured"
    assert untimed.orchestration.co2e_g is None and untimed.net_savings_g_vs_baseline is None


class FakeTask:
    """Records the calls a KFP PipelineTask would get (no pipeline is compiled here)."""

    def __init__(self):
        self.calls = []

    def set_cpu_limit(self, value):
        self.calls.append(("cpu", value))
        return self

    def set_memory_limit(self, value):
        self.calls.append(("memory", value))
        return self


def test_light_steps_request_a_small_machine():
    task = request_step_resources(FakeTask(), "evaluate")
    assert task.calls == [("cpu", "1"), ("memory", "4G")]
    assert all(r.cpu <= 1 and r.memory_gb <= 4 for r in STEP_RESOURCES.values())


def pipeline_job(name):
    """A PipelineJob as Vertex returns it: root task, two finished steps, this step running."""
    job = aiplatform_pipeline_job.PipelineJob(name=name)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    tasks = [
        ("carbon-aware-training", 0, t0, None),
        ("fetch-intensity", 1, t0, t0 + timedelta(seconds=90)),
        ("choose-region", 1, t0 + timedelta(seconds=90), t0 + timedelta(seconds=120)),
        ("report-footprint", 1, datetime.now(UTC) - timedelta(seconds=5), None),
    ]
    for task_id, (task_name, parent, start, end) in enumerate(tasks, start=1):
        detail = aiplatform_pipeline_job.PipelineTaskDetail(
            task_id=task_id, parent_task_id=parent, task_name=task_name, start_time=start
        )
        if end is not None:
            detail.end_time = end
        job.job_detail.task_details.append(detail)
    return job


def test_the_job_is_looked_up_by_its_resource_name_over_the_pipeline_service():
    with PipelineServiceStandIn({JOB: pipeline_job(JOB)}, refuse=None) as service:
        timings = step_timings(JOB, env={}, client=service.client())
    assert service.requests == [JOB]
    assert timings is not None and timings.measured and timings.region == "europe-west4"
    assert timings.seconds["fetch-intensity"] == 90.0
    assert timings.seconds["choose-region"] == 30.0
    assert 4.0 <= timings.seconds["report-footprint"] < 120.0
    assert "carbon-aware-training" not in timings.seconds
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.0, step_timings=timings)
    assert fp.orchestration.status == "timed" and fp.orchestration.co2e_g > 0


@pytest.mark.parametrize(
    ("jobs", "refuse", "reason"),
    [
        ({}, None, "NotFound"),
        ({JOB: pipeline_job(JOB)}, grpc.StatusCode.PERMISSION_DENIED, "PermissionDenied"),
    ],
)
def test_a_failed_lookup_is_not_measured_never_zero(jobs, refuse, reason):
    with PipelineServiceStandIn(jobs, refuse=refuse) as service:
        timings = step_timings(JOB, env={}, client=service.client())
    assert timings is not None and not timings.measured and reason in timings.source
    fp = compute_footprint(make_decision(), RUN_RECORD, pue=1.0, step_timings=timings)
    o = fp.orchestration
    assert o.status == "not-measured" and o.co2e_g is None and o.energy_kwh is None
    assert fp.net_savings_g_vs_baseline is None
    assert fp.uncertainty["net_savings_g_vs_baseline"] is None
    assert fp.total_co2e_g == pytest.approx(fp.co2e_g + fp.embodied_g)


def test_no_lookup_without_a_resolved_resource_name():
    assert step_timings("{{$.pipeline_job_resource_name}}", env={}) is None
    assert step_timings("", env={}) is None
    bad = step_timings("run-1", env={}, client=object())
    assert bad is not None and not bad.measured and "is not projects/" in bad.source
