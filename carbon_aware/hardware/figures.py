"""The one sourced table of power and embodied-carbon figures (``data/hardware_figures.csv``).

Each row is one figure: its key, value and unit, what the number is (``quantity``: idle, mean,
max, min or embodied), how it was obtained (``basis``: measured, published or derived), its
source, the page or file it was read from, the date it was read, and for derived figures how
they were derived. PUE figures live in ``data/google_pue.csv`` (``footprint/pue.py``); the
figure-source test checks both files.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources

FIGURES_FILE = "hardware_figures.csv"
QUANTITIES = ("idle", "min", "mean", "max", "embodied")
BASES = ("measured", "published", "derived")


@dataclass(frozen=True)
class Figure:
    """One sourced figure.

    Attributes:
        key: Dotted key, e.g. ``accelerator.max_watts.NVIDIA_H100_80GB``.
        value: The number, in ``unit``.
        unit: Its unit, e.g. ``W/card``.
        quantity: What the number is: idle, min, mean, max or embodied.
        basis: measured, published or derived.
        source: Who publishes it, and where.
        page: The page, file or commit it was read from.
        date: When it was read.
        derivation: How a derived figure was derived (empty for measured or published ones).
    """

    key: str
    value: float
    unit: str
    quantity: str
    basis: str
    source: str
    page: str
    date: str
    derivation: str

    def cite(self) -> str:
        """The figure with its source in one line, for a term's or estimate's ``source``."""
        how = f"; {self.derivation}" if self.derivation else ""
        return f"{self.value:g} {self.unit} ({self.basis} {self.quantity}: {self.source}{how})"


@functools.cache
def load_figures() -> dict[str, Figure]:
    """Every figure by key (cached; read-only).

    Raises:
        ValueError: A duplicate key, an unknown quantity or basis, a figure without a source,
            page or date, or a derived figure without its derivation.
    """
    text = resources.files("carbon_aware").joinpath("data", FIGURES_FILE).read_text("utf-8")
    figures: dict[str, Figure] = {}
    for row in csv.DictReader(io.StringIO(text)):
        item = Figure(
            row["key"].strip(),
            float(row["value"]),
            row["unit"].strip(),
            row["quantity"].strip(),
            row["basis"].strip(),
            row["source"].strip(),
            row["page"].strip(),
            row["date"].strip(),
            row["derivation"].strip(),
        )
        problem = _problem(item)
        if item.key in figures:
            problem = "duplicate key"
        if problem:
            raise ValueError(f"{FIGURES_FILE}: {item.key or '(no key)'}: {problem}")
        figures[item.key] = item
    return figures


def _problem(item: Figure) -> str:
    if not item.key:
        return "no key"
    if item.quantity not in QUANTITIES:
        return f"quantity {item.quantity!r} is not one of {QUANTITIES}"
    if item.basis not in BASES:
        return f"basis {item.basis!r} is not one of {BASES}"
    if not (item.source and item.page and item.date):
        return "no source, page or date"
    if item.basis == "derived" and not item.derivation:
        return "derived without a derivation"
    return ""


def figure(key: str) -> Figure:
    """The figure for ``key``.

    Raises:
        KeyError: No such figure.
    """
    return load_figures()[key]


def maybe(key: str) -> Figure | None:
    """The figure for ``key``, or None when the table has none."""
    return load_figures().get(key)
