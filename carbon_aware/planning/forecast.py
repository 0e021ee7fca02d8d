"""Day-ahead carbon-intensity forecasts built from a series' own history.

A forecast issued at step ``origin`` sees only readings before ``origin`` (a reading covers
``[t, t + step)``, so the one at ``origin`` is not finished yet). For a target step ``j`` at lead
``L = j - origin + 1`` the reference day is ``c = ceil(L / d)`` days back (``d`` steps per day), so
every forecast uses the latest fully observed day. Methods:

* ``persistence_24h``: the same time of day on the reference day, ``x[j - c*d]``.
* ``persistence_168h``: the same time one week earlier, ``x[j - 7*d]`` (a weekly profile).
* ``mean_7d``: the mean of the same time of day over the 7 days ending on the reference day.
* ``blend_24h_7d``: ``0.5 * persistence_24h + 0.5 * mean_7d``.

The method is chosen by its mean absolute error (MAE) over the trailing ``MAE_WINDOW_DAYS`` of
one-day-ahead forecasts (targets before ``origin``); ties go to the earlier method in
``METHODS``. Forecasts need ``HISTORY_DAYS`` of history and reach at most 7 days ahead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from carbon_aware.timeseries import sliding_sums

METHODS = ("persistence_24h", "persistence_168h", "mean_7d", "blend_24h_7d")
MAE_WINDOW_DAYS = 7
HISTORY_DAYS = MAE_WINDOW_DAYS + 7
MAX_HORIZON_DAYS = 7
DECIMALS = 6
"""Figures are compared after rounding to this many decimals, so float noise cannot break ties."""


def steps_per_day(step_hours: float) -> int:
    """Return the number of data steps per day.

    Args:
        step_hours: The data's step in hours (dividing one hour, e.g. 1.0 or 0.25).

    Returns:
        Steps per day, e.g. 24 for hourly data.
    """
    return round(24 / step_hours)


def min_history(d: int) -> int:
    """Return how many steps of history a day-ahead forecast needs (``HISTORY_DAYS`` days)."""
    return HISTORY_DAYS * d


def _lag(values: np.ndarray, k: int) -> np.ndarray:
    """Shift ``values`` right by ``k`` steps along the last axis, padding with NaN."""
    out = np.full(values.shape, np.nan)
    out[..., k:] = values[..., : values.shape[-1] - k]
    return out


def _mean_7d(x: np.ndarray, d: int) -> np.ndarray:
    """Mean of ``x[j], x[j - d], ..., x[j - 6d]`` for every ``j`` (NaN where not defined)."""
    return sum((_lag(x, m * d) for m in range(7)), np.zeros(x.shape)) / 7


def one_day_ahead(x: np.ndarray, d: int) -> dict[str, np.ndarray]:
    """Return every method's forecast of each step at leads within one day (``c = 1``).

    Args:
        x: Series, shape ``(..., N)``.
        d: Steps per day.

    Returns:
        Method name to array shaped like ``x`` (NaN where history is too short).
    """
    p24 = _lag(x, d)
    mean7 = _lag(_mean_7d(x, d), d)
    return {
        "persistence_24h": p24,
        "persistence_168h": _lag(x, 7 * d),
        "mean_7d": mean7,
        "blend_24h_7d": 0.5 * p24 + 0.5 * mean7,
    }


def trailing_mae(x: np.ndarray, d: int, window: int) -> np.ndarray:
    """Return each method's MAE over the ``window`` one-day-ahead targets before each origin.

    Args:
        x: Series, shape ``(N,)``.
        d: Steps per day.
        window: Number of trailing targets, e.g. ``MAE_WINDOW_DAYS * d``.

    Returns:
        Array ``(len(METHODS), N + 1)``: entry ``[m, t]`` is the MAE of method ``m`` for targets
        ``t - window .. t - 1``, rounded to ``DECIMALS``; NaN where history is too short.
    """
    forecasts = one_day_ahead(x, d)
    out = np.full((len(METHODS), x.shape[-1] + 1), np.nan)
    start = 7 * d  # first target every method can forecast
    for m, name in enumerate(METHODS):
        err = np.abs(forecasts[name][start:] - x[start:])
        if err.size >= window:
            sums = sliding_sums(err, window)
            out[m, start + window :] = np.round(sums / window, DECIMALS)
    return out


def lead_indices(origins: np.ndarray, horizon: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Return target and reference-day indices for leads ``1..horizon`` from each origin.

    Args:
        origins: Forecast origins, shape ``(T,)``.
        horizon: Number of steps forecast.
        d: Steps per day.

    Returns:
        ``(targets, reference)``, each ``(T, horizon)``: ``targets = origin + L - 1`` and
        ``reference = targets - c*d`` with ``c = ceil(L / d)``.

    Raises:
        ValueError: If the horizon is longer than ``MAX_HORIZON_DAYS``.
    """
    if horizon > MAX_HORIZON_DAYS * d:
        raise ValueError(
            f"day-ahead forecasts reach at most {MAX_HORIZON_DAYS} days; max delay plus "
            f"duration needs {horizon} steps ({horizon / d:g} days)"
        )
    leads = np.arange(1, horizon + 1)
    targets = origins[:, None] + leads[None, :] - 1
    return targets, targets - d * ((leads + d - 1) // d)[None, :]


def forecast_matrix(
    x: np.ndarray, origins: np.ndarray, methods: np.ndarray, horizon: int, d: int
) -> np.ndarray:
    """Return the forecasts issued at each origin with that origin's method.

    Args:
        x: Series, shape ``(N,)``.
        origins: Forecast origins (each at least ``min_history(d)``), shape ``(T,)``.
        methods: Index into ``METHODS`` per origin, shape ``(T,)``.
        horizon: Steps forecast from each origin.
        d: Steps per day.

    Returns:
        Array ``(T, horizon)`` of forecast values.
    """
    targets, reference = lead_indices(origins, horizon, d)
    mean7 = _mean_7d(x, d)
    p24 = x[reference]
    m7 = mean7[reference]
    stacked = np.stack([p24, x[targets - 7 * d], m7, 0.5 * p24 + 0.5 * m7])
    chosen: np.ndarray = np.take_along_axis(stacked, methods[None, :, None], axis=0)[0]
    return chosen


@dataclass(frozen=True)
class DayAheadForecast:
    """A forecast from one origin.

    Attributes:
        values: Forecast for the ``horizon`` steps from the origin.
        method: The chosen method (lowest trailing MAE).
        mae: Every method's trailing MAE (gCO2e/kWh) that the choice was based on.
    """

    values: np.ndarray
    method: str
    mae: dict[str, float]


def day_ahead_forecast(history: np.ndarray, horizon: int, d: int) -> DayAheadForecast:
    """Forecast the ``horizon`` steps following ``history`` with the best recent method.

    Args:
        history: Readings up to the origin (the origin is ``len(history)``).
        horizon: Steps to forecast.
        d: Steps per day.

    Returns:
        The forecast, the chosen method and the methods' trailing MAEs.

    Raises:
        ValueError: If the history is shorter than ``HISTORY_DAYS`` days or the horizon too long.
    """
    x = np.asarray(history, dtype=float)
    origin = x.shape[0]
    if origin < min_history(d):
        raise ValueError(
            f"day-ahead forecasting needs {HISTORY_DAYS} days of history before the planning "
            f"time; got {origin / d:g} days"
        )
    mae = trailing_mae(x, d, MAE_WINDOW_DAYS * d)[:, origin]
    best = int(np.argmin(mae))
    padded = np.concatenate([x, np.zeros(horizon)])  # future slots are never read
    values = forecast_matrix(padded, np.array([origin]), np.array([best]), horizon, d)[0]
    return DayAheadForecast(values, METHODS[best], dict(zip(METHODS, map(float, mae), strict=True)))


def reference_forecast(history: Sequence[float], horizon: int, d: int) -> tuple[list[float], str]:
    """Plain-Python twin of :func:`day_ahead_forecast` (loops only), for tests and benchmarks.

    Args:
        history: Readings up to the origin.
        horizon: Steps to forecast.
        d: Steps per day.

    Returns:
        ``(values, method)``.
    """
    x = list(history)
    origin = len(x)
    window = MAE_WINDOW_DAYS * d

    def method_value(m: int, j: int, c: int) -> float:
        ref = j - c * d
        mean7 = sum(x[ref - k * d] for k in range(7)) / 7
        return [x[ref], x[j - 7 * d], mean7, 0.5 * x[ref] + 0.5 * mean7][m]

    maes = []
    for m in range(len(METHODS)):
        total = sum(abs(method_value(m, j, 1) - x[j]) for j in range(origin - window, origin))
        maes.append(float(np.round(total / window, DECIMALS)))
    best = min(range(len(METHODS)), key=lambda m: (maes[m], m))
    x.extend([0.0] * horizon)
    values = [method_value(best, origin + k, math.ceil((k + 1) / d)) for k in range(horizon)]
    return values, METHODS[best]
