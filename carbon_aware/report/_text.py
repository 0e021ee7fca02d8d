"""Number formatting shared by the Markdown and HTML renderers."""

from __future__ import annotations

import math

SIGNIFICANT = 3
MAX_DECIMALS = 9


def fmt(value: float | None, digits: int = 3) -> str:
    """Formats a number with at least ``digits`` decimals and three significant figures.

    Small values keep their significant figures in plain notation (``0.000823``), so figures of
    one table line up; below 1e-9 they switch to scientific notation.
    """
    if value is None:
        return "n/a"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude < 10**-MAX_DECIMALS:
        return f"{value:.2e}"
    if magnitude < 1:
        needed = -math.floor(math.log10(magnitude)) + SIGNIFICANT - 1
        digits = min(max(digits, needed), MAX_DECIMALS)
    return f"{value:,.{digits}f}"


def pct(value: float | None) -> str:
    """Formats a percentage with one decimal, never as ``-0.0``."""
    if value is None:
        return "n/a"
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def sig(value: float | None, figures: int = SIGNIFICANT) -> str:
    """A number to ``figures`` significant figures, no padding zeros: 20 not 20.0000, 0.0122."""
    if value is None:
        return "n/a"
    if value == 0:
        return "0"
    if abs(value) < 10**-MAX_DECIMALS:
        return f"{value:.2e}"
    decimals = max(figures - 1 - math.floor(math.log10(abs(value))), 0)
    text = f"{value:,.{min(decimals, MAX_DECIMALS)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
