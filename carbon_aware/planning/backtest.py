"""Back-test the planner over history: what would planning have saved?

For every arrival step ``t`` with ``t + delay + span`` inside the data, the planner picks a region
and start (``oracle``: from the actual series; ``day-ahead`` and ``ridge``: from forecasts
issued at ``t`` with readings before ``t`` only) and the planned run's *actual* mean intensity is
compared with running at once in the baseline region:

* ``savings_pct = 100 * (1 - sum(planned actual means) / sum(run-now means))``.
* ``per_region[r]``: the same figure for temporal-only shifting inside ``r``.

:func:`backtest_arrays` is vectorised with numpy (window means by cumulative sums, best start by
an argmin over ``sliding_window_view``); :func:`backtest_loop` is a plain-Python reference over
arrivals x starts that gives identical choices.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from carbon_aware.planning.forecast import (
    MAE_WINDOW_DAYS,
    METHODS,
    forecast_matrix,
    min_history,
    one_day_ahead,
    reference_forecast,
    steps_per_day,
    trailing_mae,
)
from carbon_aware.planning.planner import (
    FORECASTS,
    JobShape,
    tie_order,
    window_mean_loop,
    window_means,
)
from carbon_aware.planning.ridge import RIDGE_HISTORY_DAYS, ridge_backtest
from carbon_aware.timeseries import step_hours


@dataclass(frozen=True)
class Outcome:
    """Per-arrival choices of a back-test (arrays over arrivals unless noted).

    Attributes:
        arrivals: Arrival steps.
        region: Chosen row (index into the input rows) per arrival.
        offset: Chosen start offset (steps after arrival).
        planned: Actual mean intensity of the planned run.
        run_now: Actual mean intensity of starting at arrival in the baseline row.
        temporal_offset: ``(R, T)`` best offset per row for temporal-only shifting.
        temporal_planned: ``(R, T)`` actual mean of that temporal-only run.
        temporal_now: ``(R, T)`` actual mean of starting at arrival in each row.
        methods: ``(R, T)`` forecast method index per row (day-ahead), else None.
    """

    arrivals: np.ndarray
    region: np.ndarray
    offset: np.ndarray
    planned: np.ndarray
    run_now: np.ndarray
    temporal_offset: np.ndarray
    temporal_planned: np.ndarray
    temporal_now: np.ndarray
    methods: np.ndarray | None


def _arrivals(n: int, shape: JobShape, forecast: str, d: int) -> np.ndarray:
    if forecast not in FORECASTS:
        raise ValueError(f"unknown forecast {forecast!r}; use one of {', '.join(FORECASTS)}")
    first = {"oracle": 0, "day-ahead": min_history(d), "ridge": RIDGE_HISTORY_DAYS * d}[forecast]
    last = n - shape.horizon
    if last < first:
        raise ValueError(
            f"the data ({n} steps) are too short for a back-test: need {first + shape.horizon + 1}"
            f" steps ({'history, ' if first else ''}delay and duration)"
        )
    return np.arange(first, last + 1)


def backtest_arrays(
    actual: np.ndarray,
    rank: Sequence[int],
    baseline: np.ndarray,
    shape: JobShape,
    forecast: str,
    d: int,
) -> Outcome:
    """Vectorised back-test over rows of ``actual`` (one row per region).

    Args:
        actual: Readings, shape ``(R, N)``.
        rank: Tie-break rank per row (lower wins a tie after the start time).
        baseline: Readings of the baseline region, shape ``(N,)``.
        shape: The job.
        forecast: ``oracle``, ``day-ahead`` or ``ridge``.
        d: Steps per day.

    Returns:
        The per-arrival outcome.
    """
    arrivals = _arrivals(actual.shape[1], shape, forecast, d)
    means = window_means(actual, shape)  # (R, N - span + 1)
    methods = None
    if forecast == "oracle":
        views = sliding_window_view(means, shape.delay_steps + 1, axis=-1)[:, arrivals, :]
    elif forecast == "ridge":
        views = np.stack(
            [window_means(ridge_backtest(x, arrivals, shape.horizon, d), shape) for x in actual]
        )
    else:
        window = MAE_WINDOW_DAYS * d
        methods = np.stack(
            [np.argmin(trailing_mae(x, d, window)[:, arrivals], axis=0) for x in actual]
        )
        views = np.stack(
            [
                window_means(forecast_matrix(x, arrivals, m, shape.horizon, d), shape)
                for x, m in zip(actual, methods, strict=True)
            ]
        )  # (R, T, delay + 1)
    offset = np.argmin(views, axis=-1)  # first minimum: earliest start
    best = np.take_along_axis(views, offset[..., None], axis=-1)[..., 0]
    temporal_planned = np.take_along_axis(means, arrivals[None, :] + offset, axis=-1)
    lowest = best.min(axis=0)
    tied = best == lowest
    earliest = np.where(tied, offset, np.iinfo(np.int64).max).min(axis=0)
    ranks = np.asarray(rank)[:, None]
    winner_rank = np.where(tied & (offset == earliest), ranks, np.iinfo(np.int64).max).min(axis=0)
    region = np.argmax(ranks == winner_rank, axis=0)
    cols = np.arange(len(arrivals))
    return Outcome(
        arrivals=arrivals,
        region=region,
        offset=offset[region, cols],
        planned=temporal_planned[region, cols],
        run_now=window_means(baseline, shape)[arrivals],
        temporal_offset=offset,
        temporal_planned=temporal_planned,
        temporal_now=means[:, arrivals],
        methods=methods,
    )


def backtest_loop(
    actual: np.ndarray,
    rank: Sequence[int],
    baseline: np.ndarray,
    shape: JobShape,
    forecast: str,
    d: int,
    arrivals: Sequence[int] | None = None,
) -> Outcome:
    """Plain-Python reference for :func:`backtest_arrays`: loops over arrivals x regions x starts.

    Args:
        actual: Readings, shape ``(R, N)``.
        rank: Tie-break rank per row.
        baseline: Readings of the baseline region, shape ``(N,)``.
        shape: The job.
        forecast: ``oracle`` or ``day-ahead``.
        d: Steps per day.
        arrivals: Subset of the arrival steps to evaluate (default: all).

    Returns:
        The per-arrival outcome, for the arrivals evaluated.
    """
    if forecast == "ridge":
        raise ValueError("the reference loop covers the oracle and day-ahead forecasts only")
    rows = [[float(v) for v in row] for row in actual]
    base_row = [float(v) for v in baseline]
    all_arrivals = _arrivals(len(rows[0]), shape, forecast, d)
    todo = [int(t) for t in (all_arrivals if arrivals is None else arrivals)]
    r_count = len(rows)
    out: dict[str, list[Any]] = {k: [] for k in ("region", "offset", "planned", "run_now")}
    t_off: list[list[int]] = [[] for _ in rows]
    t_plan: list[list[float]] = [[] for _ in rows]
    t_now: list[list[float]] = [[] for _ in rows]
    t_method: list[list[int]] = [[] for _ in rows]
    for t in todo:
        best: tuple[float, int, int, int] | None = None
        for r in range(r_count):
            if forecast == "oracle":
                plan_row, base = rows[r], t
            else:
                plan_row, method = reference_forecast(rows[r][:t], shape.horizon, d)
                t_method[r].append(METHODS.index(method))
                base = 0
            r_best: tuple[float, int] | None = None
            for o in range(shape.delay_steps + 1):
                value = window_mean_loop(plan_row, base + o, shape)
                if r_best is None or value < r_best[0]:
                    r_best = (value, o)
            assert r_best is not None
            t_off[r].append(r_best[1])
            t_plan[r].append(window_mean_loop(rows[r], t + r_best[1], shape))
            t_now[r].append(window_mean_loop(rows[r], t, shape))
            key = (r_best[0], r_best[1], rank[r], r)
            if best is None or key < best:
                best = key
        assert best is not None
        out["region"].append(best[3])
        out["offset"].append(best[1])
        out["planned"].append(t_plan[best[3]][-1])
        out["run_now"].append(window_mean_loop(base_row, t, shape))
    return Outcome(
        arrivals=np.array(todo),
        region=np.array(out["region"]),
        offset=np.array(out["offset"]),
        planned=np.array(out["planned"]),
        run_now=np.array(out["run_now"]),
        temporal_offset=np.array(t_off),
        temporal_planned=np.array(t_plan),
        temporal_now=np.array(t_now),
        methods=np.array(t_method) if forecast == "day-ahead" else None,
    )


def _iso(ts: pd.Timestamp) -> str:
    text: str = ts.isoformat()
    return text.replace("+00:00", "Z")


def _saving(planned: np.ndarray, now: np.ndarray) -> float:
    return round(float(100 * (1 - planned.sum() / now.sum())), 3)


@dataclass(frozen=True)
class BacktestResult:
    """Summary of a back-test (JSON via :meth:`to_json`)."""

    jobs: int
    savings_pct: float
    per_region: dict[str, float]
    regions: list[str]
    baseline_region: str
    duration_hours: float
    max_delay_hours: float
    forecast: str
    first_arrival_utc: str
    last_arrival_utc: str
    planned_mean_gco2e_per_kwh: float
    run_now_mean_gco2e_per_kwh: float
    mean_delay_hours: float
    chosen_share: dict[str, float]
    forecast_mae: dict[str, dict[str, float]]
    method_share: dict[str, dict[str, float]]
    data_source: str

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready values."""
        return asdict(self)

    def to_json(self) -> str:
        """Serialise the result (stable key order)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def run_backtest(
    frame: pd.DataFrame,
    duration_hours: float,
    max_delay_hours: float,
    *,
    regions: Sequence[str] | None = None,
    baseline_region: str | None = None,
    forecast: str = "oracle",
    data_source: str = "",
) -> BacktestResult:
    """Back-test the planner on a wide intensity frame.

    Args:
        frame: Wide intensity frame (see :mod:`carbon_aware.timeseries`).
        duration_hours: Job length in hours.
        max_delay_hours: How long each job's start may wait.
        regions: Candidate series (default: every column).
        baseline_region: Run-now comparison (default: first candidate; with one candidate the
            back-test is temporal-only).
        forecast: ``oracle`` (default), ``day-ahead`` or ``ridge``.
        data_source: Where the series came from, copied into the result.

    Returns:
        The summary.

    Raises:
        ValueError: Unknown names, bad job figures, or too little data.
    """
    names = list(regions) if regions else [str(c) for c in frame.columns]
    baseline = baseline_region or names[0]
    missing = [n for n in dict.fromkeys([*names, baseline]) if n not in frame.columns]
    if missing or len(set(names)) != len(names):
        raise ValueError(
            f"unknown or duplicate series {', '.join(missing) or names}; the data has: "
            f"{', '.join(map(str, frame.columns))}"
        )
    step = step_hours(frame)
    d = steps_per_day(step)
    shape = JobShape.from_hours(duration_hours, max_delay_hours, step)
    order = tie_order(names)
    actual = frame[names].to_numpy(dtype=float).T
    base_row = frame[baseline].to_numpy(dtype=float)
    outcome = backtest_arrays(actual, [order.index(n) for n in names], base_row, shape, forecast, d)
    index = pd.DatetimeIndex(frame.index)
    chosen = np.bincount(outcome.region, minlength=len(names)) / len(outcome.arrivals)
    mae: dict[str, dict[str, float]] = {}
    share: dict[str, dict[str, float]] = {}
    if outcome.methods is not None:
        start = int(outcome.arrivals[0])
        for r, name in enumerate(names):
            x = actual[r]
            fc = one_day_ahead(x, d)
            mae[name] = {
                m: round(float(np.mean(np.abs(fc[m][start:] - x[start:]))), 3) for m in METHODS
            }
            counts = np.bincount(outcome.methods[r], minlength=len(METHODS))
            share[name] = {
                m: round(float(c / counts.sum()), 4) for m, c in zip(METHODS, counts, strict=True)
            }
    return BacktestResult(
        jobs=len(outcome.arrivals),
        savings_pct=_saving(outcome.planned, outcome.run_now),
        per_region={
            n: _saving(outcome.temporal_planned[r], outcome.temporal_now[r])
            for r, n in enumerate(names)
        },
        regions=names,
        baseline_region=baseline,
        duration_hours=duration_hours,
        max_delay_hours=max_delay_hours,
        forecast=forecast,
        first_arrival_utc=_iso(index[int(outcome.arrivals[0])]),
        last_arrival_utc=_iso(index[int(outcome.arrivals[-1])]),
        planned_mean_gco2e_per_kwh=round(float(outcome.planned.mean()), 3),
        run_now_mean_gco2e_per_kwh=round(float(outcome.run_now.mean()), 3),
        mean_delay_hours=round(float(outcome.offset.mean()) * step, 3),
        chosen_share={n: round(float(chosen[r]), 4) for r, n in enumerate(names)},
        forecast_mae=mae,
        method_share=share,
        data_source=data_source,
    )
