"""An absolute saving in grams, put beside something a reader knows.

Comparison figure (one fact, one place): a typical passenger vehicle emits about 400 grams of
CO2 per mile driven. Source: US EPA, "Greenhouse Gas Emissions from a Typical Passenger
Vehicle", EPA-420-F-23-014, June 2023 (https://www.epa.gov/greenvehicles/greenhouse-gas-emissions-typical-passenger-vehicle).
400 g per mile is 400 / 1.609344 = 248.5 g per km.
"""

from __future__ import annotations

from carbon_aware.report._text import sig

CAR_G_CO2_PER_KM = 400 / 1.609344
CAR_SOURCE = "US EPA, EPA-420-F-23-014 (2023): a typical passenger car emits about 400 g CO2/mile"


def car_distance_m(grams: float) -> float:
    """Metres a typical passenger car drives emitting ``grams`` of CO2."""
    return grams / CAR_G_CO2_PER_KM * 1000


def saving_in_context(grams: float) -> str:
    """``0.0237 g CO2e: what a typical passenger car emits driving 0.0954 m (US EPA ...)``."""
    distance = car_distance_m(abs(grams))
    where = f"{sig(distance / 1000)} km" if distance >= 1000 else f"{sig(distance)} m"
    verb = "saved" if grams >= 0 else "added"
    return (
        f"{sig(abs(grams))} gCO2e {verb}: about what a typical passenger car emits driving {where} "
        f"({CAR_SOURCE})"
    )
