"""What else we tried for our own forecast, judged the way ``forecast_quality.py`` judges ours.

Each variant changes one thing about the shipped ridge (``carbon_aware.planning.ridge``) and is
back-tested exactly as ``backtest --forecast ridge`` back-tests it: re-fitted every week on
readings before each arrival, the first 28 days as history, every arrival hour of the year, the
start with the lowest forecast mean within 24 h of slack. Printed per job length: the share of
the oracle's temporal savings kept, median [p10] and the lowest zone-year, on Electricity Maps
2021 (the year the shipped settings were chosen on) and on 2023/2024 (never tuned on). 2020 and
2022 are held out and not read.

Variants (settings fixed before running, none tuned on the test years):

* ``weekday``: six day-of-week indicators of the target hour (UTC), for weekend demand;
* ``7-day level``: the mean of the last 168 h, for reversion to the recent level;
* ``24 h of lags``: every reading of the last day, not only the last three;
* ``forgetting 0.9/week``: older weeks weigh 0.9 per week less, for seasons;
* ``per quarter-day``: separate weights for each quarter of the target's day;
* ``log scale``: fitted on ``log(x + 0.1 * mean)`` and transformed back;
* ``ensemble``: the mean of three ridges with 0, 3 and 6 time-of-day harmonics;
* ``pooled boosting`` (24 h jobs only): one gradient-boosted model per start offset, trained on
  all 16 zones' 2021 arrivals on 81 features of the last week, choosing the start directly.

The harness's ``shipped`` row is checked to equal ``ridge_backtest``'s forecasts, so the variants
differ from the product only where they say. Run: ``.venv/bin/python
benchmarks/forecast_variants.py [--em-dir DIR]`` (about 4 min on 2 cores).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from forecast_quality import (
    DURATIONS,
    HORIZON,
    TEST_YEARS,
    TUNE_YEAR,
    arrivals_of,
    em_dir_from_args,
    kept_pct,
    load,
)
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.ensemble import HistGradientBoostingRegressor

from carbon_aware.planning.planner import JobShape, window_means
from carbon_aware.planning.ridge import (
    HARMONICS,
    REFIT_DAYS,
    RIDGE_LAMBDA,
    _design_range,
    _prepare,
    _solve,
    lookback,
    ridge_backtest,
)

D = 24
FIRST_WEEKDAY = {2021: 4, 2023: 6, 2024: 0}
"""Day of the week (Monday 0) of 1 January, for the weekday indicators."""


@dataclass(frozen=True)
class Variant:
    """One change to the shipped ridge.

    Attributes:
        name: Printed name.
        harmonics: Time-of-day sine/cosine pairs.
        decay: Weight of a week's samples per week of age (1: the shipped growing fit).
        features: Extra feature columns ``(x, csum, origins, lead, first_weekday) -> (T, k)``.
        groups: Separate weights per this many parts of the target's day (1: one model).
        log: Fit on the log scale.
        members: Average these variants' forecasts instead (an ensemble).
    """

    name: str
    harmonics: int = HARMONICS
    decay: float = 1.0
    features: Callable[[np.ndarray, np.ndarray, np.ndarray, int, int], np.ndarray] | None = None
    groups: int = 1
    log: bool = False
    members: tuple[Variant, ...] = field(default=())


def _weekday(x: np.ndarray, csum: np.ndarray, t: np.ndarray, lead: int, weekday: int) -> np.ndarray:
    day = ((t + lead - 1) // D + weekday) % 7
    return np.stack([(day == k).astype(float) for k in range(1, 7)], axis=1)


def _level(x: np.ndarray, csum: np.ndarray, t: np.ndarray, lead: int, weekday: int) -> np.ndarray:
    return ((csum[t] - csum[t - 7 * D]) / (7 * D))[:, None]


def _lags(x: np.ndarray, csum: np.ndarray, t: np.ndarray, lead: int, weekday: int) -> np.ndarray:
    return np.stack([x[t - k] for k in range(4, D + 1)], axis=1)


def _features(
    prepared: object, xs: np.ndarray, start: int, stop: int, lead: int, v: Variant, weekday: int
) -> np.ndarray:
    """The shipped features of origins ``start..stop-1`` plus the variant's."""
    base = _design_range(prepared, start, stop, lead, D)  # type: ignore[arg-type]
    if v.features is not None:
        t = np.arange(start, stop)
        csum = np.concatenate(([0.0], np.cumsum(xs)))
        base = np.concatenate([base, v.features(xs, csum, t, lead, weekday)], axis=1)
    if v.groups > 1:
        part = ((np.arange(start, stop) + lead - 1) % D) * v.groups // D
        base = np.concatenate([base * (part == g)[:, None] for g in range(v.groups)], axis=1)
    return base


def variant_backtest(x: np.ndarray, origins: np.ndarray, v: Variant, weekday: int) -> np.ndarray:
    """Forecasts from every origin, re-fitted weekly on the targets seen (as the product does)."""
    if v.members:
        return np.mean([variant_backtest(x, origins, m, weekday) for m in v.members], axis=0)
    if v.log:
        shift = 0.1 * float(np.mean(x[: origins[0]]))
        z = np.log(x + shift)
        # One log unit below the history's minimum keeps the series positive (the ridge scales by
        # its mean) without reading readings after the first arrival.
        low = float(z[: origins[0]].min()) - 1.0
        plain = Variant(v.name, v.harmonics, v.decay, v.features, v.groups)
        return np.asarray(np.exp(variant_backtest(z - low, origins, plain, weekday) + low) - shift)
    first, n, block = int(origins[0]), x.shape[0], REFIT_DAYS * D
    scale = float(np.mean(x[:first]))
    xs = np.concatenate([x / scale, np.zeros(HORIZON + block)])
    prepared = _prepare(xs, D, 0, v.harmonics)
    blocks = (int(origins[-1]) - first) // block + 1
    rows = first + blocks * block
    out = np.empty((origins.shape[0], HORIZON))
    for lead in range(1, HORIZON + 1):
        targets = np.arange(lookback(D) + lead - 1, rows)
        stop = max(rows - lead + 1, int(origins[-1]) + 1)
        features = _features(prepared, xs, lookback(D), stop, lead, v, weekday)
        seen = features[: targets.shape[0]].copy()
        valid = targets < n
        seen[~valid] = 0.0
        y = np.where(valid, xs[targets], 0.0)
        head = first - targets[0]
        k = seen.shape[1]
        tail = seen[head:].reshape(blocks, block, k)
        gram = np.matmul(tail.transpose(0, 2, 1), tail)
        cross = np.matmul(tail.transpose(0, 2, 1), y[head:].reshape(blocks, block, 1))[..., 0]
        count = valid[head:].reshape(blocks, block).sum(axis=1)
        xtx, xty, c = seen[:head].T @ seen[:head], seen[:head].T @ y[:head], valid[:head].sum()
        fits = []
        for b in range(blocks):  # fit b sees the head and blocks 0..b-1, older weeks decayed
            fits.append(_solve(xtx, xty, np.array(c), RIDGE_LAMBDA))
            xtx, xty, c = v.decay * xtx + gram[b], v.decay * xty + cross[b], v.decay * c + count[b]
        weights = np.stack(fits)[(origins - first) // block]
        out[:, lead - 1] = np.einsum("tk,tk->t", features[origins - lookback(D)], weights)
    return np.asarray(np.clip(out * scale, 0.0, None))


VARIANTS = (
    Variant("shipped ridge"),
    Variant("weekday", features=_weekday),
    Variant("7-day level", features=_level),
    Variant("24 h of lags", features=_lags),
    Variant("forgetting 0.9/week", decay=0.9),
    Variant("per quarter-day", groups=4),
    Variant("log scale", log=True),
    Variant(
        "ensemble",
        members=(Variant("h0", harmonics=0), Variant("h3"), Variant("h6", harmonics=6)),
    ),
)


def boosting_features(x: np.ndarray, arrivals: np.ndarray, weekday: int) -> np.ndarray:
    """81 features per arrival, each reading scaled by the mean of the last week."""
    week = np.array([x[t - 7 * D : t].mean() for t in arrivals])[:, None]
    lags = np.stack([x[arrivals - k] for k in range(1, 2 * D + 1)], axis=1)
    daily = np.stack(
        [x[arrivals[:, None] - D * (k + 1) + np.arange(D)[None]].mean(axis=1) for k in range(7)], 1
    )
    profile = np.stack(
        [
            np.mean([x[arrivals + lead - D * c] for c in range(lead // D + 1, lead // D + 8)], 0)
            for lead in range(0, 2 * D, 2)
        ],
        axis=1,
    )
    calendar = np.stack([arrivals % D, (arrivals // D + weekday) % 7], axis=1)
    return np.concatenate([lags / week, daily / week, profile / week, calendar], axis=1)


def pooled_boosting_24h(years: dict[int, np.ndarray]) -> np.ndarray:
    """Kept share (24 h jobs) per test zone-year of one boosted model per offset, fit on 2021."""
    shape = JobShape.from_hours(24, 24, 1.0)
    offsets = np.arange(3, 25, 3)

    def data(x: np.ndarray, year: int) -> tuple[np.ndarray, np.ndarray]:
        arrivals = arrivals_of(x)
        views = sliding_window_view(window_means(x, shape), 25)[arrivals]
        return boosting_features(x, arrivals, FIRST_WEEKDAY[year]), views

    train = [data(x, TUNE_YEAR) for x in years[TUNE_YEAR]]
    features = np.concatenate([f for f, _ in train])
    models = [
        HistGradientBoostingRegressor(
            max_iter=150,
            learning_rate=0.05,
            max_leaf_nodes=15,
            categorical_features=[features.shape[1] - 1],
        ).fit(features, np.concatenate([100 * (v[:, o] / v[:, 0] - 1) for _, v in train]))
        for o in offsets
    ]
    kept = []
    for year in TEST_YEARS:
        for x in years[year]:
            f, views = data(x, year)
            predicted = np.stack([np.zeros(len(f))] + [m.predict(f) for m in models], axis=1)
            chosen = np.concatenate([[0], offsets])[np.argmin(predicted, axis=1)]
            now, oracle = views[:, 0], views.min(axis=1)
            planned = views[np.arange(len(views)), chosen]
            kept.append(100 * (now - planned).sum() / (now - oracle).sum())
    return np.array(kept)


def summary(values: np.ndarray) -> str:
    return f"{np.median(values):.0f} [{np.percentile(values, 10):.0f}] {values.min():.0f}"


def main() -> None:
    em_dir = em_dir_from_args(__doc__.splitlines()[0])
    began = time.perf_counter()
    _, years = load(em_dir)
    x0 = years[TUNE_YEAR][0]
    shipped = ridge_backtest(x0, arrivals_of(x0), HORIZON, D)
    harness = variant_backtest(x0, arrivals_of(x0), VARIANTS[0], FIRST_WEEKDAY[TUNE_YEAR])
    assert np.allclose(shipped, harness, rtol=1e-6, atol=1e-6), "harness differs from the product"
    print(
        f"share of the oracle's temporal savings kept, 24 h slack, 16 zones: median [p10] lowest\n"
        f"| variant | {TUNE_YEAR}: " + " | ".join(f"{d} h" for d in DURATIONS) + " | "
        f"{'/'.join(map(str, TEST_YEARS))}: " + " | ".join(f"{d} h" for d in DURATIONS) + " |"
    )
    print("|---" * (1 + 2 * len(DURATIONS)) + "|")
    for v in VARIANTS:
        cells = []
        for group in ((TUNE_YEAR,), TEST_YEARS):
            kept = np.array(
                [
                    [kept_pct(x, fc, d) for d in DURATIONS]
                    for y in group
                    for x in years[y]
                    for fc in [variant_backtest(x, arrivals_of(x), v, FIRST_WEEKDAY[y])]
                ]
            )
            cells += [summary(kept[:, k]) for k in range(len(DURATIONS))]
        print(f"| {v.name} | " + " | ".join(cells) + " |", flush=True)
    boosted = pooled_boosting_24h(years)
    print(f"| pooled boosting (24 h only, test years) | {summary(boosted)} |")
    print(f"\n(took {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
