"""Per-term energy: each method's arithmetic and bounds, the accelerator table, GPU detection."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from carbon_aware.hardware import catalogue, power_data
from carbon_aware.measurement import energy, energy_terms
from carbon_aware.vertex import ACCELERATOR_TYPES

CATALOGUE = (
    Path(__file__).resolve().parents[2] / "carbon_aware" / "data" / "vertex_accelerators.csv"
)


def test_every_catalogue_accelerator_has_cited_power() -> None:
    with CATALOGUE.open(encoding="utf-8") as handle:
        listed = {row["accelerator_type"] for row in csv.DictReader(handle)}
    for name in listed | set(ACCELERATOR_TYPES):
        power = energy.accelerator_power(name)
        assert 0 <= power.min_watts < power.max_watts, name
        assert power.source, name
    # No published idle for the H100 and no CCF figure: the range starts at 0 W, not at a ratio.
    assert energy.gpu_watts("NVIDIA_H100_80GB") == (0.0, 700.0)
    assert "not published" in power_data.ACCELERATOR_POWER["NVIDIA_H100_80GB"].source


def test_tpu_figures_are_googles_measured_ones_per_vertex_unit() -> None:
    # Cloud TPU v3 page: 123/220/262 W per chip, measured; Vertex counts v3 in TensorCores (2/chip).
    v3 = power_data.ACCELERATOR_POWER["TPU_V3"]
    assert (v3.min_watts, v3.mean_watts, v3.max_watts) == (61.5, 110.0, 131.0)
    assert "123/220/262 W" in v3.source and "measured" in v3.source
    # Cloud TPU v4 page: 90/170/192 W per chip. v5e publishes none: v4's, labelled a stand-in.
    v4 = power_data.ACCELERATOR_POWER["TPU_V4_POD"]
    assert (v4.min_watts, v4.mean_watts, v4.max_watts) == (90.0, 170.0, 192.0)
    v5e = power_data.ACCELERATOR_POWER["TPU_V5_LITEPOD"]
    assert (v5e.min_watts, v5e.max_watts) == (90.0, 192.0) and "stand-in" in v5e.source
    # An estimate without a measured utilisation uses Google's measured mean.
    term = energy.estimate_energy(3600.0, "cloud-tpu", "TPU_V3", 8).terms["gpu"]
    assert term["kwh"] == pytest.approx(8 * 110 / 1000)
    assert (term["low_kwh"], term["high_kwh"]) == (pytest.approx(0.492), pytest.approx(1.048))


def test_h100_run_is_estimated_within_idle_and_tdp() -> None:
    # 8 x H100 for 1 h at 50 %: 8 x (0 + 0.5 x 700) W = 2800 W -> 2.8 kWh.
    result = energy.estimate_energy(3600.0, "a3-highgpu-8g", "NVIDIA_H100_80GB", 8)
    gpu = result.terms["gpu"]
    assert gpu["kwh"] == pytest.approx(8 * 0.5 * 700 / 1000)
    assert gpu["low_kwh"] == 0.0
    assert gpu["high_kwh"] == pytest.approx(8 * 700 / 1000)
    assert gpu["method"] == "estimated" and "H100" in gpu["source"]
    assert energy.machine_shape("a3-highgpu-8g") == energy.MachineShape(208, 1872.0)


def test_cpu_terms_by_method() -> None:
    measured = energy_terms.cpu_measured(0.01, "CodeCarbon (intel_rapl)")
    assert (measured.low_kwh, measured.high_kwh) == (0.01, 0.01)  # no unsourced +/-10 % band
    assert measured.method == "measured" and "no error band" in measured.source
    # N2 is Cascade Lake in CCF: 0.64-3.97 W per vCPU. 4 vCPU at 25 %: 4 x 1.4725 = 5.89 W.
    n2 = catalogue.cpu_power("n2-standard-4")
    modelled = energy_terms.cpu_modelled(4, 0.25, 1.0, cpu=n2)
    assert modelled.kwh == pytest.approx(4 * (0.64 + 0.25 * 3.33) / 1000)
    # Bounded by the microarchitecture's idle and full load, not a relative band.
    assert (modelled.low_kwh, modelled.high_kwh) == (
        pytest.approx(4 * 0.64 / 1000),
        pytest.approx(4 * 3.97 / 1000),
    )
    assert "Cascade Lake 0.64-3.97" in modelled.source and modelled.method == "modelled"
    # No machine given: CCF's GCP median 0.68-4.11 W per vCPU.
    estimated = energy_terms.cpu_estimated(4, 1.0)
    assert estimated.kwh == pytest.approx(4 * 2.395 / 1000)
    assert (estimated.low_kwh, estimated.high_kwh) == (
        pytest.approx(4 * 0.68 / 1000),
        pytest.approx(4 * 4.11 / 1000),
    )


@pytest.mark.parametrize(
    ("machine_type", "low", "high"),
    [
        ("n1-standard-4", 0.65, 8.58),  # Skylake .. Sandy Bridge
        ("e2-standard-4", 0.47, 4.74),  # EPYC 2nd Gen .. Haswell
        ("c2d-standard-4", 0.45, 2.02),  # EPYC 3rd Gen
        ("a3-highgpu-1g", 0.68, 4.11),  # Sapphire Rapids: no CCF figure, CCF's GCP median
    ],
)
def test_cpu_bounds_are_the_familys_microarchitecture_min_and_max(machine_type, low, high):
    power = catalogue.cpu_power(machine_type)
    assert (power.low_watts_per_vcpu, power.high_watts_per_vcpu) == (low, high)
    assert power.low_watts_per_vcpu <= power.min_watts_per_vcpu
    assert power.max_watts_per_vcpu <= power.high_watts_per_vcpu


def test_ram_is_the_machine_types_memory_times_watts_per_gb() -> None:
    ram = energy_terms.ram_modelled(15.0, 2.0)
    assert ram.kwh == pytest.approx(15 * 0.392 * 2 / 1000)
    assert ram.low_kwh == pytest.approx(15 * 5 / 64 * 2 / 1000)
    assert ram.high_kwh == pytest.approx(15 * 5 / 8 * 2 / 1000)
    assert "15 GB" in ram.source and ram.method == "modelled"


def test_gpu_counter_reading_is_bounded_by_nvml_accuracy() -> None:
    term = energy_terms.gpu_measured(0.5, 2, 1.0, "CodeCarbon")
    assert (term.low_kwh, term.high_kwh) == (pytest.approx(0.49), pytest.approx(0.51))
    assert energy_terms.gpu_measured(0.001, 2, 1.0, "x").low_kwh == 0.0


def test_bounds_must_contain_the_figure_and_sums_add_up() -> None:
    with pytest.raises(ValueError, match="low <= kWh <= high"):
        energy_terms.EnergyTerm(1.0, "measured", "x", 1.5, 2.0)
    with pytest.raises(ValueError, match="method 'guessed'"):
        energy_terms.EnergyTerm(1.0, "guessed", "x", 0.5, 2.0)
    total = energy_terms.sum_terms(
        [energy_terms.cpu_measured(1.0, "a"), energy_terms.cpu_estimated(1, 1.0)]
    )
    assert total.method == "estimated"
    assert total.kwh == pytest.approx(1.0 + 2.395 / 1000)


def fake_tracker(*, gpu_kwh: float, counter: bool, gpu_util: float, mode: str) -> Any:
    device = SimpleNamespace(_has_counter=counter, _use_power_fallback=not counter)
    cpu_cls = type("CPU", (), {"_mode": mode, "_tdp": 8, "__repr__": lambda self: "CPU(x)"})
    gpu_cls = type("GPU", (), {})
    gpu = gpu_cls()
    gpu.devices = SimpleNamespace(devices=[device])  # type: ignore[attr-defined]
    data = SimpleNamespace(
        codecarbon_version="3.3.2",
        tracking_mode="machine",
        cpu_model="AMD EPYC",
        cpu_power=4.0,
        cpu_energy=0.001,
        ram_power=20.0,
        ram_energy=0.01,
        ram_total_size=8.0,
        gpu_model="1 x NVIDIA L4",
        gpu_power=30.0,
        gpu_energy=gpu_kwh,
        gpu_count=1,
        gpu_utilization_percent=gpu_util,
        pue=1.0,
    )
    # A stand-in for CodeCarbon's tracker: no GPU exists on the test machine.
    return SimpleNamespace(final_emissions_data=data, _hardware=[cpu_cls(), gpu])


def run_context(util: float | None) -> Any:
    machine = "g2-standard-4"
    cpu = catalogue.cpu_power(machine)
    return energy._RunContext(energy.machine_shape(machine), cpu, "NVIDIA_L4", 1, 3600.0, util)


def test_gpu_without_energy_counter_is_modelled_not_zero() -> None:
    tracker = fake_tracker(gpu_kwh=0.0, counter=False, gpu_util=40.0, mode="constant")
    result = energy._codecarbon_result(tracker, "gcp:us-central1", run_context(0.3))
    gpu = result.terms["gpu"]
    assert gpu["method"] == "modelled" and "no NVML energy counter" in gpu["source"]
    assert gpu["kwh"] == pytest.approx((0 + 0.4 * 72) / 1000)  # L4: idle not published, 72 W max
    # CPU: no RAPL, so measured utilisation x CCF (G2 is Cascade Lake); RAM from 16 GB, not 20 W.
    assert result.terms["cpu"]["method"] == "modelled"
    assert result.terms["cpu"]["kwh"] == pytest.approx(4 * (0.64 + 0.3 * 3.33) / 1000)
    assert result.ram_kwh == pytest.approx(16 * 0.392 / 1000)
    assert result.total_kwh == pytest.approx(sum(t["kwh"] for t in result.terms.values()))


def test_gpu_with_energy_counter_and_rapl_are_measured() -> None:
    tracker = fake_tracker(gpu_kwh=0.05, counter=True, gpu_util=40.0, mode="intel_rapl")
    result = energy._codecarbon_result(tracker, "gcp:us-central1", run_context(None))
    assert result.terms["gpu"]["method"] == "measured"
    assert result.gpu_kwh == pytest.approx(0.05)
    assert result.terms["cpu"]["method"] == "measured"
    assert result.cpu_kwh == pytest.approx(0.001)


def test_cpu_utilisation_is_read_over_the_block() -> None:
    clock = energy._CpuClock()
    end = __import__("time").perf_counter() + 0.3
    while __import__("time").perf_counter() < end:
        pass
    utilization = clock.utilization()
    assert utilization is not None and 0.0 < utilization <= 1.0
