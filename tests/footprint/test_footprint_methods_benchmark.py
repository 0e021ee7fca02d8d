"""The methods-comparison benchmark implements each published formula with its own constants."""

import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "footprint_methods.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("footprint_methods", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_codecarbon_constant_mode_cpu_3w_per_8gb_ram_and_no_pue(bench):
    column = bench.codecarbon(8, 30.0, 0.04)
    assert column.cpu_kwh == pytest.approx(0.0425)  # 85 W TDP x 50 %, one hour
    assert column.ram_kwh == pytest.approx(30 * 3 / 8 / 1000)
    assert column.pue == 1.0 and column.embodied_g is None


def test_ccf_per_vcpu_average_memory_coefficient_gpu_min_max_and_pue(bench):
    column = bench.ccf("n1-standard-8", 8, 30.0, "NVIDIA_TESLA_T4")
    assert column.cpu_kwh == pytest.approx(8 * (0.71 + 0.5 * (4.26 - 0.71)) / 1000)
    assert column.gpu_kwh == pytest.approx((8 + 0.5 * 63) / 1000)
    assert column.ram_kwh == pytest.approx(30 * 0.000392)
    assert column.pue == 1.1 and column.embodied_g > 0
    assert bench.ccf("a3-highgpu-1g", 26, 234.0, "NVIDIA_H100_80GB").gpu_kwh is None


def test_green_algorithms_cores_tdp_memory_power_and_pue(bench):
    column = bench.green_algorithms(12, 85.0, "NVIDIA_TESLA_A100")
    assert column.cpu_kwh == pytest.approx(6 * 12.0 / 1000)
    assert column.gpu_kwh == pytest.approx(0.250)
    assert column.ram_kwh == pytest.approx(85 * 0.3725 / 1000)
    assert column.pue == 1.11


def test_the_table_has_every_run_in_every_region(bench, capsys):
    assert bench.main() == 0
    out = capsys.readouterr().out
    for label, machine, _ in bench.RUNS:
        for region in bench.REGIONS:
            assert f"| {label} {machine} {region} | CPU kWh |" in out
