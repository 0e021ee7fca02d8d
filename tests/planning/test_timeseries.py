"""The long-format intensity CSV: loading, validation errors, and the shipped EIA-930 file."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from carbon_aware.timeseries import (
    load_intensity_csv,
    load_shipped_eia930,
    shipped_eia930_path,
    step_hours,
    to_long,
)

GOOD = """datetime,region,carbon_intensity,comment
2024-01-01T00:00:00Z,b,10,x
2024-01-01T01:00:00Z,b,20,
2024-01-01T00:00:00+00:00,a,1.5,
2024-01-01T01:00:00+00:00,a,2.5,
"""


def load(text: str) -> pd.DataFrame:
    return load_intensity_csv(io.StringIO(text))


def test_loads_wide_frame_sorted_by_name() -> None:
    frame = load(GOOD)
    assert list(frame.columns) == ["a", "b"]
    assert str(frame.index.tz) == "UTC"
    assert frame.index.name == "datetime"
    assert frame.loc[pd.Timestamp("2024-01-01T01:00Z"), "b"] == 20.0
    assert step_hours(frame) == 1.0


def test_round_trip_through_long_layout() -> None:
    frame = load(GOOD)
    again = load(to_long(frame).to_csv(index=False))
    pd.testing.assert_frame_equal(frame, again)


def test_quarter_hour_data_and_common_span() -> None:
    rows = ["datetime,region,carbon_intensity"]
    rows += [f"2024-01-01T00:{m:02d}:00Z,a,{m}" for m in (0, 15, 30, 45)]
    rows += [f"2024-01-01T00:{m:02d}:00Z,b,{m}" for m in (15, 30)]
    frame = load("\n".join(rows))
    assert step_hours(frame) == 0.25
    assert len(frame) == 2  # cut to the span both series cover


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,region,carbon_intensity\n", "missing column(s) datetime"),
        ("datetime,region,carbon_intensity\n", "no data rows"),
        ("", "empty file"),
        ("datetime,region,carbon_intensity\nyesterday,a,1\n", "line 2: cannot parse datetime"),
        ("datetime,region,carbon_intensity\n2024-01-01T00:00:00,a,1\n", "line 2: datetime"),
        (
            "datetime,region,carbon_intensity\n2024-01-01T00:00Z,a,1\n2024-01-01T02:00+02:00,a,1\n",
            "line 3: datetime '2024-01-01T02:00+02:00' is not marked UTC",
        ),
        ("datetime,region,carbon_intensity\n2024-01-01T00:00Z,a,-1\n", "line 2: carbon_intensity"),
        ("datetime,region,carbon_intensity\n2024-01-01T00:00Z,a,NaN\n", "missing or not a number"),
        ("datetime,region,carbon_intensity\n2024-01-01T00:00Z,a,\n", "missing or not a number"),
        ("datetime,region,carbon_intensity\n2024-01-01T00:00Z,a,inf\n", "must be finite"),
        ("datetime,region,carbon_intensity\n2024-01-01T00:00Z,,1\n", "line 2: empty region"),
        (
            "datetime,region,carbon_intensity\n2024-01-01T00:00Z,a,1\n2024-01-01T00:00:00Z,a,2\n",
            "line 3: duplicate reading for region 'a'",
        ),
        (
            "datetime,region,carbon_intensity\n2024-01-01T00:00Z,a,1\n2024-01-01T01:00Z,a,1\n"
            "2024-01-01T03:00Z,a,1\n",
            "irregular time steps",
        ),
        (
            "datetime,region,carbon_intensity\n2024-01-01T00:00Z,a,1\n2024-01-01T02:00Z,a,1\n",
            "coarser than hourly",
        ),
        (
            "datetime,region,carbon_intensity\n2024-01-01T00:00Z,a,1\n2024-01-01T00:40Z,a,1\n",
            "does not divide one hour",
        ),
        ("datetime,region,carbon_intensity\n2024-01-01T00:00Z,a,1\n", "single reading"),
        (
            "datetime,region,carbon_intensity\n2024-01-01T00:00Z,a,1\n2024-01-01T01:00Z,a,1\n"
            "2024-01-01T00:30Z,b,1\n2024-01-01T01:30Z,b,1\n",
            "not on the same time steps",
        ),
        (
            "datetime,region,carbon_intensity\n2024-01-01T00:00Z,a,1\n2024-01-01T01:00Z,a,1\n"
            "2024-01-02T00:00Z,b,1\n2024-01-02T01:00Z,b,1\n",
            "share no common time span",
        ),
    ],
)
def test_validation_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=None) as err:
        load(text)
    assert message in str(err.value)


def test_shipped_eia930_file() -> None:
    assert shipped_eia930_path().name == "eia930_2022_hourly_avg_ci.csv.gz"
    frame = load_shipped_eia930()
    assert list(frame.columns) == [
        "AZPS", "BPAT", "CISO", "ERCO", "MISO", "NYIS", "PJM", "SOCO", "WAAT",
    ]  # fmt: skip
    assert frame.shape == (8760, 9)
    assert frame.index[0] == pd.Timestamp("2022-01-01T00:00Z")
    assert frame.index[-1] == pd.Timestamp("2022-12-31T23:00Z")
    assert frame.notna().all().all()
    assert 200 < frame["CISO"].mean() < 300


def test_implausible_intensity_is_refused_with_its_line() -> None:
    text = (
        "datetime,region,carbon_intensity\n2024-01-01T00:00Z,a,300\n"
        "2024-01-01T01:00Z,a,1e17\n2024-01-01T02:00Z,a,300\n"
    )
    with pytest.raises(ValueError, match=r"^line 3: carbon_intensity '1e17' .* implausible"):
        load(text)
