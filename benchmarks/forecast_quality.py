"""Share of the oracle's temporal savings each forecast keeps, per zone, on held-out real data.

For every arrival hour of the test period a job of ``D`` hours may start up to 24 h later in its
own zone; each method picks the start with the lowest forecast mean, and the *actual* mean of
that start is compared with starting at once. ``kept = (run-now - planned) / (run-now - oracle)``
summed over arrivals (100%: as good as perfect knowledge; 0%: no better than not planning).

Methods (every forecast sees only readings before its arrival):

* ``same_hour_yesterday`` and ``profile_7d`` (same hour a week ago): the naive baselines;
* ``day_ahead``: the product's profile forecast (best of four by trailing 7-day MAE);
* ``ridge_fit``: our per-lead ridge model fitted once on the training period, then frozen;
* ``ridge_online``: the same model as ``plan``/``backtest --forecast ridge`` run it, re-fitted
  weekly on the test period's readings before each arrival (nothing from the training period).

Data and splits (the ridge penalty was chosen on the first half of 2021, never on a test year):

* Electricity Maps hourly lifecycle intensity, 16 zones: fit on 2021, test on 2023 and 2024
  (``--em-dir``, default ``../shared/data/electricitymaps-hourly-2021-2024`` beside the repo;
  read at run time, not shipped: see that folder's PROVENANCE.md);
* the shipped EIA-930 2022 series: fit on January-June, test on July-December.

Every test period starts ``RIDGE_HISTORY_DAYS`` days in, so all methods are judged on the same
arrivals. Run: ``.venv/bin/python benchmarks/forecast_quality.py [--em-dir DIR]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from carbon_aware.planning.forecast import MAE_WINDOW_DAYS, forecast_matrix, trailing_mae
from carbon_aware.planning.planner import JobShape, window_means
from carbon_aware.planning.ridge import RIDGE_HISTORY_DAYS, fit_ridge, ridge_backtest
from carbon_aware.timeseries import load_intensity_csv, load_shipped_eia930

D = 24
SLACK_HOURS = 24
DURATIONS = (1, 24)
METHODS = ("same_hour_yesterday", "profile_7d", "day_ahead", "ridge_fit", "ridge_online")
DEFAULT_EM_DIR = str(
    Path(__file__).resolve().parents[2] / "shared" / "data" / "electricitymaps-hourly-2021-2024"
)


def forecasts(train: np.ndarray, x: np.ndarray, arrivals: np.ndarray, horizon: int) -> dict:
    """Every method's ``(T, horizon)`` forecasts from each arrival of ``x``."""
    fixed = {m: np.full(arrivals.shape, i) for i, m in enumerate(METHODS[:2])}
    chosen = np.argmin(trailing_mae(x, D, MAE_WINDOW_DAYS * D)[:, arrivals], axis=0)
    return {
        **{m: forecast_matrix(x, arrivals, idx, horizon, D) for m, idx in fixed.items()},
        "day_ahead": forecast_matrix(x, arrivals, chosen, horizon, D),
        "ridge_fit": fit_ridge(train, horizon, D).predict(x, arrivals),
        "ridge_online": ridge_backtest(x, arrivals, horizon, D),
    }


def kept_shares(train: np.ndarray, x: np.ndarray, first: int, duration: float) -> dict:
    """Share of the oracle's saving (in %) each method keeps on arrivals from ``first``."""
    shape = JobShape.from_hours(duration, SLACK_HOURS, 1.0)
    arrivals = np.arange(first, x.shape[0] - shape.horizon + 1)
    actual = window_means(x, shape)
    now = actual[arrivals].sum()
    oracle = sliding_window_view(actual, shape.delay_steps + 1)[arrivals].min(axis=1).sum()
    out = {}
    for name, fc in forecasts(train, x, arrivals, shape.horizon).items():
        offset = np.argmin(window_means(fc, shape), axis=1)
        planned = actual[arrivals + offset].sum()
        out[name] = 100 * (now - planned) / (now - oracle) if now > oracle else float("nan")
    return out


def cases(em_dir: Path) -> list[tuple[str, str, np.ndarray, np.ndarray, int]]:
    """``(dataset, zone, training series, test series, first test arrival)`` per zone/period."""
    out = []
    first = RIDGE_HISTORY_DAYS * D
    if (em_dir / "em_hourly_lca_2021.csv.gz").exists():
        years = {
            y: load_intensity_csv(em_dir / f"em_hourly_lca_{y}.csv.gz") for y in (2021, 2023, 2024)
        }
        for zone in years[2021].columns:
            train = years[2021][zone].to_numpy(dtype=float)
            for year in (2023, 2024):
                test = years[year][zone].to_numpy(dtype=float)
                out.append((f"EM {year}", str(zone), train, test, first))
    else:
        print(f"(no Electricity Maps data in {em_dir}: EIA-930 only)")
    eia = load_shipped_eia930()
    split = int(np.searchsorted(pd.DatetimeIndex(eia.index), pd.Timestamp("2022-07-01", tz="UTC")))
    for zone in eia.columns:
        series = eia[zone].to_numpy(dtype=float)
        # ridge_online re-fits on the readings before each arrival of the whole year.
        out.append(("EIA 2022H2", str(zone), series[:split], series, split))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--em-dir", type=Path, default=Path(DEFAULT_EM_DIR))
    args = parser.parse_args()
    rows = []
    for dataset, zone, train, test, first in cases(args.em_dir):
        for duration in DURATIONS:
            shares = kept_shares(train, test, first, duration)
            rows.append({"data": dataset, "zone": zone, "duration_h": duration, **shares})
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 500)
    for duration in DURATIONS:
        part = table[table.duration_h == duration].drop(columns="duration_h")
        print(f"\n=== {duration} h job, {SLACK_HOURS} h slack: % of oracle temporal savings kept")
        print(part.to_string(index=False, float_format=lambda v: f"{v:6.1f}"))
        summary = part.groupby("data")[list(METHODS)].median()
        print(f"\nmedian over zones ({duration} h):")
        print(summary.to_string(float_format=lambda v: f"{v:6.1f}"))
        ridge = part["ridge_online"].median()
        for baseline in ("day_ahead", "same_hour_yesterday", "profile_7d"):
            base = part[baseline].median()
            ratio = f"{ridge / base:.2f}" if base > 1 else "n/a (baseline keeps about 0)"
            print(f"ratio ridge_online / {baseline} (median over all zones, {duration} h): {ratio}")


if __name__ == "__main__":
    main()
