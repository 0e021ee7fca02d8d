"""Back-test the planner over history: what would planning have saved?

For every arrival step ``t`` with ``t + delay + span`` inside the data, the planner picks a region
and start (``oracle``: from the actual series; ``day-ahead`` and ``ridge``: from forecasts
issued at ``t`` with readings before ``t`` only) and the planned run's *actual* mean intensity is
compared with running at once in the baseline region:

* ``savings_pct = 100 * (1 - sum(planned actual means) / sum(run-now means))``.
* ``per_region[r]``: the same figure for temporal-only shifting inside ``r``;
  ``per_region_oracle[r]`` what perfect knowledge would have saved there, ``per_region_kept_pct[r]``
  the share of that the forecast kept, ``per_region_losing_starts_pct[r]`` the share of jobs
  whose planned run was dirtier than starting at once.

The wait rule is the plan's: waiting must gain at least ``min_gain_pct`` (expected, by the
forecast) over starting at once in the region best now, else the job starts now. Its default for
the forecasts is :data:`.skill.MIN_GAIN_ERROR_SHARE` times the forecast's saving error over the
last :data:`.skill.ERROR_DAYS` days of jobs that had ended by the arrival (what ``plan`` computes
from the history it is given), starting now while fewer than :data:`.skill.MIN_ERROR_ARRIVALS`
have ended; none for the oracle.

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
    day_step_of,
    tie_order,
    window_mean_loop,
    window_means,
)
from carbon_aware.planning.ridge import RIDGE_HISTORY_DAYS, ridge_backtest
from carbon_aware.planning.skill import (
    ERROR_DAYS,
    MIN_ERROR_ARRIVALS,
    MIN_GAIN_ERROR_SHARE,
    expected_and_realised,
    trailing_error,
)
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
        oracle: ``(R, T)`` actual mean of the best start per row (perfect knowledge).
        min_gain: ``(R, T)`` wait threshold (%) applied per row and arrival.
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
    oracle: np.ndarray | None = None
    min_gain: np.ndarray | None = None


def min_gain_thresholds(
    views: np.ndarray,
    means: np.ndarray,
    arrivals: np.ndarray,
    offset: np.ndarray,
    shape: JobShape,
    d: int,
    min_gain_pct: float | None,
    backtested: bool,
) -> np.ndarray:
    """``(R, T)`` thresholds: fixed, the back-tested rule, or 0."""
    if min_gain_pct is not None:
        return np.full(offset.shape, float(min_gain_pct))
    if not backtested:
        return np.zeros(offset.shape)
    out = np.empty(offset.shape)
    for r in range(views.shape[0]):
        expected, realised = expected_and_realised(views[r], means[r], arrivals, offset[r])
        error = trailing_error(
            np.abs(expected - realised), shape.horizon, ERROR_DAYS * d, MIN_ERROR_ARRIVALS
        )
        out[r] = np.nan_to_num(MIN_GAIN_ERROR_SHARE * error, nan=np.inf)  # unknown: start now
    return np.round(out, 3)


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
    *,
    day_step: int = 0,
    min_gain_pct: float | None = None,
    backtested_min_gain: bool = False,
) -> Outcome:
    """Vectorised back-test over rows of ``actual`` (one row per region).

    Args:
        actual: Readings, shape ``(R, N)``.
        rank: Tie-break rank per row (lower wins a tie after the start time).
        baseline: Readings of the baseline region, shape ``(N,)``.
        shape: The job.
        forecast: ``oracle``, ``day-ahead`` or ``ridge``.
        d: Steps per day.
        day_step: Step of the (UTC) day of the first reading.
        min_gain_pct: Fixed wait threshold (%); None: see ``backtested_min_gain``.
        backtested_min_gain: With ``min_gain_pct`` None and a forecast, the back-tested rule
            (see the module docstring); else waits for any gain.

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
            [
                window_means(
                    ridge_backtest(x, arrivals, shape.horizon, d, day_step=day_step), shape
                )
                for x in actual
            ]
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
    threshold = min_gain_thresholds(
        views,
        means,
        arrivals,
        offset,
        shape,
        d,
        min_gain_pct,
        backtested_min_gain and forecast != "oracle",
    )
    now_view = views[..., 0]
    gain = 100 * (1 - best / np.where(now_view > 0, now_view, np.inf))
    temporal_offset = np.where((offset > 0) & (gain < threshold), 0, offset)
    temporal_planned = np.take_along_axis(means, arrivals[None, :] + temporal_offset, axis=-1)
    big = np.iinfo(np.int64).max
    ranks = np.asarray(rank)[:, None]
    lowest = best.min(axis=0)
    tied = best == lowest
    earliest = np.where(tied, offset, big).min(axis=0)
    winner_rank = np.where(tied & (offset == earliest), ranks, big).min(axis=0)
    region = np.argmax(ranks == winner_rank, axis=0)
    cols = np.arange(len(arrivals))
    chosen_offset = offset[region, cols]
    # The wait rule: compare with the region best now (ties by rank), as plan_job does.
    now_low = now_view.min(axis=0)
    now_rank = np.where(now_view == now_low, ranks, big).min(axis=0)
    now_region = np.argmax(ranks == now_rank, axis=0)
    wait_gain = 100 * (1 - lowest / np.where(now_low > 0, now_low, np.inf))
    start_now = (chosen_offset > 0) & (wait_gain < threshold[region, cols])
    region = np.where(start_now, now_region, region)
    chosen_offset = np.where(start_now, 0, chosen_offset)
    all_oracle = sliding_window_view(means, shape.delay_steps + 1, axis=-1)[:, arrivals, :]
    return Outcome(
        arrivals=arrivals,
        region=region,
        offset=chosen_offset,
        planned=means[region, arrivals + chosen_offset],
        run_now=window_means(baseline, shape)[arrivals],
        temporal_offset=temporal_offset,
        temporal_planned=temporal_planned,
        temporal_now=means[:, arrivals],
        methods=methods,
        oracle=all_oracle.min(axis=-1),
        min_gain=threshold,
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
    per_region_oracle: dict[str, float]
    per_region_kept_pct: dict[str, float]
    per_region_losing_starts_pct: dict[str, float]
    temporal_median_pct: float
    baseline_rule: str
    min_gain_rule: str

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
    min_gain_pct: float | None = None,
    backtested_min_gain: bool = True,
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
        min_gain_pct: Fixed wait threshold (%); None: the back-tested rule for forecasts (see
            the module docstring) when ``backtested_min_gain``, else any gain.
        backtested_min_gain: See ``min_gain_pct``.

    Returns:
        The summary.

    Raises:
        ValueError: Unknown names, bad job figures, or too little data.
    """
    if min_gain_pct is not None and not min_gain_pct >= 0:
        raise ValueError(f"min_gain_pct must be a percentage >= 0, got {min_gain_pct}")
    names = list(regions) if regions else [str(c) for c in frame.columns]
    baseline = baseline_region or names[0]
    baseline_rule = (
        "given (--baseline-region)"
        if baseline_region
        else "the first candidate"
        + ("" if regions else " (the data's series in order)")
        + ": pass --baseline-region to compare with another"
    )
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
    index = pd.DatetimeIndex(frame.index)
    outcome = backtest_arrays(
        actual,
        [order.index(n) for n in names],
        base_row,
        shape,
        forecast,
        d,
        day_step=day_step_of(pd.Timestamp(index[0]), d),
        min_gain_pct=min_gain_pct,
        backtested_min_gain=backtested_min_gain,
    )
    if min_gain_pct is not None:
        rule = f"fixed: wait only for an expected gain of at least {min_gain_pct:g}%"
    elif backtested_min_gain and forecast != "oracle":
        assert outcome.min_gain is not None
        rule = (
            f"back-tested: {MIN_GAIN_ERROR_SHARE:g} x the forecast's saving error over the last "
            f"{ERROR_DAYS} days (mean threshold "
            f"{float(np.mean(outcome.min_gain[np.isfinite(outcome.min_gain)])):.2f}%; "
            f"{int(np.isinf(outcome.min_gain).sum())} region-arrivals started now while the "
            "error was unknown)"
        )
    else:
        rule = "none: wait for any expected gain"
    assert outcome.oracle is not None
    oracle_now = outcome.temporal_now.sum(axis=1) - outcome.oracle.sum(axis=1)
    kept_now = outcome.temporal_now.sum(axis=1) - outcome.temporal_planned.sum(axis=1)
    per_region = {
        n: _saving(outcome.temporal_planned[r], outcome.temporal_now[r])
        for r, n in enumerate(names)
    }
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
        per_region=per_region,
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
        per_region_oracle={
            n: _saving(outcome.oracle[r], outcome.temporal_now[r]) for r, n in enumerate(names)
        },
        per_region_kept_pct={
            n: round(float(100 * kept_now[r] / oracle_now[r]), 2) if oracle_now[r] > 0 else 100.0
            for r, n in enumerate(names)
        },
        per_region_losing_starts_pct={
            n: round(float(100 * np.mean(outcome.temporal_planned[r] > outcome.temporal_now[r])), 2)
            for r, n in enumerate(names)
        },
        temporal_median_pct=round(float(np.median(list(per_region.values()))), 3),
        baseline_rule=baseline_rule,
        min_gain_rule=rule,
    )
