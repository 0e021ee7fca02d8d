"""How good our forecast has been for a zone, and how much gain is worth waiting for.

Both figures come from back-testing our ridge forecast on the zone's own history (readings before
each arrival only), so a plan can say which model it used and how wrong that model has lately been
for that zone:

* the *saving error*: for each arrival the forecast's expected saving of its chosen start over
  starting at once, against the saving that start actually had; the mean absolute difference in
  percentage points over the last :data:`ERROR_DAYS` days of arrivals whose runs have ended;
* the *MAPE* of the forecast values at leads 1-24 h over the same arrivals.

The default wait rule waits only when the expected gain is at least :data:`MIN_GAIN_ERROR_SHARE`
times the saving error, and not at all while the error is unknown (fewer than
:data:`MIN_ERROR_ARRIVALS` back-tested plans have ended). ``benchmarks/forecast_quality.py``
measures the rule on Electricity Maps 2023/2024 (16 zones): with 0.8 it keeps about 97 % of the
savings of 1-8 h jobs and halves the starts that end up dirtier than starting at once; a fixed
percentage does worse on one or the other, because some zones' whole daily swing is smaller than
any fixed figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carbon_aware.planning.planner import JobShape, window_means
from carbon_aware.planning.ridge import MODEL_NAME, RIDGE_HISTORY_DAYS, ridge_backtest

ERROR_DAYS = 14
"""Days of back-tested plans the saving error is measured over."""
MIN_ERROR_ARRIVALS = 24
"""Fewer ended back-tested plans than this: the error is unknown and the default rule starts now.
The first days after the history warm-up are where the savings went negative on EM 2023/2024."""
MIN_GAIN_ERROR_SHARE = 0.8
"""The default ``min_gain_pct`` is this share of the back-tested saving error."""


def expected_and_realised(
    forecast_means: np.ndarray, actual_means: np.ndarray, arrivals: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Expected and actual saving (%) of each arrival's chosen start over starting at once.

    Args:
        forecast_means: ``(T, delay + 1)`` forecast job means per start offset.
        actual_means: Actual job mean for every start of the series.
        arrivals: ``(T,)`` arrival steps.
        offset: ``(T,)`` chosen offsets.

    Returns:
        ``(expected, realised)`` in percent, each ``(T,)``.
    """
    rows = np.arange(arrivals.shape[0])
    expected = 100 * (1 - forecast_means[rows, offset] / np.maximum(forecast_means[:, 0], 1e-9))
    now = actual_means[arrivals]
    realised = 100 * (1 - actual_means[arrivals + offset] / np.maximum(now, 1e-9))
    return expected, realised


def trailing_error(errors: np.ndarray, horizon: int, window: int, min_count: int = 1) -> np.ndarray:
    """Mean of the errors known at each arrival: arrivals ``b`` with ``b + horizon <= a``.

    Args:
        errors: ``(T,)`` per-arrival absolute errors, arrivals one step apart.
        horizon: Steps until an arrival's run has surely ended (delay plus span).
        window: At most this many of the latest known errors are averaged.
        min_count: Fewer known errors than this count as none.

    Returns:
        ``(T,)`` trailing mean; NaN where fewer than ``min_count`` errors are known.
    """
    count = errors.shape[0]
    sums = np.concatenate(([0.0], np.cumsum(errors)))
    hi = np.clip(np.arange(count) - horizon + 1, 0, None)
    lo = np.clip(hi - window, 0, None)
    known = hi - lo >= max(min_count, 1)
    return np.where(known, (sums[hi] - sums[lo]) / np.maximum(hi - lo, 1), np.nan)


@dataclass(frozen=True)
class ForecastSkill:
    """Back-tested skill of our forecast on one zone's latest history.

    Attributes:
        model: The model's name.
        saving_error_pct: Mean absolute error of the expected saving (percentage points).
        mape_1_24h_pct: Mean absolute percentage error of the values at leads 1-24 h.
        arrivals: How many back-tested arrivals the figures cover.
    """

    model: str
    saving_error_pct: float
    mape_1_24h_pct: float
    arrivals: int

    @property
    def min_gain_pct(self) -> float:
        """The default wait threshold: ``MIN_GAIN_ERROR_SHARE`` x the saving error."""
        return round(MIN_GAIN_ERROR_SHARE * self.saving_error_pct, 3)


def forecast_skill(
    history: np.ndarray, duration_hours: float, max_delay_hours: float, day_step: int = 0
) -> ForecastSkill:
    """Back-test our forecast over the last ``ERROR_DAYS`` days of ``history`` (hourly).

    Args:
        history: Hourly readings before the planning time.
        duration_hours: Job length.
        max_delay_hours: How long the start may wait.
        day_step: Hour of the day (UTC) of ``history[0]``.

    Returns:
        The skill figures.

    Raises:
        ValueError: Too little history to back-test.
    """
    d = 24
    shape = JobShape.from_hours(duration_hours, max_delay_hours, 1.0)
    x = np.asarray(history, dtype=float)
    horizon = max(shape.horizon, d)
    last = x.shape[0] - horizon
    first = max(RIDGE_HISTORY_DAYS * d, last - ERROR_DAYS * d + 1)
    if last - first + 1 < MIN_ERROR_ARRIVALS:
        raise ValueError(
            f"back-testing the forecast needs {RIDGE_HISTORY_DAYS} days of history plus the "
            f"{horizon} h horizon plus {MIN_ERROR_ARRIVALS} h"
        )
    arrivals = np.arange(first, last + 1)
    values = ridge_backtest(x, arrivals, horizon, d, day_step=day_step)
    planned = window_means(values[:, : shape.horizon], shape)
    offset = np.argmin(planned, axis=1)
    expected, realised = expected_and_realised(planned, window_means(x, shape), arrivals, offset)
    targets = x[arrivals[:, None] + np.arange(d)[None, :]]
    ape = np.abs(values[:, :d] - targets) / np.maximum(np.abs(targets), 1e-9)
    return ForecastSkill(
        model=MODEL_NAME,
        saving_error_pct=round(float(np.mean(np.abs(expected - realised))), 3),
        mape_1_24h_pct=round(float(100 * np.mean(ape)), 3),
        arrivals=int(arrivals.shape[0]),
    )


def saving_error_pct(history: np.ndarray, duration_hours: float, max_delay_hours: float) -> float:
    """Back-tested error of our forecast's expected saving (see :func:`forecast_skill`).

    Args:
        history: Hourly readings before the planning time.
        duration_hours: Job length.
        max_delay_hours: How long the start may wait.

    Returns:
        The error in percentage points.

    Raises:
        ValueError: Too little history to back-test.
    """
    return forecast_skill(history, duration_hours, max_delay_hours).saving_error_pct
