"""Our own forecast: a per-lead ridge model on the latest readings and daily/weekly profiles.

A forecast issued at origin ``t`` sees readings ``x[:t]`` only. For each lead ``L`` (target
``j = t + L - 1``) a separate linear model is fitted; its features are

* the latest readings ``x[t-1], x[t-2], x[t-3]`` and the mean of the last 24 hours: what the next
  hours resemble most;
* the daily and weekly profiles at the target: ``x[j - c*d]`` (same time on the latest fully
  observed day, ``c = ceil(L / d)``), the 7-day mean of that time of day, ``x[j - 7d]``;
* the same profiles at the latest reading (``x[t-1-d]``, ``x[t-1-7d]``, their 7-day mean), so the
  model can carry today's deviation from the usual day forward and let it fade with the lead;
* :data:`HARMONICS` sine/cosine pairs of the target's time of day (UTC): the zone's long-run daily
  shape, steadier than one week's profile (``day_step`` says where in the day ``x[0]`` falls).

Series are divided by their mean before fitting so one ridge penalty (:data:`RIDGE_LAMBDA`) suits
every zone. The penalty and the number of harmonics were chosen by
``benchmarks/forecast_quality.py`` on Electricity Maps 2021 (16 zones, each zone's choice made on
the other 15) and checked on 2023 and 2024; 2020 and 2022 were never looked at.
``benchmarks/forecast_variants.py`` back-tests the changes that did not earn their place (weekday
indicators, longer lags, forgetting, per-quarter-day weights, the log scale, ensembles, pooled
gradient boosting).
:func:`ridge_forecast` fits on the whole history before the origin; :func:`ridge_backtest`
re-fits every :data:`REFIT_DAYS` days on the targets seen so far, so every back-tested decision
uses only readings before its arrival.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carbon_aware.planning.forecast import MAX_HORIZON_DAYS

RIDGE_LAMBDA = 1e-5
"""Ridge penalty per sample on the mean-scaled series (leave-one-zone-out choice on EM 2021)."""
HARMONICS = 3
"""Sine/cosine pairs of the target's time of day among the features."""
MODEL_NAME = "ridge"
REFIT_DAYS = 7
RIDGE_HISTORY_DAYS = 28
"""History needed before the first forecast: 7 days of feature look-back plus samples."""
BASE_FEATURES = 11


def feature_count(harmonics: int = HARMONICS) -> int:
    """Return the number of features with ``harmonics`` time-of-day pairs."""
    return BASE_FEATURES + 2 * harmonics


def lookback(d: int) -> int:
    """Return the first origin at which every feature is defined (``7d + 1``)."""
    return 7 * d + 1


def _mean_7d(x: np.ndarray, d: int) -> np.ndarray:
    """``m[j]`` = mean of ``x[j], x[j-d], ..., x[j-6d]`` (0 where not defined, never read)."""
    out = np.zeros(x.shape[0])
    for k in range(7):
        out[k * d :] += x[: x.shape[0] - k * d]
    return out / 7


@dataclass(frozen=True)
class _Prepared:
    """A scaled series with what every lead's features read: 7-day means, sums, daily shape."""

    x: np.ndarray
    m7: np.ndarray
    csum: np.ndarray
    daily: np.ndarray
    """``(d, 2 * harmonics)``: sine/cosine of each step of the day."""
    day_step: int


def _design_range(p: _Prepared, start: int, stop: int, lead: int, d: int) -> np.ndarray:
    """:func:`_design` for the origins ``start .. stop - 1``, read as slices (much faster)."""
    count = stop - start
    c = d * ((lead + d - 1) // d)
    x, m7 = p.x, p.m7

    def at(shift: int, values: np.ndarray = x) -> np.ndarray:
        """``values[t + shift]`` for every origin ``t``."""
        return values[start + shift : stop + shift]

    out = np.empty((count, BASE_FEATURES + p.daily.shape[1]))
    out[:, 0] = 1.0
    out[:, 1] = at(-1)
    out[:, 2] = at(-2)
    out[:, 3] = at(-3)
    out[:, 4] = at(lead - 1 - c)
    out[:, 5] = at(lead - 1 - c, m7)
    out[:, 6] = at(lead - 1 - 7 * d)
    out[:, 7] = (at(0, p.csum) - at(-24, p.csum)) / 24
    out[:, 8] = at(-1 - d)
    out[:, 9] = at(-1 - 7 * d)
    out[:, 10] = at(-1 - d, m7)
    if p.daily.shape[1]:
        first = (start + lead - 1 + p.day_step) % d
        tiles = -(-(first + count) // d)
        out[:, BASE_FEATURES:] = np.tile(p.daily, (tiles, 1))[first : first + count]
    return out


def _prepare(x: np.ndarray, d: int, day_step: int, harmonics: int) -> _Prepared:
    angle = 2 * np.pi * np.arange(d) / d
    daily = [f(k * angle) for k in range(1, harmonics + 1) for f in (np.sin, np.cos)]
    return _Prepared(
        x,
        _mean_7d(x, d),
        np.concatenate(([0.0], np.cumsum(x))),
        np.stack(daily, axis=1) if daily else np.zeros((d, 0)),
        day_step,
    )


def _design(p: _Prepared, origins: np.ndarray, lead: int, d: int) -> np.ndarray:
    """Return the features of lead ``lead`` at each origin, shape ``(T, feature_count)``.

    Every index read is below its origin, so values of ``x`` at or after an origin never matter.
    """
    t = origins
    j = t + lead - 1
    ref = j - d * ((lead + d - 1) // d)
    x, m7 = p.x, p.m7
    out = np.empty((t.shape[0], BASE_FEATURES + p.daily.shape[1]))
    out[:, 0] = 1.0
    out[:, 1] = x[t - 1]
    out[:, 2] = x[t - 2]
    out[:, 3] = x[t - 3]
    out[:, 4] = x[ref]
    out[:, 5] = m7[ref]
    out[:, 6] = x[j - 7 * d]
    out[:, 7] = (p.csum[t] - p.csum[t - 24]) / 24
    out[:, 8] = x[t - 1 - d]
    out[:, 9] = x[t - 1 - 7 * d]
    out[:, 10] = m7[t - 1 - d]
    out[:, BASE_FEATURES:] = p.daily[(j + p.day_step) % d]
    return out


def _check(horizon: int, d: int) -> None:
    if horizon > MAX_HORIZON_DAYS * d:
        raise ValueError(
            f"our forecast reaches at most {MAX_HORIZON_DAYS} days; max delay plus duration "
            f"needs {horizon} steps ({horizon / d:g} days)"
        )


def _solve(
    xtx: np.ndarray, xty: np.ndarray, count: np.ndarray, penalty_per_sample: float
) -> np.ndarray:
    """Ridge weights from normal equations (batched over leading axes)."""
    k = xtx.shape[-1]
    penalty = penalty_per_sample * np.maximum(count, 1)[..., None, None] * np.eye(k)
    weights: np.ndarray = np.linalg.solve(xtx + penalty, xty[..., None])[..., 0]
    return weights


def _scaled(x: np.ndarray, scale: float | None, horizon: int) -> tuple[np.ndarray, float]:
    s = float(np.mean(x)) if scale is None else scale
    s = s if s > 0 else 1.0
    return np.concatenate([x / s, np.zeros(horizon)]), s


@dataclass(frozen=True)
class RidgeModel:
    """Per-lead weights fitted on one stretch of history.

    Attributes:
        weights: ``(horizon, feature_count(harmonics))`` weights on the scaled series.
        scale: The series was divided by this before fitting.
        d: Steps per day.
        day_step: Step of the day (0 .. d-1, UTC) of the series' first reading.
        harmonics: Time-of-day sine/cosine pairs among the features.
    """

    weights: np.ndarray
    scale: float
    d: int
    day_step: int = 0
    harmonics: int = HARMONICS

    def predict(self, x: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """Forecast from each origin with readings ``x[:origin]`` only.

        Args:
            x: Series, shape ``(N,)``; values at or after an origin are never read.
            origins: Origins, each in ``[lookback(d), N]``.

        Returns:
            Array ``(T, horizon)`` of forecasts (gCO2e/kWh, clipped at 0).
        """
        horizon = self.weights.shape[0]
        xp = np.concatenate([np.asarray(x, dtype=float) / self.scale, np.zeros(horizon)])
        prepared = _prepare(xp, self.d, self.day_step, self.harmonics)
        out = np.stack(
            [
                _design(prepared, origins, lead, self.d) @ self.weights[lead - 1]
                for lead in range(1, horizon + 1)
            ],
            axis=1,
        )
        return np.asarray(np.clip(out * self.scale, 0.0, None))


def fit_ridge(
    history: np.ndarray,
    horizon: int,
    d: int,
    scale: float | None = None,
    *,
    day_step: int = 0,
    penalty: float = RIDGE_LAMBDA,
    harmonics: int = HARMONICS,
) -> RidgeModel:
    """Fit one model per lead on every sample whose target is in ``history``.

    Args:
        history: Readings, shape ``(N,)``.
        horizon: Leads to fit (at most ``MAX_HORIZON_DAYS`` days).
        d: Steps per day.
        scale: Divide the series by this before fitting (default: the history's mean).
        day_step: Step of the day (UTC) of ``history[0]``.
        penalty: Ridge penalty per sample.
        harmonics: Time-of-day sine/cosine pairs among the features.

    Returns:
        The fitted model.

    Raises:
        ValueError: Too little history or too long a horizon.
    """
    x = np.asarray(history, dtype=float)
    n = x.shape[0]
    _check(horizon, d)
    if n < RIDGE_HISTORY_DAYS * d:
        raise ValueError(
            f"our forecast needs {RIDGE_HISTORY_DAYS} days of history before the planning time; "
            f"got {n / d:g} days"
        )
    xp, s = _scaled(x, scale, horizon)
    prepared = _prepare(xp, d, day_step, harmonics)
    weights = np.empty((horizon, feature_count(harmonics)))
    for lead in range(1, horizon + 1):
        origins = np.arange(lookback(d), n - lead + 1)
        features = _design_range(prepared, lookback(d), n - lead + 1, lead, d)
        target = xp[origins + lead - 1]
        xtx, xty = features.T @ features, features.T @ target
        weights[lead - 1] = _solve(xtx, xty, np.array(len(origins)), penalty)
    return RidgeModel(weights, s, d, day_step, harmonics)


def ridge_forecast(
    history: np.ndarray, horizon: int, d: int, scale: float | None = None, *, day_step: int = 0
) -> np.ndarray:
    """Fit on ``history`` and forecast the ``horizon`` steps after it.

    Args:
        history: Readings up to the origin (the origin is ``len(history)``).
        horizon: Steps to forecast (at most ``MAX_HORIZON_DAYS`` days).
        d: Steps per day.
        scale: Divide the series by this before fitting (default: the history's mean).
        day_step: Step of the day (UTC) of ``history[0]``.

    Returns:
        The forecast, shape ``(horizon,)``.

    Raises:
        ValueError: Too little history or too long a horizon.
    """
    x = np.asarray(history, dtype=float)
    model = fit_ridge(x, horizon, d, scale, day_step=day_step)
    values: np.ndarray = model.predict(x, np.array([x.shape[0]]))[0]
    return values


def ridge_backtest(
    x: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    d: int,
    *,
    day_step: int = 0,
    penalty: float = RIDGE_LAMBDA,
    harmonics: int = HARMONICS,
) -> np.ndarray:
    """Forecasts from every origin, re-fitted every ``REFIT_DAYS`` days on the targets seen.

    The model used at origin ``t`` is fitted at the latest refit point ``r <= t`` on the samples
    whose targets are before ``r``; refit points are ``origins[0] + k * REFIT_DAYS * d``. The
    series is scaled by its mean before ``origins[0]``.

    Args:
        x: Series, shape ``(N,)``.
        origins: Increasing forecast origins, the first at least ``RIDGE_HISTORY_DAYS`` days in.
        horizon: Steps forecast from each origin.
        d: Steps per day.
        day_step: Step of the day (UTC) of ``x[0]``.
        penalty: Ridge penalty per sample.
        harmonics: Time-of-day sine/cosine pairs among the features.

    Returns:
        Array ``(T, horizon)`` of forecasts.
    """
    _check(horizon, d)
    first = int(origins[0])
    if first < RIDGE_HISTORY_DAYS * d:
        raise ValueError(f"the first origin needs {RIDGE_HISTORY_DAYS} days of history")
    n = x.shape[0]
    block = REFIT_DAYS * d
    _, s = _scaled(x[:first], None, 0)
    xp = np.concatenate([np.asarray(x, dtype=float) / s, np.zeros(horizon + block)])
    prepared = _prepare(xp, d, day_step, harmonics)
    blocks = (int(origins[-1]) - first) // block + 1
    # Rows by target time j: the sample with target j enters every fit at r > j.
    rows = first + blocks * block
    which = (origins - first) // block
    out = np.empty((origins.shape[0], horizon))
    k = feature_count(harmonics)
    for lead in range(1, horizon + 1):
        # Features at every origin from lookback(d): the fits read the first len(j) rows, the
        # forecasts the rows of their origins.
        j = np.arange(lookback(d) + lead - 1, rows)
        stop = max(rows - lead + 1, int(origins[-1]) + 1)
        all_features = _design_range(prepared, lookback(d), stop, lead, d)
        features_v = all_features[: j.shape[0]]
        valid = (j < n).astype(float)
        # Samples whose target is past the data enter no fit; no origin reads their rows.
        features_v[j >= n] = 0.0
        target = xp[j] * valid
        head = first - j[0]
        xtx0, xty0 = features_v[:head].T @ features_v[:head], features_v[:head].T @ target[:head]
        tail = features_v[head:].reshape(blocks, block, k)
        xtx = np.cumsum(np.matmul(tail.transpose(0, 2, 1), tail), axis=0)
        xty = np.cumsum(
            np.matmul(tail.transpose(0, 2, 1), target[head:].reshape(blocks, block, 1))[..., 0], 0
        )
        counts = np.cumsum(valid[head:].reshape(blocks, block).sum(axis=1)) + valid[:head].sum()
        # Fit k uses targets before first + k*block: the head plus blocks 0..k-1.
        xtx = np.concatenate([xtx0[None], xtx0 + xtx[:-1]])
        xty = np.concatenate([xty0[None], xty0 + xty[:-1]])
        counts = np.concatenate([[valid[:head].sum()], counts[:-1]])
        weights = _solve(xtx, xty, counts, penalty)  # (blocks, k)
        design = all_features[origins - lookback(d)]
        out[:, lead - 1] = np.einsum("tk,tk->t", design, weights[which])
    return np.asarray(np.clip(out * s, 0.0, None))
