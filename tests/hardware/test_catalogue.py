"""The one machine catalogue: shapes, machine/accelerator pairs, regions, and sourced figures."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from carbon_aware.hardware import catalogue, figures, power_data
from carbon_aware.regions import VERTEX_ACCELERATOR_TYPES, load_catalogue

DATA = Path(__file__).resolve().parents[2] / "carbon_aware" / "data"


def test_shapes_the_old_tables_disagreed_on_are_the_compute_engine_ones():
    # a2-megagpu-16g: 96 vCPUs, 1360 GB (one old table said 192 vCPUs).
    mega = catalogue.machine("a2-megagpu-16g")
    assert (mega.vcpus, mega.memory_gb, mega.family) == (96, 1360.0, "a2")
    h100 = catalogue.machine("a3-highgpu-1g")
    assert (h100.vcpus, h100.memory_gb, h100.series) == (26, 234.0, "a3-highgpu")
    assert catalogue.machine("c3-standard-4").vcpus == 4


@pytest.mark.parametrize(
    "name",
    ["a3-highgpu-2g", "a3-highgpu-4g", "a3-highgpu-8g", "a3-megagpu-8g", "a3-ultragpu-8g",
     "a3-edgegpu-8g", "a4-highgpu-8g", "a4x-highgpu-4g", "g2-standard-96", "ct5lp-hightpu-4t",
     "cloud-tpu", "m1-ultramem-40", "c2-standard-60", "c2d-standard-4", "n2d-standard-4"],
)  # fmt: skip
def test_every_family_vertex_lists_is_in_the_catalogue(name):
    spec = catalogue.machine(name)
    assert spec.vcpus > 0 and spec.memory_gb > 0 and spec.source


def test_an_unknown_machine_type_is_refused_naming_the_families():
    with pytest.raises(catalogue.UnknownMachineTypeError) as err:
        catalogue.machine("z9-huge-4")
    message = str(err.value)
    for family in ("n1", "e2", "n2", "c2", "c3", "m1", "a2", "a3", "a4", "g2", "ct5lp"):
        assert re.search(rf"\b{family}\b", message), family
    with pytest.raises(ValueError, match=r"n1 types: n1-highmem-2, n1-standard-4"):
        catalogue.machine("n1-standard-2")


def test_every_accelerator_with_a_machine_is_a_vertex_enum_value_with_power():
    for name in catalogue.accelerator_types():
        assert name in VERTEX_ACCELERATOR_TYPES, name
        assert name in power_data.ACCELERATOR_POWER, name
    # GB200 is in the region and power tables: some machine now takes it (a4x-highgpu-4g).
    assert "NVIDIA_GB200" in catalogue.accelerator_types()


def test_every_accelerator_vertex_offers_somewhere_attaches_to_some_machine():
    offered = {a for region in load_catalogue().values() for a in region.accelerators}
    assert offered <= set(catalogue.accelerator_types())


@pytest.mark.parametrize(
    ("machine_type", "accelerator", "count", "message"),
    [
        ("e2-standard-4", "NVIDIA_TESLA_T4", 1,
         r"NVIDIA_TESLA_T4 cannot be attached to machine_type e2-standard-4: NVIDIA_TESLA_T4 "
         r"needs an N1 machine \(n1-\*\) with 1, 2 or 4 of them"),
        ("n1-standard-4", "NVIDIA_H100_80GB", 1,
         r"NVIDIA_H100_80GB cannot be attached to machine_type n1-standard-4: NVIDIA_H100_80GB "
         r"needs one of a3-highgpu-1g \(x1\), a3-highgpu-2g \(x2\)"),
        ("n1-standard-4", "NVIDIA_TESLA_A100", 1, r"needs one of a2-highgpu-1g \(x1\)"),
        ("a2-highgpu-1g", "NVIDIA_A100_80GB", 1, r"needs one of a2-ultragpu-1g \(x1\)"),
        ("a3-highgpu-8g", "NVIDIA_H200_141GB", 8, r"needs one of a3-ultragpu-8g \(x8\)"),
        ("a3-highgpu-8g", "NVIDIA_B200", 8, r"needs one of a4-highgpu-8g \(x8\)"),
        ("n1-standard-8", "NVIDIA_L4", 1, r"needs one of g2-standard-4 \(x1\)"),
        ("g2-standard-8", "NVIDIA_TESLA_T4", 1, r"needs an N1 machine"),
        ("n1-standard-4", "TPU_V3", 8, r"needs one of cloud-tpu \(x8\)"),
        ("e2-standard-4", "NVIDIA_TESLA_V100", 1, r"needs an N1 machine"),
        ("a3-highgpu-1g", "NVIDIA_H100_80GB", 2,
         r"accelerator_count 2 x NVIDIA_H100_80GB does not fit machine_type a3-highgpu-1g: "
         r"it takes 1"),
        ("g2-standard-24", "NVIDIA_L4", 1, r"g2-standard-24: it takes 2"),
        ("n1-standard-4", "NVIDIA_TESLA_T4", 3, r"n1-standard-4: it takes 1, 2 or 4"),
        ("n1-standard-64", "NVIDIA_TESLA_T4", 1,
         r"1 x NVIDIA_TESLA_T4 allows at most 48 vCPUs, but machine_type n1-standard-64 has 64"),
        ("n1-standard-16", "NVIDIA_TESLA_V100", 1, r"allows at most 12 vCPUs"),
        ("a3-highgpu-1g", "", 0,
         r"machine_type a3-highgpu-1g comes with its accelerators: set "
         r"accelerator_type=NVIDIA_H100_80GB accelerator_count=1"),
        ("n1-standard-4", "TPU_V4_POD", 4, r"'TPU_V4_POD' is not taken by any machine type"),
    ],
)  # fmt: skip
def test_impossible_pairs_are_refused_naming_machine_accelerator_and_need(
    machine_type, accelerator, count, message
):
    with pytest.raises(ValueError, match=message):
        catalogue.check_accelerator(machine_type, accelerator, count)


@pytest.mark.parametrize(
    ("machine_type", "accelerator", "count"),
    [
        ("n1-standard-4", "", 0),
        ("e2-standard-4", "ACCELERATOR_TYPE_UNSPECIFIED", 0),
        ("n1-standard-4", "NVIDIA_TESLA_T4", 1),
        ("n1-standard-8", "NVIDIA_TESLA_T4", 2),
        ("n1-standard-96", "NVIDIA_TESLA_T4", 4),
        ("n1-standard-8", "NVIDIA_TESLA_V100", 1),
        ("n1-highmem-8", "NVIDIA_TESLA_P100", 1),
        ("n1-standard-4", "NVIDIA_TESLA_P4", 1),
        ("a2-highgpu-1g", "NVIDIA_TESLA_A100", 1),
        ("a2-megagpu-16g", "NVIDIA_TESLA_A100", 16),
        ("a2-ultragpu-8g", "NVIDIA_A100_80GB", 8),
        ("a3-highgpu-1g", "NVIDIA_H100_80GB", 1),
        ("a3-highgpu-8g", "NVIDIA_H100_80GB", 8),
        ("a3-megagpu-8g", "NVIDIA_H100_MEGA_80GB", 8),
        ("a3-ultragpu-8g", "NVIDIA_H200_141GB", 8),
        ("a4-highgpu-8g", "NVIDIA_B200", 8),
        ("a4x-highgpu-4g", "NVIDIA_GB200", 4),
        ("g2-standard-8", "NVIDIA_L4", 1),
        ("g2-standard-48", "NVIDIA_L4", 4),
        ("g4-standard-48", "NVIDIA_RTX_PRO_6000", 1),
        ("cloud-tpu", "TPU_V2", 8),
        ("cloud-tpu", "TPU_V3", 8),
        ("ct5lp-hightpu-4t", "TPU_V5_LITEPOD", 4),
    ],
)
def test_good_pairs_are_accepted(machine_type, accelerator, count):
    catalogue.check_accelerator(machine_type, accelerator, count)


def test_v100_on_n1_standard_8_is_within_its_12_vcpu_limit_only_from_two_cards():
    with pytest.raises(ValueError, match="allows at most 12 vCPUs"):
        catalogue.check_accelerator("n1-standard-16", "NVIDIA_TESLA_V100", 1)
    catalogue.check_accelerator("n1-standard-16", "NVIDIA_TESLA_V100", 2)


def test_machine_availability_per_region():
    regions = load_catalogue()
    # europe-west9 (the dev config's cleanest region) lists no N1 for training.
    why = catalogue.unavailable_reason(
        "n1-standard-4", "europe-west9", regions["europe-west9"].accelerators
    )
    assert why is not None and "N1" in why
    assert (
        catalogue.unavailable_reason(
            "n1-standard-4", "europe-west1", regions["europe-west1"].accelerators
        )
        is None
    )
    # A3 comes with H100: offered only where Vertex offers the H100 for training.
    assert (
        catalogue.unavailable_reason(
            "a3-highgpu-1g", "europe-west4", regions["europe-west4"].accelerators
        )
        is None
    )
    why = catalogue.unavailable_reason(
        "a3-highgpu-1g", "europe-north1", regions["europe-north1"].accelerators
    )
    assert why is not None and "NVIDIA_H100_80GB" in why
    # N2 is not listed region by region: not checked, and said so.
    assert not catalogue.regions_checked("n2-standard-4")
    assert catalogue.regions_checked("n1-standard-4") and catalogue.regions_checked("g2-standard-4")


def test_family_region_rows_name_catalogue_regions_and_families():
    regions = load_catalogue()
    with (DATA / "machine_family_regions.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            assert row["region"] in regions and row["family"] in catalogue.family_names()
            assert row["source"]


def test_every_data_row_has_a_source():
    for name in ("machine_types.csv", "machine_accelerators.csv", "machine_family_regions.csv"):
        with (DATA / name).open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                assert row["source"].strip(), (name, row)


def test_every_power_embodied_figure_has_a_source_and_derived_ones_say_how():
    table = figures.load_figures()
    assert len(table) > 50
    for item in table.values():
        assert item.source and item.page and item.date, item.key
        assert item.quantity in figures.QUANTITIES and item.basis in figures.BASES, item.key
        if item.basis == "derived":
            assert item.derivation, item.key
    # Every accelerator with power has embodied, and both its idle and max figure.
    for name in power_data.ACCELERATOR_POWER:
        assert figures.maybe(f"embodied.accelerator_kgco2e.{name}") is not None, name


def test_a_figure_without_a_source_fails_the_load(monkeypatch, tmp_path):
    original = (DATA / figures.FIGURES_FILE).read_text(encoding="utf-8")
    broken = original.replace("read 2026-12-06", "", 1)  # the first row loses its date
    package = tmp_path / "carbon_aware" / "data"
    package.mkdir(parents=True)
    (package / figures.FIGURES_FILE).write_text(broken, encoding="utf-8")

    class Files:
        def joinpath(self, *parts):
            return tmp_path.joinpath("carbon_aware", *parts)

    monkeypatch.setattr(figures.resources, "files", lambda _package: Files())
    figures.load_figures.cache_clear()
    try:
        with pytest.raises(ValueError, match="no source, page or date"):
            figures.load_figures()
    finally:
        figures.load_figures.cache_clear()


def test_pue_figures_have_their_provenance():
    # PUE lives in google_pue.csv (footprint/pue.py); its provenance file names the source.
    provenance = (DATA / "PUE_PROVENANCE.md").read_text(encoding="utf-8")
    assert "Source:" in provenance and "google.com/about/datacenters/efficiency" in provenance
    with (DATA / "google_pue.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            assert 1.0 <= float(row["ttm_pue"]) < 2.0 and row["campus"], row
