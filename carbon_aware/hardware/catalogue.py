"""The one machine catalogue: each machine type Vertex AI custom training takes, and its GPUs/TPUs.

Data (``carbon_aware/data``, provenance in ``data/MACHINES.md``):

* ``machine_types.csv``: one row per machine type: family, vCPUs, memory (GB), source.
* ``machine_accelerators.csv``: which accelerators, how many, each machine takes. A row names
  one machine type (A2, A3, A4, A4X, G2, G4 and TPU hosts come with a fixed count) or a whole
  family (``n1``: T4, P4, P100 and V100 attach to any N1 type up to ``max_vcpus``).
* ``machine_families.csv``: each family's CPU microarchitectures (for the CPU power bounds).
* ``machine_family_regions.csv``: regions offering a general-purpose family for training, for
  the families the catalogue lists per region. A type with a fixed accelerator is offered where
  Vertex AI offers that accelerator for training (``vertex_accelerators.csv``).

Energy, embodied carbon, doctor, the parameter checks and choose-region all read this module.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from carbon_aware.hardware import figures

NO_ACCELERATOR = "ACCELERATOR_TYPE_UNSPECIFIED"
_SIZE = re.compile(r"-\d+[a-z]?$")


@dataclass(frozen=True)
class AcceleratorSlot:
    """One accelerator a machine takes: the type, the count and (N1) the vCPU limit for it."""

    accelerator_type: str
    count: int
    max_vcpus: int | None
    source: str


@dataclass(frozen=True)
class MachineType:
    """One Compute Engine machine type Vertex AI custom training takes.

    Attributes:
        name: e.g. ``a3-highgpu-1g``.
        family: e.g. ``a3``.
        series: The name without its size, e.g. ``a3-highgpu`` (CCF's embodied figures are
            per series).
        vcpus: vCPUs.
        memory_gb: Memory, GB.
        source: Where the shape comes from.
        accelerators: What it takes (fixed types list their own; N1 lists the family's).
    """

    name: str
    family: str
    series: str
    vcpus: int
    memory_gb: float
    source: str
    accelerators: tuple[AcceleratorSlot, ...]

    @property
    def fixed_accelerator(self) -> bool:
        """Whether the type comes with its accelerator (A2, A3, A4, A4X, G2, G4, TPU hosts)."""
        return bool(self.accelerators) and all(s.max_vcpus is None for s in self.accelerators)


@dataclass(frozen=True)
class MachineFamily:
    """A machine family and its CPUs."""

    family: str
    description: str
    cpu_microarchitectures: tuple[str, ...]
    cpu_source: str


@dataclass(frozen=True)
class CpuPower:
    """Per-vCPU power of a machine's CPUs, W: CCF's min/max for the point estimate, and bounds."""

    min_watts_per_vcpu: float
    max_watts_per_vcpu: float
    low_watts_per_vcpu: float
    high_watts_per_vcpu: float
    source: str


class UnknownMachineTypeError(ValueError):
    """A machine type the catalogue does not list."""


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("carbon_aware").joinpath("data", filename).read_text("utf-8")
    return [
        {k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))
    ]


def series_of(machine_type: str) -> str:
    """``a3-highgpu-1g`` -> ``a3-highgpu``; ``cloud-tpu`` stays as it is."""
    return _SIZE.sub("", machine_type)


@functools.cache
def load_families() -> dict[str, MachineFamily]:
    """Every machine family by name (cached)."""
    return {
        row["family"]: MachineFamily(
            row["family"],
            row["description"],
            tuple(a for a in row["cpu_microarchitectures"].split(";") if a),
            row["cpu_source"],
        )
        for row in _rows("machine_families.csv")
    }


@functools.cache
def load_machine_types() -> dict[str, MachineType]:
    """Every machine type by name (cached).

    Raises:
        ValueError: Inconsistent data: a duplicate type, an unknown family, an accelerator row
            for a machine or family the catalogue does not list.
    """
    families = load_families()
    slots: dict[str, list[AcceleratorSlot]] = {}
    for row in _rows("machine_accelerators.csv"):
        max_vcpus = int(row["max_vcpus"]) if row["max_vcpus"] else None
        slot = AcceleratorSlot(
            row["accelerator_type"], int(row["accelerator_count"]), max_vcpus, row["source"]
        )
        slots.setdefault(row["machine"], []).append(slot)
    types: dict[str, MachineType] = {}
    for row in _rows("machine_types.csv"):
        name, family = row["machine_type"], row["family"]
        if name in types:
            raise ValueError(f"machine_types.csv: duplicate machine type {name!r}")
        if family not in families:
            raise ValueError(f"machine_types.csv: {name}: unknown family {family!r}")
        own = slots.get(name, []) + (slots.get(family, []) if family != name else [])
        types[name] = MachineType(
            name,
            family,
            series_of(name),
            int(row["vcpus"]),
            float(row["memory_gb"]),
            row["source"],
            tuple(own),
        )
    stray = sorted(set(slots) - set(types) - set(families))
    if stray:
        raise ValueError(f"machine_accelerators.csv: not in the catalogue: {stray}")
    return types


def family_names() -> tuple[str, ...]:
    """The families, in catalogue order."""
    return tuple(load_families())


def machine(machine_type: str) -> MachineType:
    """The catalogue entry for ``machine_type``.

    Raises:
        UnknownMachineTypeError: Not a machine type Vertex AI custom training takes; the message
            names the families and, where the family is known, its types.
    """
    types = load_machine_types()
    if machine_type in types:
        return types[machine_type]
    family = machine_type.split("-", 1)[0]
    same = sorted((t for t in types.values() if t.family == family), key=lambda t: t.vcpus)
    hint = (
        f"; {family} types: {', '.join(t.name for t in same)}"
        if same
        else f"; families: {', '.join(family_names())}"
    )
    raise UnknownMachineTypeError(
        f"machine_type {machine_type!r} is not a machine type Vertex AI custom training takes"
        f"{hint} (see carbon_aware/data/machine_types.csv)"
    )


def accelerator_types() -> tuple[str, ...]:
    """Accelerators some machine type takes, sorted."""
    return tuple(
        sorted({s.accelerator_type for t in load_machine_types().values() for s in t.accelerators})
    )


def _counts(counts: Iterable[int]) -> str:
    items = sorted(set(counts))
    return ", ".join(map(str, items[:-1])) + (" or " if len(items) > 1 else "") + str(items[-1])


def accelerator_needs(accelerator_type: str) -> str:
    """What ``accelerator_type`` needs, in words: the machines and counts that take it."""
    types = load_machine_types().values()
    fixed = [
        (t.name, s.count)
        for t in types
        for s in t.accelerators
        if s.accelerator_type == accelerator_type and s.max_vcpus is None
    ]
    by_family: dict[str, list[AcceleratorSlot]] = {}
    for t in types:
        for s in t.accelerators:
            if s.accelerator_type == accelerator_type and s.max_vcpus is not None:
                by_family.setdefault(t.family, [])
                if s not in by_family[t.family]:
                    by_family[t.family].append(s)
    parts = [
        f"an {family.upper()} machine ({family}-*) with {_counts(s.count for s in found)} of "
        f"them ({'; '.join(f'{s.count}: up to {s.max_vcpus} vCPUs' for s in found)})"
        for family, found in by_family.items()
    ]
    if fixed:
        parts.append(
            "one of "
            + ", ".join(f"{name} (x{count})" for name, count in fixed)
            + ", each with that fixed count"
        )
    return " or ".join(parts) if parts else "no machine type Vertex AI custom training takes"


def check_accelerator(machine_type: str, accelerator_type: str, accelerator_count: int) -> None:
    """Refuses a machine/accelerator pair Vertex AI would reject.

    Args:
        machine_type: A catalogue machine type.
        accelerator_type: A Vertex accelerator name; empty or ``ACCELERATOR_TYPE_UNSPECIFIED``
            for none.
        accelerator_count: How many.

    Raises:
        UnknownMachineTypeError: Unknown machine type.
        ValueError: The pair does not fit, naming the machine, the accelerator and what the
            accelerator needs (or what the machine comes with).
    """
    spec = machine(machine_type)
    kind = accelerator_type.strip()
    if kind in ("", NO_ACCELERATOR):
        if spec.fixed_accelerator:
            offers = " or ".join(
                f"accelerator_type={s.accelerator_type} accelerator_count={s.count}"
                for s in spec.accelerators
            )
            raise ValueError(
                f"machine_type {machine_type} comes with its accelerators: set {offers}"
            )
        return
    if kind not in accelerator_types():
        raise ValueError(
            f"accelerator_type {kind!r} is not taken by any machine type Vertex AI custom "
            f"training offers; allowed: {', '.join(accelerator_types())}"
        )
    fits = [s for s in spec.accelerators if s.accelerator_type == kind]
    if not fits:
        raise ValueError(
            f"accelerator_type {kind} cannot be attached to machine_type {machine_type}: "
            f"{kind} needs {accelerator_needs(kind)}"
        )
    exact = [s for s in fits if s.count == accelerator_count]
    if not exact:
        raise ValueError(
            f"accelerator_count {accelerator_count} x {kind} does not fit machine_type "
            f"{machine_type}: it takes {_counts(s.count for s in fits)} ({kind} needs "
            f"{accelerator_needs(kind)})"
        )
    limit = exact[0].max_vcpus
    if limit is not None and spec.vcpus > limit:
        raise ValueError(
            f"{accelerator_count} x {kind} allows at most {limit} vCPUs, but machine_type "
            f"{machine_type} has {spec.vcpus} ({kind} needs {accelerator_needs(kind)})"
        )


@functools.cache
def _family_regions() -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for row in _rows("machine_family_regions.csv"):
        found.setdefault(row["family"], set()).add(row["region"])
    return {family: frozenset(regions) for family, regions in found.items()}


def unavailable_reason(
    machine_type: str, region: str, region_accelerators: frozenset[str]
) -> str | None:
    """Why ``machine_type`` is not offered for training in ``region``, or None.

    Args:
        machine_type: A catalogue machine type.
        region: A Vertex AI training region.
        region_accelerators: The accelerators the region offers for training.

    Returns:
        The reason, or None when offered (or when the catalogue has no per-region data for the
        family: see :func:`regions_checked`).
    """
    spec = machine(machine_type)
    if spec.fixed_accelerator:
        if not {s.accelerator_type for s in spec.accelerators} & region_accelerators:
            needs = " or ".join(sorted({s.accelerator_type for s in spec.accelerators}))
            return (
                f"{machine_type} ({spec.family.upper()}) comes with {needs}, which is not offered "
                "for Vertex AI training here"
            )
        return None
    regions = _family_regions().get(spec.family)
    if regions is not None and region not in regions:
        return (
            f"the catalogue lists no {spec.family.upper()} machines ({machine_type}) for Vertex "
            "AI training here"
        )
    return None


def regions_checked(machine_type: str) -> bool:
    """Whether the catalogue says, region by region, where ``machine_type`` is offered."""
    spec = machine(machine_type)
    return spec.fixed_accelerator or spec.family in _family_regions()


def cpu_power(machine_type: str) -> CpuPower:
    """Per-vCPU power of the machine's CPUs, from CCF's per-microarchitecture figures.

    The point figures are CCF's average over the family's microarchitectures (as CCF computes
    them); the bounds are the lowest minimum and the highest maximum among them. A family whose
    microarchitecture CCF does not cover gets CCF's own fallback, the GCP median, for both.
    """
    spec = machine(machine_type)
    arches = load_families()[spec.family].cpu_microarchitectures
    found = [
        (lo, hi, arch)
        for arch in arches
        if (lo := figures.maybe(f"cpu.min_watts_per_vcpu.{arch}")) is not None
        and (hi := figures.maybe(f"cpu.max_watts_per_vcpu.{arch}")) is not None
    ]
    if not found:
        lo_f = figures.figure("cpu.min_watts_per_vcpu.gcp_median")
        hi_f = figures.figure("cpu.max_watts_per_vcpu.gcp_median")
        named = ", ".join(arches) or "not published"
        return CpuPower(
            lo_f.value,
            hi_f.value,
            lo_f.value,
            hi_f.value,
            f"{spec.family.upper()} CPUs ({named}) have no CCF figure: CCF's GCP median "
            f"{lo_f.value:g}-{hi_f.value:g} W per vCPU ({lo_f.source})",
        )
    mins = [lo.value for lo, _, _ in found]
    maxes = [hi.value for _, hi, _ in found]
    listed = ", ".join(f"{a} {lo.value:g}-{hi.value:g}" for lo, hi, a in found)
    return CpuPower(
        round(sum(mins) / len(mins), 4),
        round(sum(maxes) / len(maxes), 4),
        min(mins),
        max(maxes),
        f"CCF per-vCPU watts of {spec.family.upper()}'s microarchitectures ({listed} W; "
        f"{found[0][0].source})",
    )
