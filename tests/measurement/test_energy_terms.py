"""Per-term energy: each method's arithmetic and bounds, the accelerator table, GPU detection."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from carbon_aware.hardware import power_data
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
        assert 0 < power.min_watts < power.max_watts, name
        assert power.source, name
    assert energy.gpu_watts("NVIDIA_H100_80GB") == (pytest.approx(79.1), 700.0)
    assert "TDP 450 W" in power_data.ACCELERATOR_POWER["TPU_V3"].source


def test_h100_run_is_estimated_within_idle_and_tdp() -> None:
    # 8 x H100 for 1 h at 50 %: 8 x (79.1 + 0.5 x (700 - 79.1)) W = 3116.8 W -> 3.1168 kWh.
    result = energy.estimate_energy(3600.0, "a3-highgpu-8g", "NVIDIA_H100_80GB", 8)
    gpu = result.terms["gpu"]
    assert gpu["kwh"] == pytest.approx(8 * (79.1 + 0.5 * (700 - 79.1)) / 1000)
    assert gpu["low_kwh"] == pytest.approx(8 * 79.1 / 1000)
    assert gpu["high_kwh"] == pytest.approx(8 * 700 / 1000)
    assert gpu["method"] == "estimated" and "H100" in gpu["source"]
    assert energy.machine_shape("a3-highgpu-8g") == energy.MachineShape(208, 1872.0)


def test_cpu_terms_by_method() -> None:
    measured = energy_terms.cpu_measured(0.01, "CodeCarbon (intel_rapl)")
    assert (measured.low_kwh, measured.high_kwh) == (pytest.approx(0.009), pytest.approx(0.011))
    assert measured.method == "measured"
    # 4 vCPU at 25 %: 4 x (0.71 + 0.25 x 3.55) = 6.39 W for 1 h.
    modelled = energy_terms.cpu_modelled(4, 0.25, 1.0)
    assert modelled.kwh == pytest.approx(0.00639)
    assert modelled.low_kwh == pytest.approx(0.4 * 0.00639)
    assert modelled.high_kwh == pytest.approx(2.9 * 0.00639)
    assert "-60 % / +190 %" in modelled.source and modelled.method == "modelled"
    estimated = energy_terms.cpu_estimated(4, 1.0)
    assert estimated.kwh == pytest.approx(4 * 2.485 / 1000)
    assert (estimated.low_kwh, estimated.high_kwh) == (
        pytest.approx(4 * 0.71 / 1000),
        pytest.approx(4 * 4.26 / 1000),
    )


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
    assert total.kwh == pytest.approx(1.0 + 2.485 / 1000)


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
    return energy._RunContext(energy.machine_shape("g2-standard-4"), "NVIDIA_L4", 1, 3600.0, util)


def test_gpu_without_energy_counter_is_modelled_not_zero() -> None:
    tracker = fake_tracker(gpu_kwh=0.0, counter=False, gpu_util=40.0, mode="constant")
    result = energy._codecarbon_result(tracker, "gcp:us-central1", run_context(0.3))
    gpu = result.terms["gpu"]
    assert gpu["method"] == "modelled" and "no NVML energy counter" in gpu["source"]
    assert gpu["kwh"] == pytest.approx((8 + 0.4 * 64) / 1000)
    # CPU: no RAPL, so measured utilisation x CCF; RAM from g2-standard-4's 16 GB, not 20 W.
    assert result.terms["cpu"]["method"] == "modelled"
    assert result.terms["cpu"]["kwh"] == pytest.approx(4 * (0.71 + 0.3 * 3.55) / 1000)
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
