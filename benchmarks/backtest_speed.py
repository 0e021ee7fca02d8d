"""Time the vectorised back-test against the plain-Python loop over arrivals x starts.

Data: a year of hourly intensity for 123 synthetic zones, each one of the 16 Electricity Maps 2023
series (``--em-dir``, see ``forecast_quality.py``; the held-out years 2020 and 2022 are not used)
rolled by a seeded whole-hour shift, scaled and given seeded multiplicative noise.
Job: 1 h, max delay 24 h, oracle forecast, baseline = zone 0.

Then the forecasting back-tests over the same 123 zones x one year, each timed once against the
oracle run measured here: ``day-ahead`` (profile methods picked by trailing MAE) and ``ridge``
(our per-lead model, re-fitted weekly), both with the default back-tested wait rule as
``carbon-aware backtest`` runs them. Goal: at most 30 s on this 2-core machine. The CPU time is
printed too: on a shared machine the wall time also measures the neighbours.

The loop runs on two evenly spaced subsets of arrivals; its time for every arrival is extrapolated
linearly (fixed cost + per-arrival cost from the two runs). Its choices on the subsets are checked
against the vectorised run. The last line is ``ratio: <loop / vectorised>``.

Run: ``.venv/bin/python benchmarks/backtest_speed.py``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from carbon_aware.planning.backtest import backtest_arrays, backtest_loop
from carbon_aware.planning.planner import JobShape
from carbon_aware.timeseries import load_intensity_csv

try:
    from forecast_quality import DEFAULT_EM_DIR
except ImportError:  # run from elsewhere
    from benchmarks.forecast_quality import DEFAULT_EM_DIR

ZONES = 123
SEED = 2022
SUBSETS = (60, 180)
LIMIT_S = 30.0


def synthetic_zones(em_dir: Path) -> np.ndarray:
    base = load_intensity_csv(em_dir / "em_hourly_lca_2023.csv.gz").to_numpy(dtype=float).T
    rng = np.random.default_rng(SEED)
    rows = []
    for i in range(ZONES):
        series = np.roll(base[i % len(base)], int(rng.integers(-12, 13)))
        noise = rng.normal(1.0, 0.05, series.size)
        rows.append(np.clip(series * rng.uniform(0.6, 1.4) * noise, 0.0, None))
    return np.array(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--em-dir", type=Path, default=Path(DEFAULT_EM_DIR))
    actual = synthetic_zones(parser.parse_args().em_dir)
    shape = JobShape.from_hours(1, 24, 1.0)
    rank = list(range(ZONES))
    print(f"data: {ZONES} zones x {actual.shape[1]} hourly steps; job 1 h, max delay 24 h, oracle")

    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        vec = backtest_arrays(actual, rank, actual[0], shape, "oracle", 24)
        best = min(best, time.perf_counter() - start)
    arrivals = len(vec.arrivals)
    saving = 100 * (1 - vec.planned.sum() / vec.run_now.sum())
    print(f"vectorised: {arrivals} arrivals in {best:.3f} s (best of 3); savings {saving:.2f}%")

    timings = []
    for count in SUBSETS:
        subset = np.linspace(0, arrivals - 1, count).astype(int)
        start = time.perf_counter()
        loop = backtest_loop(actual, rank, actual[0], shape, "oracle", 24, arrivals=subset)
        timings.append(time.perf_counter() - start)
        assert (loop.region == vec.region[subset]).all()
        assert (loop.offset == vec.offset[subset]).all()
        print(f"loop: {count} arrivals in {timings[-1]:.3f} s (choices match the vectorised run)")
    per_arrival = (timings[1] - timings[0]) / (SUBSETS[1] - SUBSETS[0])
    fixed = max(timings[0] - per_arrival * SUBSETS[0], 0.0)
    loop_total = fixed + per_arrival * arrivals
    print(
        f"loop extrapolated linearly to all {arrivals} arrivals: {loop_total:.1f} s "
        f"({fixed:.2f} s fixed + {per_arrival * 1000:.2f} ms per arrival)"
    )
    print(f"ratio: {loop_total / best:.0f}")

    for forecast in ("day-ahead", "ridge"):
        start, cpu = time.perf_counter(), time.process_time()
        run = backtest_arrays(
            actual, rank, actual[0], shape, forecast, 24, backtested_min_gain=True
        )
        took = time.perf_counter() - start
        cpu = time.process_time() - cpu
        saving = 100 * (1 - run.planned.sum() / run.run_now.sum())
        verdict = "ok" if took <= LIMIT_S else f"over the {LIMIT_S:.0f} s limit"
        print(
            f"{forecast}: {ZONES} zones x {len(run.arrivals)} arrivals in {took:.2f} s, CPU "
            f"{cpu:.2f} s ({verdict});"
            f" savings {saving:.2f}%; ratio to oracle: {took / best:.0f}"
        )


if __name__ == "__main__":
    main()
