"""Plan where and when to run a job: the lowest mean carbon intensity within a delay budget.

The job runs uninterrupted for ``duration_hours`` and starts on one of the data's time steps, at
most ``max_delay_hours`` after the planning time. Each reading covers ``[t, t + step)``, so the
expected intensity of a start is the time-weighted mean over ``[start, start + duration)`` (a
duration that is not a whole number of steps weights the last step by its fraction).

Ties go to the earlier start, then the lower annual intensity from the region catalogue (+inf for
names that are not GCP regions), then the name. Means are compared after rounding to
``DECIMALS`` decimals so float noise cannot break exact ties.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from carbon_aware.planning.constraints import (
    Constraints,
    Exclusion,
    intensity_exclusion,
    no_region_left,
    static_exclusions,
)
from carbon_aware.planning.forecast import DECIMALS, day_ahead_forecast, steps_per_day
from carbon_aware.planning.ridge import ridge_forecast
from carbon_aware.regions import load_catalogue
from carbon_aware.timeseries import sliding_sums, step_hours

PLAN_SCHEMA_VERSION = 1
WAIT_NOTE = "wait: "
"""Prefix of the note that says why a plan waits or starts now."""
FORECASTS = ("oracle", "day-ahead", "ridge")


@dataclass(frozen=True)
class JobShape:
    """A job's duration and delay budget in data steps.

    Attributes:
        duration_steps: Duration / step (may be fractional).
        full_steps: Whole steps the job covers.
        fraction: Fraction of one more step it covers (0 when the duration is whole steps).
        span: Steps touched, ``ceil(duration_steps)``.
        delay_steps: Latest start offset from the planning time, in steps.
    """

    duration_steps: float
    full_steps: int
    fraction: float
    span: int
    delay_steps: int

    @classmethod
    def from_hours(cls, duration_hours: float, max_delay_hours: float, step: float) -> JobShape:
        """Convert hours to steps.

        Args:
            duration_hours: Job length in hours, > 0.
            max_delay_hours: How long the start may wait, >= 0 (0: start now).
            step: Data step in hours.

        Returns:
            The shape.

        Raises:
            ValueError: If a value is not finite, the duration is not positive or the delay is
                negative.
        """
        if not (math.isfinite(duration_hours) and duration_hours > 0):
            raise ValueError(f"duration_hours must be > 0, got {duration_hours}")
        if not (math.isfinite(max_delay_hours) and max_delay_hours >= 0):
            raise ValueError(f"max_delay_hours must be >= 0, got {max_delay_hours}")
        steps = round(duration_hours / step, 9)
        full = math.floor(steps)
        fraction = round(steps - full, 9)
        return cls(
            steps, full, fraction, full + (fraction > 0), math.floor(max_delay_hours / step + 1e-9)
        )

    @property
    def horizon(self) -> int:
        """Steps from the planning time to the end of the latest possible run."""
        return self.delay_steps + self.span


def window_means(values: np.ndarray, shape: JobShape) -> np.ndarray:
    """Return the job's mean intensity for every start, each window summed on its own.

    Args:
        values: Readings, shape ``(..., N)``.
        shape: The job.

    Returns:
        Shape ``(..., N - span + 1)``: entry ``s`` is the time-weighted mean over the job
        starting at step ``s``, rounded to ``DECIMALS``.
    """
    n = values.shape[-1] - shape.span + 1
    sums = sliding_sums(values, shape.full_steps)[..., :n]
    if shape.fraction:
        sums = sums + shape.fraction * values[..., shape.full_steps : shape.full_steps + n]
    means: np.ndarray = np.round(sums / shape.duration_steps, DECIMALS)
    return means


def window_mean_loop(values: Sequence[float], start: int, shape: JobShape) -> float:
    """Plain-Python twin of :func:`window_means` for one start (for tests and benchmarks)."""
    total = 0.0
    for k in range(shape.full_steps):
        total += values[start + k]
    if shape.fraction:
        total += shape.fraction * values[start + shape.full_steps]
    return float(np.round(total / shape.duration_steps, DECIMALS))


def annual_intensity(name: str) -> float:
    """Return the catalogue's annual intensity for a GCP region, +inf for any other name."""
    region = load_catalogue().get(name)
    if region is None or region.annual_gco2e_per_kwh is None:
        return math.inf
    return region.annual_gco2e_per_kwh


def tie_order(names: Sequence[str]) -> list[str]:
    """Sort names by the tie-breakers after the start: annual intensity, then name."""
    return sorted(names, key=lambda n: (annual_intensity(n), n))


@dataclass(frozen=True)
class RankedOption:
    """The best start in one region."""

    rank: int
    region: str
    start_utc: str
    delay_hours: float
    mean_gco2e_per_kwh: float
    score: float
    annual_gco2e_per_kwh: float | None


@dataclass(frozen=True)
class Plan:
    """Where and when to run, and what it saves against running now in the baseline region.

    Attributes:
        region: Chosen region (or series name).
        start_utc: Planned start (ISO 8601, UTC).
        end_utc: Planned end.
        expected_gco2e_per_kwh: Expected mean intensity of the planned run.
        baseline_region: Region the saving is measured against.
        run_now_gco2e_per_kwh: Expected mean intensity of starting now in the baseline region.
        expected_saving_pct: ``100 * (1 - expected / run_now)``.
        forecast: ``oracle`` (the series as given) or ``day-ahead`` (own forecast).
        forecast_methods: Method per region (``given series`` for oracle).
        forecast_mae: Day-ahead only: each method's trailing MAE per region.
        forecast_model: The model behind each region's values (``ridge``, ``day-ahead
            <method>`` or ``given series``).
        forecast_error: Per region, that model's back-tested error on the region's own history:
            ridge: ``saving_error_pct`` (expected vs actual saving, points), ``mape_1_24h_pct``,
            ``backtest_arrivals`` and ``min_gain_pct`` (the default wait threshold); day-ahead:
            ``mae_gco2e_per_kwh`` of the chosen method over the trailing week. Empty when the
            history is too short to back-test.
        ranking: Best option per remaining region, best first.
        exclusions: Every candidate left out, with the reason.
        notes: What was cut or assumed; the last one, ``WAIT_NOTE`` + why, says why the plan
            waits or starts now.
    """

    region: str
    start_utc: str
    end_utc: str
    delay_hours: float
    duration_hours: float
    max_delay_hours: float
    planned_at_utc: str
    expected_gco2e_per_kwh: float
    baseline_region: str
    run_now_gco2e_per_kwh: float
    expected_saving_pct: float
    data_source: str
    forecast: str
    forecast_methods: dict[str, str]
    forecast_mae: dict[str, dict[str, float]]
    constraints: dict[str, Any]
    ranking: tuple[RankedOption, ...]
    exclusions: tuple[Exclusion, ...]
    notes: tuple[str, ...] = field(default=())
    schema_version: int = PLAN_SCHEMA_VERSION
    forecast_model: dict[str, str] = field(default_factory=dict)
    forecast_error: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as JSON-ready values."""
        return asdict(self)

    def to_json(self) -> str:
        """Serialise the plan (stable key order)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def _iso(ts: pd.Timestamp) -> str:
    text: str = ts.isoformat()
    return text.replace("+00:00", "Z")


def _planning_values(
    frame: pd.DataFrame, names: list[str], shape: JobShape, forecast: str, now: pd.Timestamp | None
) -> tuple[pd.Timestamp, np.ndarray, dict[str, str], dict[str, dict[str, float]], list[str]]:
    """Return the planning time and the (forecast) values from it, one row per name."""
    index = pd.DatetimeIndex(frame.index)
    step = step_hours(frame)
    notes: list[str] = []
    if forecast == "oracle":
        start = index[0] if now is None else now
        if start not in index:
            raise ValueError(f"planning time {_iso(start)} is not a time step of the data")
        i = int(index.get_loc(start))
        values = frame[names].to_numpy(dtype=float).T[:, i : i + shape.horizon]
        if values.shape[1] < shape.span:
            raise ValueError(
                f"the data end before a {shape.duration_steps * step:g} h job from {_iso(start)}"
            )
        if values.shape[1] < shape.horizon:
            notes.append(
                f"max delay cut to {(values.shape[1] - shape.span) * step:g} h: the data end"
            )
        return start, values, dict.fromkeys(names, "given series"), {}, notes
    if forecast not in FORECASTS:
        raise ValueError(f"unknown forecast {forecast!r}; use one of {', '.join(FORECASTS)}")
    start = index[-1] + (index[1] - index[0]) if now is None else now
    history = frame.loc[frame.index < start, names]
    if len(history) and pd.DatetimeIndex(history.index)[-1] + (index[1] - index[0]) != start:
        raise ValueError(f"planning time {_iso(start)} is not a time step of the data")
    d = steps_per_day(step)
    rows, methods, maes = [], {}, {}
    day_step = day_step_of(pd.Timestamp(history.index[0]), d) if len(history) else 0
    for name in names:
        past = history[name].to_numpy(dtype=float)
        if forecast == "ridge":
            rows.append(ridge_forecast(past, shape.horizon, d, day_step=day_step))
            methods[name] = "ridge"
            continue
        result = day_ahead_forecast(past, shape.horizon, d)
        rows.append(result.values)
        methods[name], maes[name] = result.method, result.mae
    return start, np.array(rows), methods, maes, notes


def day_step_of(ts: pd.Timestamp, d: int) -> int:
    """Return the step of the (UTC) day at which ``ts`` falls, 0 .. d-1."""
    utc = ts.tz_convert("UTC") if ts.tzinfo is not None else ts
    share: float = (utc - utc.normalize()) / pd.Timedelta(days=1)
    return round(share * d) % d


def _model_and_error(
    frame: pd.DataFrame,
    names: list[str],
    forecast: str,
    methods: dict[str, str],
    maes: dict[str, dict[str, float]],
    start: pd.Timestamp,
    hours: tuple[float, float],
) -> tuple[dict[str, str], dict[str, dict[str, float]]]:
    """Name each region's model and give its back-tested error on the region's history."""
    if forecast == "oracle":
        return dict.fromkeys(names, "given series"), {}
    if forecast == "day-ahead":
        return (
            {n: f"day-ahead {methods[n]}" for n in names},
            {n: {"mae_gco2e_per_kwh": maes[n][methods[n]]} for n in names},
        )
    from carbon_aware.planning.skill import forecast_skill

    history = frame.loc[frame.index < start, names]
    models, errors = {}, {}
    hourly = step_hours(frame) == 1.0
    for name in names:
        models[name] = "ridge"
        if not hourly or not len(history):
            continue
        try:
            skill = forecast_skill(
                history[name].to_numpy(dtype=float),
                *hours,
                day_step=day_step_of(pd.Timestamp(history.index[0]), 24),
            )
        except ValueError:
            continue
        errors[name] = {
            "saving_error_pct": skill.saving_error_pct,
            "mape_1_24h_pct": skill.mape_1_24h_pct,
            "backtest_arrivals": float(skill.arrivals),
            "min_gain_pct": skill.min_gain_pct,
        }
    return models, errors


def plan_job(
    frame: pd.DataFrame,
    candidates: Sequence[str],
    duration_hours: float,
    max_delay_hours: float,
    *,
    constraints: Constraints | None = None,
    baseline_region: str | None = None,
    forecast: str = "oracle",
    now: pd.Timestamp | str | None = None,
    data_source: str = "",
    min_gain_pct: float | None = None,
    backtested_min_gain: bool = False,
) -> Plan:
    """Choose the region and start with the lowest expected mean intensity (plus price term).

    Args:
        frame: Wide intensity frame (see :mod:`carbon_aware.timeseries`).
        candidates: Names of columns the job may run in.
        duration_hours: Job length in hours.
        max_delay_hours: How long the start may wait (0: start now).
        constraints: What the plan must respect.
        baseline_region: Where the job would run without planning (default: first candidate).
        forecast: ``oracle`` uses the series from ``now`` as the forecast; ``day-ahead``
            forecasts from the readings before ``now`` with :mod:`.forecast`, ``ridge`` with
            :mod:`.ridge`.
        now: Planning time (default: first step for oracle, the step after the data for
            day-ahead).
        data_source: Where the series came from, copied into the plan.
        min_gain_pct: Start now (in the best region now) unless waiting gains at least this
            many percent (``inf``: never wait); None waits for any gain (but see
            ``backtested_min_gain``).
        backtested_min_gain: With ``min_gain_pct`` None and the ridge forecast, use the chosen
            region's back-tested threshold (``forecast_error[region]["min_gain_pct"]``), as
            the provider path does.

    Returns:
        The plan, with the full ranking and every exclusion.

    Raises:
        ValueError: Bad inputs, names missing from the data, or constraints leaving no region.
    """
    constraints = constraints or Constraints()
    constraints.validate()
    if min_gain_pct is not None and not min_gain_pct >= 0:
        raise ValueError(f"min_gain_pct must be a percentage >= 0, got {min_gain_pct}")
    names = list(candidates)
    if not names or len(set(names)) != len(names):
        raise ValueError(f"give at least one candidate, without duplicates: {names}")
    baseline = baseline_region or names[0]
    missing = [n for n in dict.fromkeys([*names, baseline]) if n not in frame.columns]
    if missing:
        raise ValueError(
            f"no intensity series for {', '.join(missing)}; "
            f"the data has: {', '.join(map(str, frame.columns))}"
        )
    shape = JobShape.from_hours(duration_hours, max_delay_hours, step_hours(frame))
    kept, exclusions, notes = static_exclusions(names, constraints)
    when = None if now is None else pd.Timestamp(now)
    if when is not None and when.tzinfo is None:
        raise ValueError(f"planning time {now!r} must carry a UTC offset")
    when = None if when is None else when.tz_convert("UTC")
    series = list(dict.fromkeys([*kept, baseline]))
    start, values, methods, maes, more_notes = _planning_values(
        frame, series, shape, forecast, when
    )
    means = window_means(values, shape)
    step = step_hours(frame)
    models, errors = _model_and_error(
        frame, series, forecast, methods, maes, start, (duration_hours, max_delay_hours)
    )
    options = []
    for name in kept:
        row = means[series.index(name)]
        offset = int(np.argmin(row))
        excluded = intensity_exclusion(name, float(row[offset]), constraints)
        if excluded is not None:
            exclusions.append(excluded)
            continue
        price = constraints.prices.get(name, 0.0) * constraints.price_weight
        options.append(
            (float(np.round(row[offset] + price, DECIMALS)), offset, name, float(row[offset]))
        )
    if not options:
        raise no_region_left(exclusions, constraints)
    order = {n: i for i, n in enumerate(tie_order([o[2] for o in options]))}
    options.sort(key=lambda o: (o[0], o[1], order[o[2]]))
    stamp = pd.Timedelta(hours=step)
    ranking = tuple(
        RankedOption(
            rank=i + 1,
            region=name,
            start_utc=_iso(start + offset * stamp),
            delay_hours=offset * step,
            mean_gco2e_per_kwh=mean,
            score=score,
            annual_gco2e_per_kwh=None
            if math.isinf(annual_intensity(name))
            else annual_intensity(name),
        )
        for i, (score, offset, name, mean) in enumerate(options)
    )
    now_options = sorted(
        (float(np.round(means[series.index(o[2])][0] + o[0] - o[3], DECIMALS)), order[o[2]], o[2])
        for o in options
    )
    now_name = now_options[0][2]
    now_mean = float(means[series.index(now_name)][0])
    best = ranking[0]
    if min_gain_pct is None and backtested_min_gain and forecast == "ridge":
        if best.region in errors:
            min_gain_pct = errors[best.region]["min_gain_pct"]
            notes.append(
                f"min_gain_pct {min_gain_pct:g}%: back-tested on {best.region}'s history "
                f"(see forecast_error)"
            )
        else:
            min_gain_pct = math.inf
            notes.append(
                f"min_gain_pct inf: our forecast cannot be back-tested on {best.region}'s "
                "history yet, so the plan does not wait"
            )
    wait_gain = 100 * (1 - best.mean_gco2e_per_kwh / now_mean) if now_mean > 0 else 0.0
    reason = "now is the best start"
    if best.delay_hours > 0 and min_gain_pct is not None and wait_gain < min_gain_pct:
        reason = (
            f"starts now in {now_name}: waiting {best.delay_hours:g} h for {best.region} would "
            f"gain {wait_gain:.1f}%, less than min_gain_pct {min_gain_pct:g}%"
        )
        best = RankedOption(0, now_name, _iso(start), 0.0, now_mean, now_mean, None)
    elif best.delay_hours > 0:
        reason = (
            f"waits {best.delay_hours:g} h: the best window is {wait_gain:.1f}% cleaner than "
            f"starting now in {now_name}"
            + ("" if min_gain_pct is None else f" (min_gain_pct {min_gain_pct:g}%)")
        )
    run_now = float(means[series.index(baseline)][0])
    saving = 100 * (1 - best.mean_gco2e_per_kwh / run_now) if run_now > 0 else 0.0
    return Plan(
        region=best.region,
        start_utc=best.start_utc,
        end_utc=_iso(pd.Timestamp(best.start_utc) + pd.Timedelta(hours=duration_hours)),
        delay_hours=best.delay_hours,
        duration_hours=duration_hours,
        max_delay_hours=max_delay_hours,
        planned_at_utc=_iso(start),
        expected_gco2e_per_kwh=best.mean_gco2e_per_kwh,
        baseline_region=baseline,
        run_now_gco2e_per_kwh=run_now,
        expected_saving_pct=round(saving, 3),
        data_source=data_source,
        forecast=forecast,
        forecast_methods={n: methods[n] for n in series},
        forecast_mae=maes,
        constraints=constraints.describe(),
        ranking=ranking,
        exclusions=tuple(exclusions),
        notes=(*notes, *more_notes, WAIT_NOTE + reason),
        forecast_model=models,
        forecast_error=errors,
    )
