import pytest

from carbon_aware.footprint.embodied import (
    GPU_EMBODIED_KGCO2E,
    HOST_PROFILES,
    embodied_emissions,
    machine_vcpus,
    share_of_lifetime,
)

ONE_HOUR = 3600.0
LIFETIME_H = 4 * 8760


def test_server_share_follows_ccf_time_and_vcpu_shares():
    result = embodied_emissions("n1-standard-4", "", 0, ONE_HOUR)
    # CCF n1-standard: 1677.48 kgCO2e per host, largest n1 machine has 96 vCPUs, 4-year life.
    assert result.embodied_g == pytest.approx(1677.48e3 * (1 / LIFETIME_H) * (4 / 96))
    assert result.method == "ccf-sci" and result.gpu_g == 0
    assert (result.vcpus, result.host_vcpus, result.host_kgco2e) == (4, 96, 1677.48)


def test_attached_gpus_add_a_whole_card_each():
    result = embodied_emissions("n1-standard-8", "NVIDIA_TESLA_T4", 2, ONE_HOUR)
    assert result.gpu_g == pytest.approx(2 * GPU_EMBODIED_KGCO2E * 1e3 / LIFETIME_H)
    assert result.embodied_g == pytest.approx(result.server_g + result.gpu_g)


def test_a2_gpus_are_in_the_host_figure_and_not_added_twice():
    result = embodied_emissions("a2-highgpu-1g", "NVIDIA_TESLA_A100", 1, ONE_HOUR)
    assert result.gpu_g == 0 and result.vcpus == 12
    assert result.server_g == pytest.approx(5465.5e3 / LIFETIME_H * 12 / 96)
    assert "A2" in result.note


def test_unknown_family_and_tpus_are_labelled_not_estimated():
    result = embodied_emissions("g2-standard-8", "TPU_V3", 8, ONE_HOUR)
    assert result.method == "not-estimated" and result.embodied_g == 0
    assert "g2-standard-8" in result.note and "TPU_V3" in result.note


def test_lifetime_and_duration_are_checked():
    assert share_of_lifetime(4 * 8760 * 3600, 4) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="lifetime"):
        share_of_lifetime(1.0, 0)
    with pytest.raises(ValueError, match="duration"):
        share_of_lifetime(-1.0, 4)
    with pytest.raises(ValueError, match="vCPU count"):
        machine_vcpus("custom")


def test_host_profiles_are_positive():
    for profile in HOST_PROFILES.values():
        assert profile.total_kgco2e >= 1000 and profile.host_vcpus > 0
