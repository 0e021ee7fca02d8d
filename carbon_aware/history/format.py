"""Plain-text tables of a :class:`FootprintHistory` for the terminal."""

from __future__ import annotations

from typing import Any

from carbon_aware.history.bigquery import FootprintHistory
from carbon_aware.history.queries import TITLES


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{float(value):,.3f}"
    return str(value)


def format_rows(rows: list[dict[str, Any]]) -> str:
    """Renders rows as an aligned text table (numbers right-aligned), or ``(no rows)``."""
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    numeric = [isinstance(rows[0].get(column), float | int) for column in columns]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(columns), "  ".join("-" * w for w in widths), *map(line, cells)])


def format_history(history: FootprintHistory) -> str:
    """Every summary, titled, as text (kgCO2e)."""
    scope = f"project {history.project_id}" if history.project_id else "all projects"
    parts = [
        f"Carbon Footprint export {history.table}: {history.start_month} to "
        f"{history.end_month}, {scope} (kgCO2e)"
    ]
    for name, rows in history.results.items():
        parts += ["", TITLES.get(name, name), format_rows(rows)]
    return "\n".join(parts)
