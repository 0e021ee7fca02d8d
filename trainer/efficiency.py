"""Data-efficiency levers: de-duplicate rows and prune feature columns before the split.

Both levers are off by default. When on, they run on the loaded table before it is
split, and :func:`apply_levers` reports what they did: rows, columns and bytes
(in memory and as CSV) before and after, so a run record shows the saving as
measured rather than asserted.

Order: a ``key:<column>`` de-duplication runs first, on the table as loaded, so the
key may be an ID column that pruning then drops; column pruning runs next; an
``exact`` de-duplication runs last, on the kept columns, since rows identical in
every column the model sees are the same training example.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

DEDUPE_NONE = "none"
DEDUPE_EXACT = "exact"
DEDUPE_KEY_PREFIX = "key:"
DEDUPE_FORMS = "'none' (or ''), 'exact' (identical rows) or 'key:<column>' (first row per key)"


@dataclass(frozen=True)
class DedupeSpec:
    """A parsed ``dedupe`` value: ``mode`` is ``none``, ``exact`` or ``key``."""

    mode: str
    key: str = ""


def parse_dedupe(value: str) -> DedupeSpec:
    """Parse a ``dedupe`` value.

    Args:
        value: ``"none"`` or ``""`` (off), ``"exact"`` (drop rows identical in every
            kept column) or ``"key:<column>"`` (keep the first row per value of
            ``<column>``). Surrounding spaces are ignored.

    Returns:
        The parsed specification.

    Raises:
        ValueError: Naming the value and the allowed forms.
    """
    if not isinstance(value, str):
        raise ValueError(f"dedupe must be a string, one of {DEDUPE_FORMS}; got {value!r}")
    text = value.strip()
    if text in ("", DEDUPE_NONE):
        return DedupeSpec(DEDUPE_NONE)
    if text == DEDUPE_EXACT:
        return DedupeSpec(DEDUPE_EXACT)
    if text.startswith(DEDUPE_KEY_PREFIX) and text[len(DEDUPE_KEY_PREFIX) :].strip():
        return DedupeSpec("key", text[len(DEDUPE_KEY_PREFIX) :].strip())
    raise ValueError(f"dedupe {value!r} is not understood; use {DEDUPE_FORMS}")


def parse_keep_columns(value: str) -> list[str]:
    """Parse a ``keep_columns`` value into column names.

    Args:
        value: Comma-separated feature column names; empty keeps every column.
            Spaces around names and empty items are ignored; repeats are dropped.

    Returns:
        The names in the given order, or ``[]`` for "keep all".

    Raises:
        ValueError: If ``value`` is not a string.
    """
    if not isinstance(value, str):
        raise ValueError(f"keep_columns must be a comma-separated string, got {value!r}")
    names = [part.strip() for part in value.split(",")]
    return list(dict.fromkeys(name for name in names if name))


def _csv_bytes(df: pd.DataFrame) -> int:
    """Return the size of ``df`` written as UTF-8 CSV without the index, without storing it."""

    class _Counter:
        """A write-only text sink that only counts bytes."""

        total = 0

        def write(self, text: str) -> int:
            self.total += len(text.encode("utf-8"))
            return len(text)

    counter = _Counter()
    df.to_csv(counter, index=False)
    return counter.total


def table_size(df: pd.DataFrame) -> dict[str, int]:
    """Measure a table.

    Args:
        df: The table.

    Returns:
        ``rows``, ``columns``, ``memory_bytes`` (pandas ``memory_usage(deep=True)``,
        index included) and ``csv_bytes`` (UTF-8 CSV without the index).
    """
    return {
        "rows": len(df),
        "columns": len(df.columns),
        "memory_bytes": int(df.memory_usage(deep=True).sum()),
        "csv_bytes": _csv_bytes(df),
    }


def _check_columns(df: pd.DataFrame, label_column: str, spec: DedupeSpec, keep: list[str]) -> None:
    """Raise ValueError if the dedupe key or a kept column is not in ``df``."""
    columns = [str(c) for c in df.columns]
    if spec.mode == "key" and spec.key not in columns:
        raise ValueError(
            f"dedupe key column {spec.key!r} is not a column of the table; columns are: {columns}"
        )
    unknown = [name for name in keep if name not in columns]
    if unknown:
        features = [c for c in columns if c != label_column]
        raise ValueError(
            f"keep_columns names columns that do not exist: {unknown}; "
            f"available feature columns are: {features}"
        )


def apply_levers(
    df: pd.DataFrame, label_column: str, dedupe: str = DEDUPE_NONE, keep_columns: str = ""
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """De-duplicate rows and prune columns as asked, and measure the effect.

    Rows keep their original index; the label column is always kept.

    Args:
        df: The loaded table, label included.
        label_column: The label column (never pruned).
        dedupe: See :func:`parse_dedupe`.
        keep_columns: See :func:`parse_keep_columns`.

    Returns:
        The reduced table and the ``data_efficiency`` record: ``dedupe`` and
        ``keep_columns`` as given (parsed), ``applied`` (a list of what changed, in
        order), ``before`` and ``after`` (see :func:`table_size`), ``rows_removed``,
        ``dropped_columns``, ``memory_saved_pct``, ``csv_saved_pct`` and
        ``seconds`` (time spent applying the levers, measuring excluded).

    Raises:
        ValueError: For a malformed value, an unknown key column, or unknown
            columns to keep (the message lists the available ones).
    """
    spec = parse_dedupe(dedupe)
    keep = parse_keep_columns(keep_columns)
    _check_columns(df, label_column, spec, keep)
    before = table_size(df)
    applied: list[str] = []
    t0 = time.perf_counter()
    out = df
    if spec.mode == "key":
        out = out.drop_duplicates(subset=[spec.key], keep="first")
        applied.append(f"dedupe key:{spec.key}: removed {len(df) - len(out)} rows")
    dropped: list[str] = []
    if keep:
        wanted = set(keep) | {label_column}
        dropped = [str(c) for c in out.columns if c not in wanted]
        out = out[[c for c in out.columns if c in wanted]]
        applied.append(f"keep_columns: kept {len(out.columns) - 1}, dropped {len(dropped)}")
    if spec.mode == DEDUPE_EXACT:
        rows = len(out)
        out = out.drop_duplicates(keep="first")
        applied.append(f"dedupe exact: removed {rows - len(out)} rows")
    seconds = time.perf_counter() - t0
    after = table_size(out) if applied else dict(before)
    record: dict[str, Any] = {
        "dedupe": spec.mode if spec.mode != "key" else f"{DEDUPE_KEY_PREFIX}{spec.key}",
        "keep_columns": keep,
        "applied": applied,
        "before": before,
        "after": after,
        "rows_removed": before["rows"] - after["rows"],
        "dropped_columns": dropped,
        "memory_saved_pct": _saved_pct(before["memory_bytes"], after["memory_bytes"]),
        "csv_saved_pct": _saved_pct(before["csv_bytes"], after["csv_bytes"]),
        "seconds": round(seconds, 6),
    }
    return pd.DataFrame(out), record


def _saved_pct(before: int, after: int) -> float:
    """Return the percentage saved going from ``before`` to ``after`` (0 when before is 0)."""
    return round(100.0 * (before - after) / before, 2) if before else 0.0
