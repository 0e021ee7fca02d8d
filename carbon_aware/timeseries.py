"""Carbon-intensity time series: the long-format CSV users give, loaded into a wide frame.

The CSV format (one reading per row, hourly or finer)::

    datetime,region,carbon_intensity
    2022-01-01T00:00:00Z,CISO,222.2959
    2022-01-01T01:00:00Z,CISO,260.9176

* ``datetime``: ISO 8601 with an explicit UTC offset (``Z`` or ``+00:00``). Each reading stands
  for the interval ``[datetime, datetime + step)``.
* ``region``: a GCP region id (``us-west2``) or any other series name (a grid zone, ``CISO``).
* ``carbon_intensity``: gCO2e/kWh, from 0 to ``MAX_PLAUSIBLE_GCO2E_PER_KWH``.

Other columns are ignored. :func:`load_intensity_csv` returns a wide ``pandas.DataFrame``: a UTC
``DatetimeIndex`` named ``datetime`` with one evenly spaced step (at most one hour, dividing one
hour) and one float column per series, sorted by name. Series are cut to the span they all cover.

The package ships one such file, :data:`SHIPPED_EIA930` (hourly 2022 averages for nine US
balancing authorities from EIA-930; see ``data/EIA930_PROVENANCE.md``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("datetime", "region", "carbon_intensity")
SHIPPED_EIA930 = "eia930_2022_hourly_avg_ci.csv.gz"
SHIPPED_EIA930_SOURCE = (
    "EIA-930 hourly 2022 average carbon intensity (via HewlettPackard/dc-rl, MIT; "
    "carbon_aware/data/eia930_2022_hourly_avg_ci.csv.gz)"
)
# No grid comes near this: lignite plants, the dirtiest source, emit about 1,100-1,300 gCO2e/kWh
# over their life cycle. Above it a value is a unit mistake (lbs/MWh, g/MWh) or a corrupt reading.
MAX_PLAUSIBLE_GCO2E_PER_KWH = 2000.0
_UTC_SUFFIX = r"(?:Z|[+-]00:?00)\Z"
_HOUR = pd.Timedelta(hours=1)


def _line(position: int) -> str:
    """Name a data row by its CSV line number (the header is line 1)."""
    return f"line {position + 2}"


def _parse_datetimes(raw: pd.Series) -> pd.Series:
    """Parse the ``datetime`` column, rejecting blank, unparseable and non-UTC values."""
    text = raw.astype("string").str.strip()
    blank = text.isna() | (text == "")
    if blank.any():
        pos = int(np.flatnonzero(blank.to_numpy())[0])
        raise ValueError(f"{_line(pos)}: empty datetime")
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{_line(pos)}: cannot parse datetime {text.iloc[pos]!r} as ISO 8601")
    not_utc = ~text.str.contains(_UTC_SUFFIX, regex=True).to_numpy(dtype=bool)
    if not_utc.any():
        pos = int(np.flatnonzero(not_utc)[0])
        raise ValueError(
            f"{_line(pos)}: datetime {text.iloc[pos]!r} is not marked UTC; "
            "write it with 'Z' or '+00:00' (convert local times to UTC first)"
        )
    return parsed


def _parse_values(raw: pd.Series) -> np.ndarray:
    """Parse ``carbon_intensity``, rejecting non-numbers, NaN, infinities and negatives."""
    values: np.ndarray = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    missing = np.isnan(values)
    if missing.any():
        pos = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"{_line(pos)}: carbon_intensity {raw.iloc[pos]!r} is missing or not a number"
        )
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{_line(pos)}: carbon_intensity {raw.iloc[pos]!r} must be finite and >= 0 gCO2e/kWh"
        )
    implausible = values > MAX_PLAUSIBLE_GCO2E_PER_KWH
    if implausible.any():
        pos = int(np.flatnonzero(implausible)[0])
        raise ValueError(
            f"{_line(pos)}: carbon_intensity {raw.iloc[pos]!r} gCO2e/kWh is implausible: no grid "
            f"exceeds {MAX_PLAUSIBLE_GCO2E_PER_KWH:g} (is it in lbs/MWh or g/MWh?)"
        )
    return values


def frame_from_long(long: pd.DataFrame) -> pd.DataFrame:
    """Validate a long-format frame and pivot it to the wide frame.

    Args:
        long: Columns ``datetime``, ``region``, ``carbon_intensity`` (strings or numbers, as read
            from the CSV); row positions are reported as CSV line numbers.

    Returns:
        Wide frame: UTC ``DatetimeIndex`` named ``datetime`` x one column per series.

    Raises:
        ValueError: Naming the first bad row or series: missing columns, empty file, blank
            region, unparseable or non-UTC datetime, missing/negative/infinite value, duplicate
            (datetime, region), irregular or coarser-than-hourly steps, series that share no span.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in long.columns]
    if missing:
        raise ValueError(
            f"missing column(s) {', '.join(missing)}; expected {', '.join(REQUIRED_COLUMNS)} "
            f"(found: {', '.join(map(str, long.columns)) or 'none'})"
        )
    if long.empty:
        raise ValueError("no data rows")
    long = long.reset_index(drop=True)
    region = long["region"].astype("string").str.strip()
    blank = (region.isna() | (region == "")).to_numpy(dtype=bool)
    if blank.any():
        raise ValueError(f"{_line(int(np.flatnonzero(blank)[0]))}: empty region")
    when = _parse_datetimes(long["datetime"])
    values = _parse_values(long["carbon_intensity"])
    tidy = pd.DataFrame({"datetime": when, "region": region.astype(str), "value": values})
    dup = tidy.duplicated(["datetime", "region"]).to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        raise ValueError(
            f"{_line(pos)}: duplicate reading for region {tidy['region'].iloc[pos]!r} at "
            f"{tidy['datetime'].iloc[pos].isoformat()}"
        )
    wide = tidy.pivot(index="datetime", columns="region", values="value")
    return _align(wide, tidy)


def _series_step(name: str, index: pd.DatetimeIndex) -> pd.Timedelta:
    """The one step of a series' sorted index, or ValueError naming the irregularity."""
    if len(index) < 2:
        raise ValueError(f"series {name!r} has a single reading; need at least two time steps")
    diffs = index[1:] - index[:-1]
    step = diffs.min()
    irregular = np.flatnonzero(diffs != step)
    if irregular.size:
        at = int(irregular[0])
        raise ValueError(
            f"series {name!r}: irregular time steps: {index[at].isoformat()} -> "
            f"{index[at + 1].isoformat()} is {diffs[at]}, elsewhere {step} "
            "(gaps must be filled, steps must be even)"
        )
    if step > _HOUR:
        raise ValueError(
            f"series {name!r}: step {step} is coarser than hourly; give hourly or finer"
        )
    if _HOUR % step != pd.Timedelta(0):
        raise ValueError(f"series {name!r}: step {step} does not divide one hour evenly")
    return pd.Timedelta(step)


def _align(wide: pd.DataFrame, tidy: pd.DataFrame) -> pd.DataFrame:
    """Check each series' steps and cut the wide frame to the span every series covers."""
    steps: dict[str, pd.Timedelta] = {}
    spans: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
    for name, group in tidy.groupby("region", sort=True):
        index = pd.DatetimeIndex(group["datetime"]).sort_values()
        steps[str(name)] = _series_step(str(name), index)
        spans[str(name)] = (index[0], index[-1])
    if len(set(steps.values())) > 1:
        listing = ", ".join(f"{n}: {s}" for n, s in steps.items())
        raise ValueError(f"series have different time steps ({listing}); resample to one step")
    start = max(s for s, _ in spans.values())
    end = min(e for _, e in spans.values())
    if start >= end:
        raise ValueError(
            f"the series share no common time span (latest start {start.isoformat()}, "
            f"earliest end {end.isoformat()})"
        )
    cut = wide.loc[start:end].sort_index()
    gaps = cut.columns[cut.isna().any()].tolist()
    if gaps:
        raise ValueError(
            f"series {', '.join(map(repr, gaps))} are not on the same time steps as the others "
            "(offset timestamps); align them to one grid"
        )
    cut = cut.reindex(sorted(cut.columns), axis=1).astype(float)
    cut.index = pd.DatetimeIndex(cut.index, name="datetime")
    cut.columns = pd.Index([str(c) for c in cut.columns], name="region")
    return cut


def load_intensity_csv(source: str | Path | IO[str]) -> pd.DataFrame:
    """Load and validate an intensity CSV (plain or ``.gz``) into the wide frame.

    Args:
        source: Path or open text file in the long format described in the module docstring.

    Returns:
        Wide frame: UTC ``DatetimeIndex`` named ``datetime`` x one float column per series.

    Raises:
        ValueError: If the file breaks the format; the message names the line or series.
    """
    try:
        long = pd.read_csv(source, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as err:
        raise ValueError(f"{source}: empty file, expected a header row") from err
    return frame_from_long(long)


def to_long(wide: pd.DataFrame) -> pd.DataFrame:
    """Turn a wide frame back into the long CSV layout (``datetime`` as ISO 8601 ``Z``).

    Args:
        wide: Frame as returned by :func:`load_intensity_csv`.

    Returns:
        Long frame with columns ``datetime``, ``region``, ``carbon_intensity``.
    """
    long = wide.rename_axis(index="datetime", columns="region").stack().rename("carbon_intensity")
    long = long.reset_index().sort_values(["region", "datetime"], kind="stable")
    long["datetime"] = pd.DatetimeIndex(long["datetime"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    return long.reset_index(drop=True)[list(REQUIRED_COLUMNS)]


def sliding_sums(values: np.ndarray, width: int) -> np.ndarray:
    """Sum every run of ``width`` consecutive values along the last axis.

    Each window is summed on its own rather than as a difference of cumulative sums: a
    difference cancels, so one huge reading (1e17) would take the precision of every later window
    with it (1e20 makes them 0). Cost is ``width`` additions per window, which the planner's
    windows (a job's length, a week of errors) keep small.

    Args:
        values: Readings, shape ``(..., N)``.
        width: Window length in steps, ``0 <= width <= N``.

    Returns:
        Shape ``(..., N - width + 1)``: entry ``s`` is ``values[..., s : s + width].sum()``.
    """
    n = values.shape[-1] - width + 1
    if width == 0:
        return np.zeros((*values.shape[:-1], n))
    windows = np.lib.stride_tricks.sliding_window_view(values, width, axis=-1)
    sums: np.ndarray = windows.sum(axis=-1)
    return sums


def step_hours(wide: pd.DataFrame) -> float:
    """Return the frame's time step in hours.

    Args:
        wide: Frame as returned by :func:`load_intensity_csv`.

    Returns:
        The step, e.g. ``1.0`` for hourly or ``0.25`` for 15-minute data.
    """
    index = pd.DatetimeIndex(wide.index)
    return float((index[1] - index[0]) / _HOUR)


def shipped_eia930_path() -> Path:
    """Return the path of the shipped EIA-930 2022 hourly file (nine US balancing authorities)."""
    return Path(str(resources.files("carbon_aware").joinpath("data", SHIPPED_EIA930)))


def load_shipped_eia930() -> pd.DataFrame:
    """Load the shipped EIA-930 2022 hourly series (``AZPS`` ... ``WAAT``) as a wide frame."""
    return load_intensity_csv(shipped_eia930_path())
