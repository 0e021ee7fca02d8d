import pytest

from carbon_aware.footprint.embodied import (
    embodied_emissions,
    embodied_share_g,
    host_profile,
    machine_vcpus,
    share_of_lifetime,
)
from carbon_aware.hardware import catalogue

ONE_HOUR = 3600.0
LIFETIME_H = 4 * 8760
# CCF's method for a host it has no figure for: 1000 kg base + (memory - 16 GB) x 533/384 kg/GB
# + one more socket x 100 kg (coefficients ccfcoef/constants.py).
PER_GB = 533 / 384


def test_server_share_follows_ccf_time_and_vcpu_shares():
    result = embodied_emissions("n1-standard-4", "", 0, ONE_HOUR)
    # CCF n1-standard: 1677.48 kgCO2e per host, largest n1 machine has 96 vCPUs, 4-year life.
    assert result.embodied_g == pytest.approx(1677.48e3 * (1 / LIFETIME_H) * (4 / 96))
    assert result.method == "ccf-sci" and result.gpu_g == 0
    assert (result.vcpus, result.host_vcpus, result.host_kgco2e) == (4, 96, 1677.48)


def test_attached_gpus_add_their_card_figure_each():
    result = embodied_emissions("n1-standard-8", "NVIDIA_TESLA_T4", 2, ONE_HOUR)
    assert result.gpu_g == pytest.approx(2 * 150 * 1e3 / LIFETIME_H)
    assert result.embodied_g == pytest.approx(result.server_g + result.gpu_g)
    assert "generic data-centre card" in result.note  # what the 150 kg stands for


def test_a2_gpus_are_in_the_host_figure_and_not_added_twice():
    result = embodied_emissions("a2-highgpu-1g", "NVIDIA_TESLA_A100", 1, ONE_HOUR)
    assert result.gpu_g == 0 and result.vcpus == 12
    assert result.server_g == pytest.approx(5465.5e3 / LIFETIME_H * 12 / 96)
    assert "A2" in result.note


def test_a3_h100_host_is_derived_by_ccfs_method_and_the_card_added():
    # Issue 23: an H100 run's embodied carbon used to raise "unknown accelerator-optimised".
    result = embodied_emissions("a3-highgpu-1g", "NVIDIA_H100_80GB", 1, ONE_HOUR)
    host_kg = 1000 + (1872 - 16) * PER_GB + 100  # host a3-highgpu-8g, 1872 GB
    assert result.host_kgco2e == pytest.approx(host_kg, abs=0.01)
    assert result.host_vcpus == 208 and result.vcpus == 26
    assert result.server_g == pytest.approx(host_kg * 1e3 / LIFETIME_H * 26 / 208, rel=1e-5)
    assert result.gpu_g == pytest.approx(150 * 1e3 / LIFETIME_H)
    assert "derived by CCF's method" in result.note


@pytest.mark.parametrize(
    ("machine_type", "accelerator", "count"),
    [
        ("g2-standard-8", "NVIDIA_L4", 1),
        ("cloud-tpu", "TPU_V3", 8),
        ("ct5lp-hightpu-4t", "TPU_V5_LITEPOD", 4),
        ("a4-highgpu-8g", "NVIDIA_B200", 8),
        ("a4x-highgpu-4g", "NVIDIA_GB200", 4),
        ("c3-standard-4", "", 0),
        ("m1-ultramem-40", "", 0),
    ],
)
def test_tpus_g2_and_newer_families_are_estimated_not_left_out(machine_type, accelerator, count):
    result = embodied_emissions(machine_type, accelerator, count, ONE_HOUR)
    assert result.method == "ccf-sci" and result.server_g > 0
    assert (result.gpu_g > 0) == bool(count)
    assert result.host_vcpus >= result.vcpus


def test_tpu_v3_is_counted_per_tensorcore():
    result = embodied_emissions("cloud-tpu", "TPU_V3", 8, ONE_HOUR)
    assert result.gpu_g == pytest.approx(8 * 75 * 1e3 / LIFETIME_H)  # 150 kg per chip / 2 cores
    assert "stand-in" in result.note


def test_orchestration_share_of_an_e2_standard_4():
    # e2-standard: CCF 1230.46 kg per 32-vCPU host; 4 vCPUs for 2 h.
    assert embodied_share_g("e2-standard-4", 2.0) == pytest.approx(
        1230.46e3 * 2 / LIFETIME_H * 4 / 32
    )
    with pytest.raises(ValueError, match="duration"):
        embodied_share_g("e2-standard-4", -1.0)


def test_lifetime_and_duration_are_checked():
    assert share_of_lifetime(4 * 8760 * 3600, 4) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="lifetime"):
        share_of_lifetime(1.0, 0)
    with pytest.raises(ValueError, match="duration"):
        share_of_lifetime(-1.0, 4)
    with pytest.raises(ValueError, match="is not a machine type Vertex AI custom training"):
        machine_vcpus("custom")


def test_every_catalogue_machine_has_a_host_figure():
    for name in catalogue.load_machine_types():
        profile = host_profile(name)
        assert profile.total_kgco2e >= 1000 and profile.host_vcpus > 0, name
        assert profile.how, name
