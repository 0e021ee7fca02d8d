"""The forecast-variants benchmark back-tests the shipped ridge exactly, and its variants differ."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from carbon_aware.planning.ridge import ridge_backtest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCHMARKS))  # the benchmark imports forecast_quality beside it
    try:
        spec = importlib.util.spec_from_file_location(
            "forecast_variants", BENCHMARKS / "forecast_variants.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def series():
    """60 days of a daily cycle with a weekend dip and noise (seeded)."""
    hours = np.arange(60 * 24)
    rng = np.random.default_rng(7)
    weekend = ((hours // 24) % 7 >= 5) * -40.0
    return 300 + 80 * np.sin(2 * np.pi * hours / 24) + weekend + rng.normal(0, 15, hours.size)


def test_the_shipped_row_is_the_products_ridge(bench, series):
    origins = bench.arrivals_of(series)
    expected = ridge_backtest(series, origins, bench.HORIZON, 24)
    got = bench.variant_backtest(series, origins, bench.VARIANTS[0], 0)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("index", range(1, 8))
def test_each_variant_changes_the_forecast_and_stays_finite(bench, series, index):
    origins = bench.arrivals_of(series)
    shipped = bench.variant_backtest(series, origins, bench.VARIANTS[0], 0)
    got = bench.variant_backtest(series, origins, bench.VARIANTS[index], 0)
    assert got.shape == shipped.shape and np.isfinite(got).all()
    assert not np.allclose(got, shipped), bench.VARIANTS[index].name


def test_forgetting_weighs_recent_weeks_more(bench):
    """A level shift after week 5: the forgetting fit follows it faster than the growing fit."""
    hours = np.arange(70 * 24)
    x = (
        200
        + 50 * np.sin(2 * np.pi * hours / 24)
        + np.where(hours >= 35 * 24, 0, 100) * (np.sin(2 * np.pi * hours / 24) > 0)
    )
    origins = bench.arrivals_of(x)
    late = origins >= 56 * 24
    truth = x[origins[late][:, None] + np.arange(bench.HORIZON)[None, :]]
    errors = {}
    for v in (bench.VARIANTS[0], bench.VARIANTS[4]):
        fc = bench.variant_backtest(x, origins, v, 0)[late]
        errors[v.name] = np.abs(fc - truth).mean()
    assert errors["forgetting 0.9/week"] < errors["shipped ridge"]
