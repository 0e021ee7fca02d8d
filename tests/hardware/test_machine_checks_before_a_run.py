"""Machine/accelerator pairs and machine families are checked before anything runs.

run-local (``local_parameters``), submit (``carbon-aware submit --dry-run``) and choose-region's
validation (``validate_run_parameters``) all refuse an impossible pair before any fetch or cloud
call; choose-region leaves out a region that lacks the machine family and says why. An H100 run's
footprint (energy and embodied carbon) is computed.
"""

from __future__ import annotations

import pytest
from delivery.test_submit import BASE, BUCKETS, ROOT, cli_main, no_cloud  # noqa: F401
from footprint.test_calculation import make_decision

from carbon_aware.decision import choose_region
from carbon_aware.delivery.local_run import local_parameters
from carbon_aware.footprint.calculation import compute_footprint
from carbon_aware.intensity.base import IntensityKind, IntensityReading, IntensitySnapshot
from carbon_aware.measurement.energy import estimate_energy
from carbon_aware.parameters import ParameterError, validate_run_parameters
from carbon_aware.planning.constraints import Constraints

BAD_PAIRS = [
    ("e2-standard-4", "NVIDIA_TESLA_T4", 1, "NVIDIA_TESLA_T4 needs an N1 machine"),
    ("n1-standard-4", "NVIDIA_H100_80GB", 1, "NVIDIA_H100_80GB needs one of a3-highgpu-1g"),
    ("n1-standard-4", "NVIDIA_TESLA_A100", 1, "NVIDIA_TESLA_A100 needs one of a2-highgpu-1g"),
    ("a3-highgpu-8g", "NVIDIA_H200_141GB", 8, "NVIDIA_H200_141GB needs one of a3-ultragpu-8g"),
    ("a3-highgpu-8g", "NVIDIA_B200", 8, "NVIDIA_B200 needs one of a4-highgpu-8g"),
    ("n1-standard-8", "NVIDIA_L4", 1, "NVIDIA_L4 needs one of g2-standard-4"),
    ("a3-highgpu-1g", "NVIDIA_H100_80GB", 2, "does not fit machine_type a3-highgpu-1g"),
]
IDS = [f"{m}+{a}x{c}" for m, a, c, _ in BAD_PAIRS]


@pytest.mark.parametrize(("machine", "accelerator", "count", "message"), BAD_PAIRS, ids=IDS)
def test_choose_region_validation_refuses_bad_pairs(machine, accelerator, count, message):
    values = {
        "candidate_regions": ["europe-west4", "us-central1"],
        "baseline_region": "us-central1",
        "machine_type": machine,
        "accelerator_type": accelerator,
        "accelerator_count": count,
    }
    with pytest.raises(ParameterError, match=message):
        validate_run_parameters(values)


@pytest.mark.parametrize(("machine", "accelerator", "count", "message"), BAD_PAIRS, ids=IDS)
def test_run_local_refuses_bad_pairs_before_the_run(
    compiled_template, machine, accelerator, count, message
):
    overrides = {"machine_type": machine, "accelerator_type": accelerator}
    overrides["accelerator_count"] = count
    with pytest.raises(ValueError, match=message):
        local_parameters(compiled_template, overrides)


@pytest.mark.parametrize(("machine", "accelerator", "count", "message"), BAD_PAIRS[:3], ids=IDS[:3])
def test_submit_refuses_bad_pairs_before_any_cloud_call(
    compiled_template,
    monkeypatch,
    capsys,
    no_cloud,  # noqa: F811 (the fixture imported above)
    machine,
    accelerator,
    count,
    message,
):
    argv = [*BASE, *ROOT, "--template", str(compiled_template), "--param", BUCKETS]
    for item in (f"machine_type={machine}", f"accelerator_type={accelerator}"):
        argv += ["--param", item]
    argv += ["--param", f"accelerator_count={count}", "--dry-run"]
    assert cli_main(argv, monkeypatch) == 2
    err = capsys.readouterr().err
    assert message in err and machine in err and accelerator in err
    assert err.count("\n") == 1, err
    assert no_cloud == []


@pytest.mark.parametrize(
    ("machine", "accelerator", "count", "regions"),
    [
        ("n1-standard-4", "NVIDIA_TESLA_T4", 1, ["europe-west4", "us-central1"]),
        ("a3-highgpu-1g", "NVIDIA_H100_80GB", 1, ["europe-west4", "us-central1"]),
        ("g2-standard-8", "NVIDIA_L4", 1, ["europe-west4", "us-central1"]),
        ("a2-ultragpu-1g", "NVIDIA_A100_80GB", 1, ["europe-west4", "us-central1"]),
        ("a4-highgpu-8g", "NVIDIA_B200", 8, ["europe-west4", "us-central1"]),
        ("ct5lp-hightpu-4t", "TPU_V5_LITEPOD", 4, ["us-central1", "us-west1"]),
        ("e2-standard-4", "", 0, ["europe-west4", "us-central1"]),
    ],
)
def test_good_pairs_pass_every_check(compiled_template, machine, accelerator, count, regions):
    overrides = {
        "machine_type": machine,
        "accelerator_type": accelerator,
        "accelerator_count": count,
        "candidate_regions": regions,
        "baseline_region": regions[-1],
    }
    assert local_parameters(compiled_template, overrides)["machine_type"] == machine


def snapshot(values):
    return IntensitySnapshot(
        "test",
        "2026-11-23T10:00:00Z",
        tuple(
            IntensityReading(
                region, region, value, IntensityKind.FORECAST, "t", "2026-11-23T10:00:00Z"
            )
            for region, value in values.items()
        ),
    )


def test_choose_region_leaves_out_a_region_without_the_machine_family_and_says_why():
    # europe-west9 is the cleanest, but the catalogue lists no N1 there for Vertex training.
    snap = snapshot({"europe-west9": 20.0, "europe-west1": 100.0, "us-central1": 400.0})
    rules = Constraints(machine_type="n1-standard-4")
    decision = choose_region(snap, ["europe-west9", "europe-west1"], "us-central1", rules)
    assert decision.region == "europe-west1"
    (excluded,) = decision.exclusions
    assert excluded["region"] == "europe-west9" and excluded["constraint"] == "machine_type"
    assert "no N1 machines" in excluded["reason"]
    assert decision.constraints["machine_type"] == "n1-standard-4"


def test_no_region_with_the_family_is_refused_before_any_fetch():
    values = {
        "candidate_regions": ["europe-west9"],
        "baseline_region": "us-central1",
        "machine_type": "n1-standard-4",
        "accelerator_type": "",
        "accelerator_count": 0,
    }
    with pytest.raises(ParameterError, match=r"machine_type='n1-standard-4' excluded europe-west9"):
        validate_run_parameters(values)


def test_a_family_not_listed_per_region_is_kept_with_a_note():
    snap = snapshot({"europe-west9": 20.0, "us-central1": 400.0})
    rules = Constraints(machine_type="n2-standard-4")
    decision = choose_region(snap, ["europe-west9"], "us-central1", rules)
    assert decision.region == "europe-west9"
    assert any("not checked per region" in note for note in decision.notes)


def test_an_h100_run_computes_its_footprint_energy_and_embodied():
    # Issue 23: a3-highgpu-1g + 1 x H100 trained, then report-footprint failed on embodied.
    energy = estimate_energy(3600.0, "a3-highgpu-1g", "NVIDIA_H100_80GB", 1)
    run_record = {
        "start_utc": "2026-11-23T10:00:00Z",
        "end_utc": "2026-11-23T11:00:00Z",
        "duration_s": 3600.0,
        "machine": {
            "machine_type": "a3-highgpu-1g",
            "accelerator_type": "NVIDIA_H100_80GB",
            "accelerator_count": 1,
        },
        "dataset": {"rows": 569, "train_rows": 400},
        "energy": energy.to_dict(),
    }
    fp = compute_footprint(make_decision(), run_record, pue=1.1)
    # 1 x H100 at 50 % of 0-700 W, 26 vCPU at CCF's GCP median, 234 GB x 0.392 W: 1 h.
    assert energy.gpu_kwh == pytest.approx(0.35)
    assert fp.energy_kwh == pytest.approx(energy.total_kwh)
    assert fp.co2e_g == pytest.approx(energy.total_kwh * 1.1 * 40.0)
    assert fp.embodied.method == "ccf-sci" and fp.embodied.gpu_count == 1
    assert fp.embodied_g == pytest.approx(fp.embodied.server_g + fp.embodied.gpu_g)
    assert fp.embodied.server_g > 0 and fp.embodied.gpu_g > 0
