"""Market-based view of the run's electricity: the customer's Scope 3 (the provider's Scope 2).

A cloud customer's electricity is bought by the provider: its emissions are the customer's
Scope 3 (category 1, purchased services) and Google's Scope 2. The market-based figure of one
region comes, best first, from:

1. The project's Carbon Footprint BigQuery export (Google's own market-based figures): the
   run's location-based emissions x (Scope 2 market-based / Scope 2 location-based) of that
   region over the export's months (:data:`carbon_aware.history.queries.QUERIES`
   ``scope2_by_region``).
2. A residual-mix factor for the region's country (AIB European Residual Mixes 2023 for EU
   countries, :file:`carbon_aware/data/aib_residual_mix_2023.csv`): IT energy x PUE x factor,
   an estimate (Google's contracts in that country are not known).
3. Otherwise, not estimated, with the reason (never a location-based figure relabelled).

The grid average already contains the grid's carbon-free share, so nothing here multiplies it
by (1 - CFE %) again.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESIDUAL_MIX_FILE = Path(__file__).resolve().parents[1] / "data" / "aib_residual_mix_2023.csv"
RESIDUAL_MIX_SOURCE = (
    "AIB European Residual Mixes 2023, Version 1.0, 2024-05-30, Table 2 (pp. 7-8), direct CO2 "
    "of the residual mix, gCO2/kWh (carbon_aware/data/RESIDUAL_MIX_PROVENANCE.md)"
)
SCOPE = "the customer's Scope 3 (category 1, purchased cloud services); Google's Scope 2"
KINDS = ("carbon-footprint-export", "residual-mix-estimate", "not-estimated")


@dataclass(frozen=True)
class MarketFactor:
    """How one region's market-based figure is obtained.

    Attributes:
        kind: One of :data:`KINDS`.
        gco2e_per_kwh: Residual-mix factor (facility kWh), or None.
        location_ratio: Export's Scope 2 market / location ratio, or None.
        source: Where the figure comes from, or why there is none.
    """

    kind: str
    gco2e_per_kwh: float | None
    location_ratio: float | None
    source: str

    def co2e_g(self, facility_kwh: float, location_co2e_g: float) -> float | None:
        """Market-based gCO2e of ``facility_kwh`` whose location-based figure is given."""
        if self.location_ratio is not None:
            return location_co2e_g * self.location_ratio
        if self.gco2e_per_kwh is not None:
            return facility_kwh * self.gco2e_per_kwh
        return None


@functools.cache
def residual_mixes(path: Path = RESIDUAL_MIX_FILE) -> dict[str, float]:
    """Country (ISO alpha-2) -> residual mix, gCO2/kWh."""
    with path.open(encoding="utf-8") as handle:
        return {
            row["country_iso2"]: float(row["residual_mix_gco2_per_kwh"])
            for row in csv.DictReader(handle)
        }


def export_ratios(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Region -> Scope 2 market / location ratio, from ``scope2_by_region`` rows.

    Regions with no location-based Scope 2 (nothing to scale) are left out.
    """
    ratios = {}
    for row in rows:
        location = float(row.get("scope2_location_based_kgco2e") or 0.0)
        market = row.get("scope2_market_based_kgco2e")
        if location > 0 and market is not None:
            ratios[str(row["region"])] = float(market) / location
    return ratios


def market_factor(
    region: str, country_iso2: str, ratios: Mapping[str, float], export_label: str = ""
) -> MarketFactor:
    """The best market-based basis for ``region`` (see the module docstring for the order)."""
    if region in ratios:
        return MarketFactor(
            "carbon-footprint-export",
            None,
            ratios[region],
            f"Google's market-based figures: Scope 2 market/location ratio {ratios[region]:.4f} "
            f"of {region} in the Carbon Footprint export {export_label}".rstrip(),
        )
    mix = residual_mixes().get(country_iso2)
    if mix is not None:
        return MarketFactor(
            "residual-mix-estimate",
            mix,
            None,
            f"estimate: {country_iso2} residual mix {mix:g} gCO2/kWh, {RESIDUAL_MIX_SOURCE}",
        )
    why = "no Carbon Footprint export row for this region" if ratios else "no export given"
    return MarketFactor(
        "not-estimated",
        None,
        None,
        f"not estimated: {why} and no residual-mix figure bundled for country "
        f"{country_iso2 or '(unknown)'} (bundled: AIB 2023, EU countries)",
    )
