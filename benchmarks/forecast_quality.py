"""Share of the oracle's temporal savings our forecast keeps on zones and years not tuned on.

For every arrival hour a job of ``D`` hours may start up to 24 h later in its own zone; the start
with the lowest forecast mean is taken and its *actual* mean compared with starting at once.
``kept = (run-now - planned) / (run-now - oracle)``, summed over a zone-year's arrivals (100 %: as
good as perfect knowledge; 0 %: no better than not planning).

Data: Electricity Maps hourly lifecycle intensity, 16 zones, 2021, 2023 and 2024 (``--em-dir``,
default ``../shared/data/electricitymaps-hourly-2021-2024`` beside the repo; read at run time, not
shipped: see that folder's PROVENANCE.md). 2020 and 2022 are the project's held-out years and are
not read here.

Honest split, leave-one-zone-out *and* across years: the ridge's settings (penalty per sample x
time-of-day harmonics, :data:`GRID`) are chosen for each zone on 2021 using the *other 15 zones*
only (best mean over job lengths of the median kept share), then that zone is judged on 2023 and
2024 with the model re-fitted online as ``backtest --forecast ridge`` does (weekly, on readings
before each arrival; the first 28 days are history). Each test figure is a zone-year whose zone
and year played no part in the choice.

Printed: per job length, ours median [p10] over test zone-years, the lowest zone-year, the
day-ahead profile forecast's median and the previous ridge (no harmonics, penalty 1e-4); the
same shares with the default wait rule applied (what ``backtest`` reports); the MAPE of our
forecast (1-24 h and 25-48 h leads); and the default wait rule (``MIN_GAIN_ERROR_SHARE`` x the
back-tested saving error) against waiting for any gain and a fixed 5 %: share of the
savings kept, share of jobs that ended dirtier than starting at once, zone-months with negative
savings. Run: ``.venv/bin/python benchmarks/forecast_quality.py [--em-dir DIR]`` (under a minute
on 2 cores).
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from carbon_aware.planning.backtest import min_gain_thresholds
from carbon_aware.planning.forecast import MAE_WINDOW_DAYS, forecast_matrix, trailing_mae
from carbon_aware.planning.planner import JobShape, window_means
from carbon_aware.planning.ridge import HARMONICS, RIDGE_HISTORY_DAYS, RIDGE_LAMBDA, ridge_backtest
from carbon_aware.timeseries import load_intensity_csv

D = 24
SLACK_HOURS = 24
DURATIONS = (1, 4, 8, 24)
HORIZON = max(DURATIONS) + SLACK_HOURS
TUNE_YEAR = 2021
TEST_YEARS = (2023, 2024)
GRID = tuple(itertools.product((1e-5, 1e-4, 1e-3), (0, HARMONICS)))
"""(penalty, harmonics) candidates."""
PREVIOUS = (1e-4, 0)
"""The ridge before time-of-day harmonics."""
FIXED_GAIN_PCT = 5.0
EM_FOLDER = Path("shared") / "data" / "electricitymaps-hourly-2021-2024"
DEFAULT_EM_DIR = next(
    (str(p / EM_FOLDER) for p in Path(__file__).resolve().parents if (p / EM_FOLDER).is_dir()),
    str(Path(__file__).resolve().parents[2] / EM_FOLDER),
)
"""The first ``shared/data/...`` folder above the repo (a worktree sits one level deeper)."""


def load(em_dir: Path) -> tuple[list[str], dict[int, np.ndarray]]:
    """Zones and ``(zones, hours)`` arrays per year (every year starts at 00:00 UTC)."""
    years = {}
    zones: list[str] = []
    for year in (TUNE_YEAR, *TEST_YEARS):
        frame = load_intensity_csv(em_dir / f"em_hourly_lca_{year}.csv.gz")
        assert frame.index[0].hour == 0
        zones = [str(c) for c in frame.columns]
        years[year] = frame.to_numpy(dtype=float).T
    return zones, years


def arrivals_of(x: np.ndarray) -> np.ndarray:
    return np.arange(RIDGE_HISTORY_DAYS * D, x.shape[0] - HORIZON + 1)


def kept_pct(x: np.ndarray, forecast: np.ndarray, duration: int) -> float:
    """Share of the oracle's saving kept when starting at the forecast's lowest window."""
    shape = JobShape.from_hours(duration, SLACK_HOURS, 1.0)
    arrivals = arrivals_of(x)
    actual = window_means(x, shape)
    now = actual[arrivals].sum()
    oracle = sliding_window_view(actual, shape.delay_steps + 1)[arrivals].min(axis=1).sum()
    offset = np.argmin(window_means(forecast[:, : shape.horizon], shape), axis=1)
    return float(100 * (now - actual[arrivals + offset].sum()) / (now - oracle))


def ridge(x: np.ndarray, penalty: float, harmonics: int) -> np.ndarray:
    return ridge_backtest(x, arrivals_of(x), HORIZON, D, penalty=penalty, harmonics=harmonics)


def day_ahead(x: np.ndarray) -> np.ndarray:
    arrivals = arrivals_of(x)
    chosen = np.argmin(trailing_mae(x, D, MAE_WINDOW_DAYS * D)[:, arrivals], axis=0)
    return forecast_matrix(x, arrivals, chosen, HORIZON, D)


def rule_stats(x: np.ndarray, forecast: np.ndarray, duration: int) -> dict[str, np.ndarray]:
    """Per wait rule: saving (sum), losing share, negative months, kept % of the oracle."""
    shape = JobShape.from_hours(duration, SLACK_HOURS, 1.0)
    arrivals = arrivals_of(x)
    actual = window_means(x, shape)
    views = window_means(forecast[:, : shape.horizon], shape)[None]
    offset = np.argmin(views, axis=-1)
    best = np.take_along_axis(views, offset[..., None], axis=-1)[..., 0]
    gain = 100 * (1 - best / np.where(views[..., 0] > 0, views[..., 0], np.inf))
    out = {}
    for name, fixed, backtested in (
        ("any gain", None, False),
        ("default rule", None, True),
        (f"fixed {FIXED_GAIN_PCT:g}%", FIXED_GAIN_PCT, False),
    ):
        threshold = min_gain_thresholds(
            views, actual[None], arrivals, offset, shape, D, fixed, backtested
        )
        chosen = np.where((offset > 0) & (gain < threshold), 0, offset)[0]
        planned = actual[arrivals + chosen]
        now = actual[arrivals]
        # About-monthly blocks of 730 arrivals; a short last stub joins the block before it.
        starts = np.arange(0, max(arrivals.shape[0] - 365, 1), 730)
        months = np.add.reduceat(now - planned, starts)
        oracle = sliding_window_view(actual, shape.delay_steps + 1)[arrivals].min(axis=1)
        out[name] = np.array(
            [
                (now - planned).sum(),
                np.mean(planned > now),
                (months < 0).sum(),
                100 * (now - planned).sum() / (now - oracle).sum(),
            ]
        )
    return out


def mape(x: np.ndarray, forecast: np.ndarray) -> tuple[float, float]:
    arrivals = arrivals_of(x)
    target = x[arrivals[:, None] + np.arange(HORIZON)[None, :]]
    ape = np.abs(forecast - target) / np.maximum(target, 1e-9)
    return float(100 * ape[:, :24].mean()), float(100 * ape[:, 24:48].mean())


def em_dir_from_args(description: str) -> Path:
    """Parse ``--em-dir`` and check the folder holds the Electricity Maps files."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--em-dir", type=Path, default=Path(DEFAULT_EM_DIR))
    em_dir: Path = parser.parse_args().em_dir
    if not (em_dir / f"em_hourly_lca_{TUNE_YEAR}.csv.gz").exists():
        raise SystemExit(f"no Electricity Maps data in {em_dir}; pass --em-dir")
    return em_dir


def main() -> None:
    em_dir = em_dir_from_args(__doc__.splitlines()[0])
    began = time.perf_counter()
    zones, years = load(em_dir)
    # kept[config][year]: (zones, durations)
    kept = {
        cfg: {
            y: np.array(
                [
                    [kept_pct(x, fc, dur) for dur in DURATIONS]
                    for x in years[y]
                    for fc in [ridge(x, *cfg)]
                ]
            )
            for y in (TUNE_YEAR, *TEST_YEARS)
        }
        for cfg in GRID
    }
    chosen = {}
    for z, zone in enumerate(zones):
        others = [i for i in range(len(zones)) if i != z]
        score = {cfg: np.median(kept[cfg][TUNE_YEAR][others], axis=0).mean() for cfg in GRID}
        chosen[zone] = max(GRID, key=lambda cfg: (score[cfg], -GRID.index(cfg)))
    ours = np.array(
        [kept[chosen[zone]][y][z] for y in TEST_YEARS for z, zone in enumerate(zones)]
    )  # (test zone-years, durations)
    previous = np.concatenate([kept[PREVIOUS][y] for y in TEST_YEARS])
    profile = np.array(
        [
            [kept_pct(x, fc, dur) for dur in DURATIONS]
            for y in TEST_YEARS
            for x in years[y]
            for fc in [day_ahead(x)]
        ]
    )
    names = [f"{zone} {y}" for y in TEST_YEARS for zone in zones]
    print(f"settings chosen per zone on {TUNE_YEAR} from the other zones (penalty, harmonics):")
    counts: dict[tuple[float, int], int] = {}
    for cfg in chosen.values():
        counts[cfg] = counts.get(cfg, 0) + 1
    print("  " + "; ".join(f"{cfg}: {n} zones" for cfg, n in counts.items()))
    print(f"  (shipped defaults: penalty {RIDGE_LAMBDA:g}, harmonics {HARMONICS})")
    print(
        f"\nEM {'/'.join(map(str, TEST_YEARS))}, {len(names)} zone-years, {SLACK_HOURS} h slack: "
        "share of the oracle's temporal savings kept"
    )
    print(
        "| job length | ours (ridge), median [p10] over zone-years | lowest zone-year "
        "| day-ahead median | previous ridge median |"
    )
    print("|---|---|---|---|---|")
    for k, duration in enumerate(DURATIONS):
        low = int(np.argmin(ours[:, k]))
        print(
            f"| {duration} h | {np.median(ours[:, k]):.0f} % "
            f"[{np.percentile(ours[:, k], 10):.0f} %] | {ours[low, k]:.0f} % ({names[low]}) "
            f"| {np.median(profile[:, k]):.0f} % "
            f"| {np.median(previous[:, k]):.0f} % |"
        )
    stats: dict[int, dict[str, np.ndarray]] = {}
    with_rule = np.empty(ours.shape)
    errors = []
    for i, (y, (z, zone)) in enumerate(itertools.product(TEST_YEARS, enumerate(zones))):
        x = years[y][z]
        fc = ridge(x, *chosen[zone])
        errors.append(mape(x, fc))
        for k, duration in enumerate(DURATIONS):
            for name, row in rule_stats(x, fc, duration).items():
                per = stats.setdefault(duration, {})
                per[name] = per.get(name, 0) + np.array([row[0], row[1] / len(names), row[2]])
                if name == "default rule":
                    with_rule[i, k] = row[3]
    print("\nthe same with the default wait rule applied, as `backtest` reports it:")
    print("| job length | median [p10] | lowest zone-year |\n|---|---|---|")
    for k, duration in enumerate(DURATIONS):
        low = int(np.argmin(with_rule[:, k]))
        print(
            f"| {duration} h | {np.median(with_rule[:, k]):.0f} % "
            f"[{np.percentile(with_rule[:, k], 10):.0f} %] | {with_rule[low, k]:.0f} % "
            f"({names[low]}) |"
        )
    err = np.array(errors)
    print(
        f"\nMAPE of our forecast, median over zone-years: {np.median(err[:, 0]):.1f} % at "
        f"1-24 h, {np.median(err[:, 1]):.1f} % at 25-48 h"
    )
    print("\nwait rules (test zone-years): savings kept vs any gain; jobs ending dirtier; ")
    print("zone-months (blocks of 730 arrivals) with negative savings (of " + f"{len(names) * 11})")
    for duration, per in stats.items():
        base = per["any gain"][0]
        text = "; ".join(
            f"{name}: {100 * v[0] / base:.1f} % kept, {100 * v[1]:.1f} % losing, {v[2]:.0f} months"
            for name, v in per.items()
        )
        print(f"  {duration} h: {text}")
    print(f"\n(took {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
