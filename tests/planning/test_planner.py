"""Planner objective, tie-breaking and constraints on tiny hand-made series."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from carbon_aware.planning import Constraints, plan_job
from carbon_aware.planning.planner import JobShape, window_mean_loop, window_means
from carbon_aware.regions import load_catalogue


def frame(**series: list[float]) -> pd.DataFrame:
    n = len(next(iter(series.values())))
    index = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC", name="datetime")
    return pd.DataFrame({k.replace("_", "-"): v for k, v in series.items()}, index=index)


def test_objective_minimises_mean_over_the_window() -> None:
    data = frame(a=[5, 1, 1, 9, 9], b=[4, 4, 4, 4, 4])
    plan = plan_job(data, ["a", "b"], duration_hours=2, max_delay_hours=2)
    assert (plan.region, plan.start_utc, plan.end_utc) == (
        "a",
        "2024-01-01T01:00:00Z",
        "2024-01-01T03:00:00Z",
    )
    assert plan.expected_gco2e_per_kwh == 1.0
    assert plan.run_now_gco2e_per_kwh == 3.0  # baseline = first candidate, start now
    assert plan.expected_saving_pct == pytest.approx(66.667)
    assert [(o.region, o.mean_gco2e_per_kwh, o.delay_hours) for o in plan.ranking] == [
        ("a", 1.0, 1.0),
        ("b", 4.0, 0.0),
    ]
    assert plan.exclusions == ()
    json.loads(plan.to_json())


def test_fractional_duration_is_time_weighted() -> None:
    data = frame(a=[5, 1, 1, 9, 9])
    plan = plan_job(data, ["a"], duration_hours=1.5, max_delay_hours=2)
    # start 0: (5 + 0.5 * 1) / 1.5; start 1: (1 + 0.5 * 1) / 1.5 = 1; start 2: (1 + 4.5) / 1.5
    assert plan.delay_hours == 1.0
    assert plan.expected_gco2e_per_kwh == pytest.approx(1.0)
    assert plan.run_now_gco2e_per_kwh == pytest.approx(5.5 / 1.5)


def test_zero_delay_means_start_now() -> None:
    plan = plan_job(frame(a=[5, 1, 1]), ["a"], duration_hours=1, max_delay_hours=0)
    assert plan.delay_hours == 0.0
    assert plan.expected_saving_pct == 0.0


def test_tie_goes_to_the_earlier_start_even_across_regions() -> None:
    data = frame(z=[5, 1, 5, 1], a=[5, 5, 1, 1])
    plan = plan_job(data, ["a", "z"], duration_hours=1, max_delay_hours=3)
    assert (plan.region, plan.delay_hours) == ("z", 1.0)
    assert [o.delay_hours for o in plan.ranking] == [1.0, 2.0]


def test_tie_then_lower_annual_intensity_then_name() -> None:
    catalogue = load_catalogue()
    low, high = sorted(["us-central1", "us-west1"], key=lambda r: catalogue[r].annual_gco2e_per_kwh)
    data = pd.DataFrame(
        {n: [3.0, 2.0] for n in ["ZONE-B", high, "ZONE-A", low]},
        index=pd.date_range("2024-01-01", periods=2, freq="h", tz="UTC", name="datetime"),
    )
    plan = plan_job(data, ["ZONE-B", high, "ZONE-A", low], duration_hours=1, max_delay_hours=1)
    assert [o.region for o in plan.ranking] == [low, high, "ZONE-A", "ZONE-B"]
    assert plan.ranking[0].annual_gco2e_per_kwh == catalogue[low].annual_gco2e_per_kwh
    assert plan.ranking[-1].annual_gco2e_per_kwh is None


def gcp_frame(*names: str, values: list[list[float]] | None = None) -> pd.DataFrame:
    rows = values or [[100.0 * (i + 1)] * 4 for i in range(len(names))]
    index = pd.date_range("2024-01-01", periods=4, freq="h", tz="UTC", name="datetime")
    return pd.DataFrame(dict(zip(names, rows, strict=True)), index=index)


def test_allowed_regions_constraint() -> None:
    data = gcp_frame("us-central1", "us-west1")
    plan = plan_job(
        data,
        ["us-central1", "us-west1"],
        1,
        0,
        constraints=Constraints(allowed_regions=("us-west1",)),
    )
    assert plan.region == "us-west1"
    assert [(e.region, e.constraint, e.reason) for e in plan.exclusions] == [
        ("us-central1", "allowed_regions", "not in the allowed regions")
    ]


def test_residency_constraint() -> None:
    data = gcp_frame("us-west1", "europe-west4")
    plan = plan_job(
        data, ["us-west1", "europe-west4"], 1, 0, constraints=Constraints(residency="eu")
    )
    assert plan.region == "europe-west4"
    (exclusion,) = plan.exclusions
    assert (exclusion.region, exclusion.constraint) == ("us-west1", "residency")
    assert "'us'" in exclusion.reason and "'eu'" in exclusion.reason
    assert plan.baseline_region == "us-west1"  # the baseline may be an excluded region


def test_accelerator_constraint() -> None:
    catalogue = load_catalogue()
    kind = "NVIDIA_TESLA_T4"
    offered = sorted(r for r, reg in catalogue.items() if kind in reg.accelerators)[0]
    missing = sorted(r for r, reg in catalogue.items() if kind not in reg.accelerators)[0]
    data = gcp_frame(missing, offered)
    plan = plan_job(
        data,
        [missing, offered],
        1,
        0,
        constraints=Constraints(accelerator_type=kind, accelerator_count=2),
    )
    assert plan.region == offered
    assert [(e.region, e.constraint) for e in plan.exclusions] == [(missing, "accelerator")]
    assert kind in plan.exclusions[0].reason
    assert any("count 2 not checked" in note for note in plan.notes)
    assert plan.constraints == {"accelerator": f"2 x {kind}"}


def test_max_carbon_intensity_constraint() -> None:
    data = frame(a=[50, 40, 60], b=[30, 35, 30])
    plan = plan_job(data, ["a", "b"], 1, 2, constraints=Constraints(max_carbon_intensity=39))
    assert plan.region == "b"
    (exclusion,) = plan.exclusions
    assert exclusion.constraint == "max_carbon_intensity"
    assert "40.0" in exclusion.reason and "39" in exclusion.reason


def test_price_weight_trades_intensity_for_price() -> None:
    data = frame(a=[100, 100], b=[90, 90], c=[10, 10])
    constraints = Constraints(price_weight=20, prices={"a": 1.0, "b": 2.0})
    plan = plan_job(data, ["a", "b", "c"], 1, 0, constraints=constraints)
    # scores: a = 100 + 20 * 1 = 120; b = 90 + 20 * 2 = 130; c has no price.
    assert plan.region == "a"
    assert [(o.region, o.score) for o in plan.ranking] == [("a", 120.0), ("b", 130.0)]
    assert [(e.region, e.constraint) for e in plan.exclusions] == [("c", "price")]


def test_zone_names_skip_catalogue_constraints_with_a_note() -> None:
    data = frame(CISO=[1, 2], BPAT=[2, 1])
    plan = plan_job(data, ["CISO", "BPAT"], 1, 0, constraints=Constraints(residency="eu"))
    assert plan.region == "CISO"
    assert plan.exclusions == ()
    assert any("CISO, BPAT: not GCP regions" in note for note in plan.notes)


def test_no_region_left_names_the_constraints() -> None:
    data = gcp_frame("us-west1", "europe-west4", "europe-west1", values=[[9.0] * 4] * 3)
    with pytest.raises(ValueError, match="no candidate region satisfies") as err:
        plan_job(
            data,
            ["us-west1", "europe-west4", "europe-west1"],
            1,
            0,
            constraints=Constraints(
                residency="eu", allowed_regions=("us-west1", "europe-west4"), max_carbon_intensity=5
            ),
        )
    text = str(err.value)
    assert "allowed_regions=['us-west1', 'europe-west4'] excluded europe-west1" in text
    assert "residency='eu' excluded us-west1" in text
    assert "max_carbon_intensity=5 excluded europe-west4" in text


@pytest.mark.parametrize(
    ("constraints", "message"),
    [
        (Constraints(residency="mars"), "unknown residency group 'mars'"),
        (Constraints(accelerator_type="GPU_9000"), "unknown accelerator type 'GPU_9000'"),
        (Constraints(accelerator_count=0), "accelerator_count must be at least 1"),
        (Constraints(max_carbon_intensity=-1), "max_carbon_intensity"),
        (Constraints(price_weight=1), "needs a price per region"),
    ],
)
def test_bad_constraints(constraints: Constraints, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_job(frame(a=[1, 2]), ["a"], 1, 0, constraints=constraints)


def test_bad_inputs() -> None:
    data = frame(a=[1, 2, 3])
    with pytest.raises(ValueError, match="no intensity series for b"):
        plan_job(data, ["a", "b"], 1, 0)
    with pytest.raises(ValueError, match="duration_hours must be > 0"):
        plan_job(data, ["a"], 0, 0)
    with pytest.raises(ValueError, match="the data end before"):
        plan_job(data, ["a"], 5, 0)
    with pytest.raises(ValueError, match="not a time step"):
        plan_job(data, ["a"], 1, 0, now="2024-01-01T00:30Z")
    cut = plan_job(data, ["a"], 2, 5)
    assert any("max delay cut to 1 h" in note for note in cut.notes)


def test_day_ahead_plan_uses_history_only() -> None:
    hours = np.arange(24 * 20)
    clean = 100 + 50 * np.sin(2 * np.pi * hours / 24)
    data = frame(a=list(clean), b=list(clean + 10))
    plan = plan_job(data, ["a", "b"], 2, 23, forecast="day-ahead")
    assert plan.planned_at_utc == "2024-01-21T00:00:00Z"  # the step after the data
    assert plan.region == "a"
    assert set(plan.forecast_mae["a"]) == {
        "persistence_24h", "persistence_168h", "mean_7d", "blend_24h_7d",
    }  # fmt: skip
    assert plan.forecast_methods["a"] == "persistence_24h"  # all exact: first method wins
    # minimum of the daily sine over a 2 h window starts at 17:30 -> start 17:00 or 18:00
    assert plan.start_utc in ("2024-01-21T17:00:00Z", "2024-01-21T18:00:00Z")
    with pytest.raises(ValueError, match="needs 14 days of history"):
        plan_job(data, ["a"], 1, 1, forecast="day-ahead", now="2024-01-10T00:00Z")


@pytest.mark.parametrize("extreme", [1e17, 1e20])
def test_one_extreme_value_does_not_corrupt_the_other_windows(extreme: float) -> None:
    # Window sums as differences of a running total lose every later window to cancellation.
    clean = [300.0, 250.0, 280.0, 120.0, 310.0, 290.0, 200.0, 260.0]
    values = np.array([extreme, *clean])
    shape = JobShape.from_hours(2, 6, 1.0)
    means = window_means(values, shape)
    expected = [window_mean_loop(clean, s, shape) for s in range(len(clean) - 1)]
    assert means[1:].tolist() == expected
    # The plan: a's best window (120 + 280) / 2 against running now in b at 250, a 20% saving;
    # before, 1e20 turned later windows to 0 and the plan claimed 100%.
    data = frame(a=values.tolist(), b=[250.0] * len(values))
    plan = plan_job(data, ["b", "a"], duration_hours=2, max_delay_hours=6)
    assert (plan.region, plan.expected_gco2e_per_kwh) == ("a", 200.0)
    assert (plan.run_now_gco2e_per_kwh, plan.expected_saving_pct) == (250.0, 20.0)
