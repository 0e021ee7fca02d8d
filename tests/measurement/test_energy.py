"""measurement.energy: CCF estimate arithmetic, machine shapes, and the CodeCarbon measurement."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from carbon_aware.measurement import energy


def busy(seconds: float) -> int:
    """Keep one core busy for a while."""
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


# N1's microarchitectures in CCF (Skylake, Broadwell, Haswell, Sandy Bridge, Ivy Bridge): mean
# min (0.65 + 0.71 + 1 + 2.17 + 3.04) / 5 = 1.514 W and mean max (4.26 + 3.69 + 4.74 + 8.58 +
# 8.25) / 5 = 5.904 W per vCPU; at 50 %: 3.709 W per vCPU.
N1_WATTS_AT_HALF = 1.514 + 0.5 * (5.904 - 1.514)


def test_one_hour_on_n1_standard_4_by_hand() -> None:
    # CPU: 4 vCPU x 3.709 W = 14.836 W -> 0.014836 kWh.
    # RAM: 15 GB x 0.000392 kWh/GB-h x 1 h = 0.00588 kWh.
    result = energy.estimate_energy(3600.0, "n1-standard-4")
    assert result.cpu_kwh == pytest.approx(4 * N1_WATTS_AT_HALF / 1000)
    assert result.ram_kwh == pytest.approx(0.00588)
    assert result.gpu_kwh == 0.0
    assert result.total_kwh == pytest.approx(0.014836 + 0.00588)
    assert result.method == "estimate"
    assert "1.514" in result.method_detail and "0.000392" in result.method_detail
    # Bounded by the lowest idle (Skylake 0.65) and highest full-load (Sandy Bridge 8.58) figure.
    cpu = result.terms["cpu"]
    assert (cpu["low_kwh"], cpu["high_kwh"]) == (
        pytest.approx(4 * 0.65e-3),
        pytest.approx(4 * 8.58e-3),
    )
    assert result.duration_s == 3600.0


def test_half_hour_with_two_t4s_by_hand() -> None:
    # GPU: 2 x (8 + 0.5 x (71 - 8)) W = 79 W for 0.5 h = 0.0395 kWh.
    # CPU: 8 vCPU x 3.709 W x 0.5 h = 0.014836 kWh; RAM: 30 GB x 0.000392 x 0.5 = 0.00588 kWh.
    result = energy.estimate_energy(1800.0, "n1-standard-8", "NVIDIA_TESLA_T4", 2)
    assert result.gpu_kwh == pytest.approx(0.0395)
    assert result.cpu_kwh == pytest.approx(8 * N1_WATTS_AT_HALF * 0.5 / 1000)
    assert result.ram_kwh == pytest.approx(0.00588)
    assert result.total_kwh == pytest.approx(0.0395 + 0.014836 + 0.00588)


def test_utilization_moves_between_min_and_max_watts() -> None:
    # E2 in CCF: Skylake, Broadwell, Haswell, EPYC 2nd Gen: mean min 0.7075, mean max 3.595 W.
    idle = energy.estimate_energy(3600.0, "e2-standard-4", utilization=0.0)
    full = energy.estimate_energy(3600.0, "e2-standard-4", utilization=1.0)
    assert idle.cpu_kwh == pytest.approx(4 * 0.7075 / 1000)
    assert full.cpu_kwh == pytest.approx(4 * 3.595 / 1000)
    assert energy.average_watts(8.0, 71.0, 0.5) == pytest.approx(39.5)


@pytest.mark.parametrize(
    ("machine_type", "vcpus", "memory_gb"),
    [
        ("n1-standard-4", 4, 15.0),
        ("n1-highmem-8", 8, 52.0),
        ("n1-highcpu-16", 16, 14.4),
        ("e2-standard-4", 4, 16.0),
        ("a2-megagpu-16g", 96, 1360.0),
        ("a3-highgpu-1g", 26, 234.0),
        ("c3-standard-4", 4, 16.0),
        ("m1-ultramem-40", 40, 961.0),
        ("n2-standard-32", 32, 128.0),
        ("g2-standard-8", 8, 32.0),
        ("a2-highgpu-1g", 12, 85.0),
    ],
)
def test_machine_shapes(machine_type: str, vcpus: int, memory_gb: float) -> None:
    shape = energy.machine_shape(machine_type)
    assert shape.vcpus == vcpus
    assert shape.memory_gb == pytest.approx(memory_gb)


@pytest.mark.parametrize(
    ("machine_type", "listed"),
    [
        ("n1-standard", "n1-highmem-2"),
        ("n1-standard-0", "n1-standard-4"),
        ("e2-standard-2", "e2-standard-4"),
        ("", "families: n1, e2, n2"),
        ("z9-huge-4", "families: n1, e2, n2"),
    ],
)
def test_unknown_machine_type_lists_known_families(machine_type: str, listed: str) -> None:
    pattern = rf"machine_type '{machine_type}' is not a machine type Vertex AI.*{listed}"
    with pytest.raises(ValueError, match=pattern):
        energy.machine_shape(machine_type)


def test_unknown_accelerator_lists_known_ones() -> None:
    assert energy.gpu_watts("nvidia_tesla_v100") == (35.0, 306.0)
    with pytest.raises(ValueError, match=r"'TPU_V9' is not known.*NVIDIA_L4"):
        energy.gpu_watts("TPU_V9")


def test_negative_duration_is_rejected() -> None:
    with pytest.raises(ValueError, match="duration_s >= 0"):
        energy.estimate_energy(-1.0, "n1-standard-4")


def test_codecarbon_measures_non_negative_energy_without_writing_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with energy.measure_energy("us-central1", "n1-standard-4") as meter:
        assert meter.result is None
        busy(1.2)
    result = meter.result
    assert result is not None
    assert result.method == "codecarbon"
    assert "CodeCarbon" in result.method_detail and "gcp:us-central1" in result.method_detail
    for value in (result.cpu_kwh, result.gpu_kwh, result.ram_kwh):
        assert value >= 0.0
    assert result.total_kwh > 0.0
    assert result.total_kwh == pytest.approx(result.cpu_kwh + result.gpu_kwh + result.ram_kwh)
    assert result.duration_s >= 1.2
    assert list(tmp_path.iterdir()) == []  # no emissions.csv, no lock file


def test_non_gcp_region_still_measures() -> None:
    with energy.measure_energy("local", "n1-standard-4") as meter:
        busy(0.2)
    assert meter.result is not None
    assert meter.result.method == "codecarbon"
    assert "'local' is not a GCP region" in meter.result.method_detail


def test_falls_back_to_the_estimate_when_codecarbon_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(region: str) -> None:
        raise ImportError("No module named 'codecarbon'")

    monkeypatch.setattr(energy, "_start_codecarbon", broken)
    with energy.measure_energy("us-central1", "n1-standard-4", "NVIDIA_L4", 1) as meter:
        busy(0.05)
    result = meter.result
    assert result is not None
    assert result.method == "estimate"
    assert "CodeCarbon unavailable: ImportError" in result.method_detail
    assert result.gpu_kwh > 0.0
    expected = energy.estimate_energy(result.duration_s, "n1-standard-4", "NVIDIA_L4", 1)
    assert result.total_kwh == pytest.approx(expected.total_kwh)


def test_result_is_set_even_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError, match="boom"):  # noqa: SIM117
        with energy.measure_energy("local", "n1-standard-4", use_codecarbon=False) as meter:
            raise RuntimeError("boom")
    assert meter.result is not None
    assert meter.result.method == "estimate"
    assert "CodeCarbon disabled" in meter.result.method_detail


def test_bad_machine_type_fails_before_the_block_runs() -> None:
    ran = []
    with pytest.raises(ValueError, match="machine_type 'tiny' is not a machine type Vertex AI"):  # noqa: SIM117
        with energy.measure_energy("local", "tiny"):
            ran.append(True)
    assert ran == []


def test_measurement_serialises_to_a_plain_dict() -> None:
    as_dict = energy.estimate_energy(60.0, "n1-standard-4").to_dict()
    assert set(as_dict) == {
        "cpu_kwh",
        "gpu_kwh",
        "ram_kwh",
        "total_kwh",
        "method",
        "method_detail",
        "duration_s",
        "terms",
    }
    assert set(as_dict["terms"]) == {"cpu", "ram"}
