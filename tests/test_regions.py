"""Unit tests for the bundled Vertex AI region catalogue (carbon_aware.regions)."""

from __future__ import annotations

import csv
import dataclasses
import re
from importlib import resources

import pytest

from carbon_aware import regions
from carbon_aware.regions import (
    RESIDENCY_GROUPS,
    VERTEX_ACCELERATOR_TYPES,
    Region,
    UnknownRegionError,
    get_region,
    load_catalogue,
    regions_in_group,
    validate_regions,
)

ZONE_KEY = re.compile(r"^[A-Z]{2}(-[A-Z0-9]+)*$")
WATTTIME_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Vertex training regions known to be absent from Google's 2024 file (none today). A region
# listed here must say so in the notes column of regions.csv.
EXPECTED_MISSING_FROM_GOOGLE_2024: frozenset[str] = frozenset()
# EU member states plus the EEA states Iceland, Liechtenstein and Norway.
EU_EEA = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
    }
)
PREFIX_GROUPS = {
    "us-": {"us"},
    "northamerica-": {"americas"},
    "southamerica-": {"americas"},
    "europe-": {"eu", "europe"},
    "asia-": {"asia"},
    "australia-": {"australia"},
    "me-": {"middle-east"},
    "africa-": {"africa"},
}


def read_data_csv(filename: str) -> list[dict[str, str]]:
    """Rows of a CSV shipped in carbon_aware/data."""
    text = resources.files("carbon_aware").joinpath("data", filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def header_of(filename: str) -> list[str]:
    """The header row of a CSV shipped in carbon_aware/data."""
    text = resources.files("carbon_aware").joinpath("data", filename).read_text(encoding="utf-8")
    return next(csv.reader(text.splitlines()))


# --- the data files ----------------------------------------------------------------------------


def test_csv_headers_are_exact() -> None:
    assert header_of("regions.csv") == [
        "region",
        "location",
        "country_iso2",
        "residency_group",
        "electricity_maps_zone",
        "watttime_region",
        "zone_source",
        "notes",
    ]
    assert header_of("vertex_accelerators.csv") == ["region", "accelerator_type", "source"]


def test_catalogue_matches_regions_csv_one_to_one() -> None:
    rows = read_data_csv("regions.csv")
    ids = [row["region"] for row in rows]
    assert len(ids) == len(set(ids)), "duplicate rows in regions.csv"
    catalogue = load_catalogue()
    assert list(catalogue) == sorted(ids)
    assert len(catalogue) >= 30
    assert all(name == region.region for name, region in catalogue.items())


def test_every_region_joins_to_google_2024_or_is_expected_missing() -> None:
    google = {row["Google Cloud Region"] for row in read_data_csv("google_region_carbon_2024.csv")}
    notes = {row["region"]: row["notes"] for row in read_data_csv("regions.csv")}
    for name, region in load_catalogue().items():
        if name in EXPECTED_MISSING_FROM_GOOGLE_2024:
            assert name not in google
            assert region.annual_gco2e_per_kwh is None
            assert "google" in notes[name].lower()
        else:
            assert name in google, f"{name} missing from google_region_carbon_2024.csv"
            assert region.annual_gco2e_per_kwh is not None
            assert 0 < region.annual_gco2e_per_kwh < 1500
            if region.google_cfe_fraction is not None:
                assert 0 <= region.google_cfe_fraction <= 1


def test_google_values_are_joined_by_region_id() -> None:
    belgium = get_region("europe-west1")
    assert belgium.annual_gco2e_per_kwh == pytest.approx(103.37)
    assert belgium.google_cfe_fraction == pytest.approx(0.84)
    assert get_region("us-east4").annual_gco2e_per_kwh == pytest.approx(323.05)


def test_zone_keys_are_well_formed_and_in_the_right_country() -> None:
    for name, region in load_catalogue().items():
        assert region.electricity_maps_zone, name
        assert ZONE_KEY.match(region.electricity_maps_zone), (name, region.electricity_maps_zone)
        assert re.fullmatch(r"[A-Z]{2}", region.country_iso2), name
        # Every zone key used here starts with the ISO code of its country.
        assert region.electricity_maps_zone.split("-")[0] == region.country_iso2, name
        assert region.zone_source.strip(), f"{name} has no zone_source"
        assert region.location.strip(), name


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("europe-west1", "BE"),
        ("us-central1", "US-MIDW-MISO"),
        ("us-east4", "US-MIDA-PJM"),
        ("us-west1", "US-NW-BPAT"),
        ("europe-north1", "FI"),
        ("northamerica-northeast1", "CA-QC"),
        ("northamerica-northeast2", "CA-ON"),
        ("europe-west2", "GB"),
    ],
)
def test_reference_zone_mappings(name: str, zone: str) -> None:
    assert get_region(name).electricity_maps_zone == zone


def test_us_east4_is_in_the_united_states() -> None:
    region = get_region("us-east4")
    assert region.country_iso2 == "US"
    assert region.electricity_maps_zone.startswith("US-")
    assert region.residency_group == "us"


def test_us_regions_are_all_on_us_zones() -> None:
    for region in load_catalogue().values():
        is_us = region.region.startswith("us-")
        assert (region.country_iso2 == "US") == is_us, region.region
        assert region.electricity_maps_zone.startswith("US-") == is_us, region.region


def test_watttime_regions_are_blank_or_abbreviations() -> None:
    for region in load_catalogue().values():
        if region.watttime_region is not None:
            assert WATTTIME_KEY.match(region.watttime_region), region.region
    assert get_region("us-west1").watttime_region == "BPA"
    assert get_region("europe-west1").watttime_region is None


# --- residency groups --------------------------------------------------------------------------


def test_residency_groups_are_from_the_allowed_set_and_match_the_region_prefix() -> None:
    assert set(RESIDENCY_GROUPS) == {
        "us",
        "americas",
        "eu",
        "europe",
        "asia",
        "australia",
        "middle-east",
        "africa",
    }
    for name, region in load_catalogue().items():
        assert region.residency_group in RESIDENCY_GROUPS, name
        allowed = next(
            groups for prefix, groups in PREFIX_GROUPS.items() if name.startswith(prefix)
        )
        assert region.residency_group in allowed, name


def test_eu_group_holds_only_eu_eea_countries_and_europe_only_non_eu() -> None:
    for region in load_catalogue().values():
        if region.residency_group == "eu":
            assert region.country_iso2 in EU_EEA, region.region
        if region.region.startswith("europe-") and region.country_iso2 not in EU_EEA:
            assert region.residency_group == "europe", region.region


@pytest.mark.parametrize("name", ["europe-west2", "europe-west6"])
def test_london_and_zurich_are_not_eu(name: str) -> None:
    assert get_region(name).residency_group == "europe"
    assert name not in regions_in_group("eu")
    assert name in regions_in_group("europe")


def test_regions_in_group_partitions_the_catalogue() -> None:
    seen: list[str] = []
    for group in RESIDENCY_GROUPS:
        members = regions_in_group(group)
        assert members, f"group {group} is empty"
        assert members == sorted(members)
        seen.extend(members)
    assert sorted(seen) == sorted(load_catalogue())
    assert "europe-west1" in regions_in_group("eu")


def test_unknown_group_lists_the_valid_groups() -> None:
    with pytest.raises(ValueError, match="unknown residency group 'emea'") as info:
        regions_in_group("emea")
    for group in RESIDENCY_GROUPS:
        assert group in str(info.value)


# --- look-up and validation --------------------------------------------------------------------


def test_get_region_returns_a_frozen_region() -> None:
    region = get_region(" europe-west1 ")
    assert isinstance(region, Region)
    assert region.region == "europe-west1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        region.region = "x"  # type: ignore[misc]


def test_unknown_region_error_lists_valid_regions_and_suggests() -> None:
    with pytest.raises(UnknownRegionError) as info:
        get_region("europe-west99")
    error = info.value
    assert isinstance(error, ValueError)
    message = str(error)
    assert message.startswith("unknown region 'europe-west99'")
    assert "did you mean 'europe-west9'?" in message
    listed = message.split("valid regions: ", 1)[1].split(", ")
    assert listed == sorted(load_catalogue())
    assert error.suggestions == {"europe-west99": "europe-west9"}
    assert error.unknown == ("europe-west99",)


def test_unknown_region_without_a_close_match_has_no_suggestion() -> None:
    with pytest.raises(UnknownRegionError) as info:
        get_region("mars")
    assert "did you mean" not in str(info.value)
    assert info.value.suggestions == {"mars": None}


def test_validate_regions_strips_and_keeps_order() -> None:
    assert validate_regions([" us-central1", "europe-west4 ", "asia-east1"]) == [
        "us-central1",
        "europe-west4",
        "asia-east1",
    ]
    assert validate_regions(name for name in ["europe-north1"]) == ["europe-north1"]


def test_validate_regions_names_all_unknown_regions_at_once() -> None:
    with pytest.raises(UnknownRegionError) as info:
        validate_regions(["us-cental1", "europe-west1", "nowhere-1"])
    message = str(info.value)
    assert message.startswith("unknown regions ")
    assert "'us-cental1' (did you mean 'us-central1'?)" in message
    assert "'nowhere-1'" in message
    assert info.value.unknown == ("us-cental1", "nowhere-1")
    assert "valid regions: africa-south1, " in message


def test_validate_regions_refuses_an_empty_list() -> None:
    with pytest.raises(ValueError, match="no regions given"):
        validate_regions([])


def test_validate_regions_refuses_duplicates_and_names_them() -> None:
    with pytest.raises(ValueError, match="duplicate regions: 'us-central1'") as info:
        validate_regions(["us-central1", "europe-west1", " us-central1"])
    assert not isinstance(info.value, UnknownRegionError)


def test_validate_regions_refuses_blank_names_and_bare_strings() -> None:
    with pytest.raises(ValueError, match="blank region id"):
        validate_regions(["us-central1", "  "])
    with pytest.raises(TypeError, match="list of region ids"):
        validate_regions("us-central1")


# --- accelerators ------------------------------------------------------------------------------


def test_accelerator_rows_are_known_enum_names_in_known_regions() -> None:
    rows = read_data_csv("vertex_accelerators.csv")
    assert rows
    catalogue = load_catalogue()
    pairs = [(row["region"], row["accelerator_type"]) for row in rows]
    assert len(pairs) == len(set(pairs)), "duplicate accelerator rows"
    for row in rows:
        assert row["region"] in catalogue, row
        assert row["accelerator_type"] in VERTEX_ACCELERATOR_TYPES, row
        assert "vertex-ai/docs/general/locations" in row["source"], row
    for region in catalogue.values():
        assert region.accelerators <= VERTEX_ACCELERATOR_TYPES, region.region
        expected = {kind for name, kind in pairs if name == region.region}
        assert region.accelerators == expected, region.region


def test_accelerator_spot_checks() -> None:
    assert {"NVIDIA_TESLA_T4", "TPU_V2", "NVIDIA_L4"} <= get_region("us-central1").accelerators
    assert "TPU_V3" in get_region("europe-west4").accelerators
    # L4 in europe-west6 and T4 in me-west1 are serving-only (not for training).
    assert get_region("europe-west6").accelerators == frozenset()
    assert "NVIDIA_TESLA_T4" not in get_region("me-west1").accelerators


def test_accelerator_names_exist_in_the_vertex_sdk_enum() -> None:
    types = pytest.importorskip("google.cloud.aiplatform_v1.types.accelerator_type")
    sdk_names = {member.name for member in types.AcceleratorType}
    assert sdk_names >= VERTEX_ACCELERATOR_TYPES


def test_catalogue_regions_are_supported_by_the_vertex_sdk() -> None:
    constants = pytest.importorskip("google.cloud.aiplatform.constants.base")
    assert set(load_catalogue()) <= set(constants.SUPPORTED_REGIONS)


# --- provenance --------------------------------------------------------------------------------


def test_annual_data_provenance_constants() -> None:
    assert regions.ANNUAL_DATA_YEAR == 2024
    assert "google_region_carbon_2024.csv" in regions.ANNUAL_DATA_SOURCE
    assert "GoogleCloudPlatform/region-carbon-info" in regions.ANNUAL_DATA_SOURCE
    assert "Apache-2.0" in regions.ANNUAL_DATA_SOURCE


def test_audit_file_ships_with_the_data() -> None:
    audit = resources.files("carbon_aware").joinpath("data", "REGIONS.md").read_text("utf-8")
    assert "electricitymaps" in audit.lower()
    assert "vertex-ai/docs/general/locations" in audit
