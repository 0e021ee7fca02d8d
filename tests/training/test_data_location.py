"""Where the training data lives, read from (emulated) Cloud Storage; residency refused early."""

import pytest
from storage_emulator import make_bucket, storage_emulator

from carbon_aware.report.markdown import training_lines
from carbon_aware.training.data_location import (
    DataResidencyError,
    check_data_residency,
    locate_data,
    storage_regions,
)


@pytest.fixture(scope="module")
def buckets():
    with storage_emulator():
        make_bucket("data-fi", "europe-north1")
        make_bucket("data-iowa", "us-central1")
        make_bucket("data-eu", "EU")
        yield


def test_a_regional_bucket_is_located_and_a_cross_region_read_flagged(buckets):
    found = locate_data("gs://data-iowa/train.csv")
    assert found.location == "us-central1" and found.residency_groups == ("us",)
    block = found.to_dict("europe-north1")
    assert block["outside_chosen_region"] is True
    lines = training_lines({"data": block}, {})
    assert any("Data read from another region" in line for line in lines)
    assert (
        locate_data("gs://data-fi/x.csv").to_dict("europe-north1")["outside_chosen_region"] is False
    )


def test_data_outside_the_residency_group_is_refused_naming_the_uri(buckets):
    with pytest.raises(
        DataResidencyError, match=r"data_uri gs://data-iowa/t\.csv is stored in 'us-central1'"
    ):
        check_data_residency("gs://data-iowa/t.csv", "eu")
    assert check_data_residency("gs://data-fi/t.csv", "eu").location == "europe-north1"
    assert check_data_residency("gs://data-eu/t.csv", "eu").location == "eu"


def test_nothing_to_check_without_residency_or_for_local_data(buckets):
    assert check_data_residency("gs://data-iowa/t.csv", "") is None
    assert check_data_residency("/tmp/local.csv", "eu") is None
    assert locate_data("").location == "local"


def test_multi_and_dual_regions_map_to_their_regions():
    assert "europe-north1" in storage_regions("EUR4")
    assert storage_regions("US")[0] == "us-central1"
    assert storage_regions("mars-1") == ()
