"""Constraints on where a planned job may run, and why a candidate region was left out.

Catalogue constraints (residency group, accelerator) are checked against
:mod:`carbon_aware.regions` for names that are GCP regions; other series names (grid zones such
as ``CISO``) cannot be checked and are kept with a note. The price weight works on a price mapping
the caller supplies (no per-region Vertex AI price list ships with the package).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from carbon_aware.hardware import catalogue as machines
from carbon_aware.regions import RESIDENCY_GROUPS, VERTEX_ACCELERATOR_TYPES, load_catalogue


@dataclass(frozen=True)
class Constraints:
    """What a plan must respect.

    Attributes:
        allowed_regions: If given, only these names may be chosen.
        residency: A residency group from ``RESIDENCY_GROUPS`` (``eu``, ``us``, ...).
        accelerator_type: A Vertex ``AcceleratorType`` name the region must offer for training.
        accelerator_count: Accelerators per replica (at least 1). The catalogue lists types per
            region, not counts, so the count is validated but not checked per region.
        max_carbon_intensity: Leave out regions whose best expected mean intensity over the
            allowed starts is above this (gCO2e/kWh).
        price_weight: gCO2e/kWh of intensity worth one price unit per hour; the planner
            minimises ``mean intensity + price_weight * prices[region]``. 0 ignores prices.
        prices: Price per hour by region (any currency, e.g. Vertex AI custom training for the
            job's machine type); needed when ``price_weight`` > 0.
        machine_type: The training machine type: a region must offer its family for training
            (the hardware catalogue), as for accelerators.
    """

    allowed_regions: tuple[str, ...] | None = None
    residency: str | None = None
    accelerator_type: str | None = None
    accelerator_count: int = 1
    max_carbon_intensity: float | None = None
    price_weight: float = 0.0
    prices: Mapping[str, float] = field(default_factory=dict)
    machine_type: str | None = None

    def validate(self) -> None:
        """Check the constraint values themselves.

        Raises:
            ValueError: Unknown residency group or accelerator type, count below 1, negative or
                non-finite limits, or a price weight without prices.
        """
        if self.residency is not None and self.residency not in RESIDENCY_GROUPS:
            raise ValueError(
                f"unknown residency group {self.residency!r}; valid: {', '.join(RESIDENCY_GROUPS)}"
            )
        if self.accelerator_type is not None and (
            self.accelerator_type not in VERTEX_ACCELERATOR_TYPES
        ):
            raise ValueError(
                f"unknown accelerator type {self.accelerator_type!r}; valid: "
                f"{', '.join(sorted(VERTEX_ACCELERATOR_TYPES))}"
            )
        if self.machine_type is not None:
            machines.machine(self.machine_type)
        if self.accelerator_count < 1:
            raise ValueError(f"accelerator_count must be at least 1, got {self.accelerator_count}")
        limit = self.max_carbon_intensity
        if limit is not None and not (math.isfinite(limit) and limit >= 0):
            raise ValueError(f"max_carbon_intensity must be finite and >= 0, got {limit}")
        if not (math.isfinite(self.price_weight) and self.price_weight >= 0):
            raise ValueError(f"price_weight must be finite and >= 0, got {self.price_weight}")
        if self.price_weight > 0 and not self.prices:
            raise ValueError("price_weight > 0 needs a price per region (prices mapping)")
        bad = {k: v for k, v in self.prices.items() if not (math.isfinite(v) and v >= 0)}
        if bad:
            raise ValueError(f"prices must be finite and >= 0: {bad}")

    def describe(self) -> dict[str, Any]:
        """Return the constraints that are set, as JSON-ready values."""
        out: dict[str, Any] = {}
        if self.allowed_regions is not None:
            out["allowed_regions"] = list(self.allowed_regions)
        if self.residency is not None:
            out["residency"] = self.residency
        if self.accelerator_type is not None:
            out["accelerator"] = f"{self.accelerator_count} x {self.accelerator_type}"
        if self.machine_type is not None:
            out["machine_type"] = self.machine_type
        if self.max_carbon_intensity is not None:
            out["max_carbon_intensity"] = self.max_carbon_intensity
        if self.price_weight > 0:
            out["price_weight"] = self.price_weight
        return out


@dataclass(frozen=True)
class Exclusion:
    """A candidate the planner left out.

    Attributes:
        region: The candidate's name.
        constraint: ``allowed_regions``, ``residency``, ``accelerator``, ``machine_type``,
            ``price`` or ``max_carbon_intensity``.
        reason: Human-readable reason, with the figures involved.
    """

    region: str
    constraint: str
    reason: str


def static_exclusions(
    candidates: Sequence[str], constraints: Constraints
) -> tuple[list[str], list[Exclusion], list[str]]:
    """Apply the constraints that do not depend on intensity.

    Args:
        candidates: Candidate names, in order.
        constraints: Validated constraints.

    Returns:
        ``(kept, exclusions, notes)``; each excluded candidate appears once, with the first
        constraint it fails (in the order allowed_regions, residency, accelerator, machine_type,
        price).
    """
    catalogue = load_catalogue()
    kept: list[str] = []
    excluded: list[Exclusion] = []
    unchecked: list[str] = []
    catalogue_checks = (
        constraints.residency is not None
        or constraints.accelerator_type is not None
        or constraints.machine_type is not None
    )
    for name in candidates:
        region = catalogue.get(name)
        reason: Exclusion | None = None
        if constraints.allowed_regions is not None and name not in constraints.allowed_regions:
            reason = Exclusion(name, "allowed_regions", "not in the allowed regions")
        elif region is None:
            if catalogue_checks:
                unchecked.append(name)
        elif constraints.residency is not None and region.residency_group != constraints.residency:
            reason = Exclusion(
                name,
                "residency",
                f"residency group {region.residency_group!r}, required {constraints.residency!r}",
            )
        elif (
            constraints.accelerator_type is not None
            and constraints.accelerator_type not in region.accelerators
        ):
            reason = Exclusion(
                name,
                "accelerator",
                f"{constraints.accelerator_type} is not offered for Vertex AI training here",
            )
        elif constraints.machine_type is not None:
            why = machines.unavailable_reason(constraints.machine_type, name, region.accelerators)
            if why is not None:
                reason = Exclusion(name, "machine_type", why)
        if reason is None and constraints.price_weight > 0 and name not in constraints.prices:
            reason = Exclusion(name, "price", "no price given for this region")
        if reason is None:
            kept.append(name)
        else:
            excluded.append(reason)
    notes = []
    if unchecked:
        notes.append(
            f"{', '.join(unchecked)}: not GCP regions in the catalogue, so residency and "
            "accelerator constraints were not checked for them"
        )
    if constraints.machine_type is not None and not machines.regions_checked(
        constraints.machine_type
    ):
        notes.append(
            f"machine type {constraints.machine_type}: the catalogue does not list its family "
            "region by region, so its availability was not checked per region"
        )
    if constraints.accelerator_type is not None and constraints.accelerator_count > 1:
        notes.append(
            f"accelerator count {constraints.accelerator_count} not checked per region: the "
            "catalogue lists accelerator types per region, not counts"
        )
    return kept, excluded, notes


def intensity_exclusion(name: str, best_mean: float, constraints: Constraints) -> Exclusion | None:
    """Return the exclusion for a region whose best expected mean breaks the intensity cap.

    Args:
        name: Candidate name.
        best_mean: Its lowest expected mean intensity over the allowed starts (gCO2e/kWh).
        constraints: Validated constraints.

    Returns:
        The exclusion, or None if the region stays.
    """
    limit = constraints.max_carbon_intensity
    if limit is None or best_mean <= limit:
        return None
    return Exclusion(
        name,
        "max_carbon_intensity",
        f"best expected mean {best_mean:.1f} gCO2e/kWh over the allowed starts is above "
        f"the limit {limit:g}",
    )


def no_region_left(exclusions: Sequence[Exclusion], constraints: Constraints) -> ValueError:
    """Build the error raised when the constraints exclude every candidate.

    Args:
        exclusions: Every exclusion made.
        constraints: The constraints applied.

    Returns:
        A ValueError naming each constraint that removed candidates, and which.
    """
    by_constraint: dict[str, list[str]] = {}
    for item in exclusions:
        by_constraint.setdefault(item.constraint, []).append(item.region)
    described = constraints.describe()
    parts = []
    for key, names in by_constraint.items():
        setting = described.get(key, described.get("price_weight") if key == "price" else None)
        label = f"{key}={setting!r}" if setting is not None else key
        parts.append(f"{label} excluded {', '.join(names)}")
    return ValueError("no candidate region satisfies the constraints: " + "; ".join(parts))
