import json

import pytest
from footprint.test_calculation import RUN_RECORD, make_decision

from carbon_aware.footprint import orchestration
from carbon_aware.footprint.calculation import compute_footprint
from carbon_aware.footprint.orchestration import (
    STEP_RESOURCES,
    TIMINGS_ENV,
    StepTimings,
    local_timings,
    orchestration_steps,
    region_of_job,
    request_step_resources,
    step_energy,
    timings_from_task_details,
)

JOB = "projects/p/locations/europe-west4/pipelineJobs/run-1"


def test_a_step_is_its_requested_shape_times_its_run_time():
    # 1 vCPU x 2.395 W (CCF's GCP median 0.68-4.11 W at 50 %) + 2 GB x 0.392 W = 3.179 W for 1 h.
    step = step_energy("choose-region", 3600.0)
    assert step.energy_kwh == pytest.approx(3.179 / 1000)
    assert step.low_kwh == pytest.approx((0.68 + 2 * 5 / 64) / 1000)
    assert step.high_kwh == pytest.approx((4.11 + 2 * 5 / 8) / 1000)
    # A step without a request: Vertex's default e2-standard-4.
    default = step_energy("something-else", 3600.0)
    assert default.energy_kwh == pytest.approx((4 * 2.395 + 16 * 0.392) / 1000)
    assert "e2-standard-4" in default.shape_source


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
    assert fp.total_co2e_g == pytest.approx(fp.co2e_g + o.co2e_g)
    assert fp.net_savings_g_vs_baseline == pytest.approx(fp.savings_g_vs_baseline - o.co2e_g)
    assert fp.sci.value == pytest.approx(fp.co2e_g + o.co2e_g + fp.embodied_g)
    untimed = compute_footprint(make_decision(), RUN_RECORD, pue=1.0)
    assert untimed.orchestration.status == "not-measured" and untimed.orchestration.co2e_g == 0


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


def test_the_job_resource_name_comes_from_this_vms_zone(monkeypatch):
    # The metadata server exists only on Google Cloud machines: stood in for by a dict here.
    answers = {"instance/zone": "projects/123/zones/europe-west4-b", "project/project-id": "p"}
    monkeypatch.setattr(orchestration, "_metadata", answers.get)
    assert orchestration.job_resource_name("run-1", "") == JOB
    assert orchestration.job_resource_name("{{$.pipeline_job_name}}", "p") is None
    monkeypatch.setattr(orchestration, "_metadata", lambda path: None)
    assert orchestration.job_resource_name("run-1", "p") is None
    assert orchestration.step_timings("run-1", "p", env={}) is None
