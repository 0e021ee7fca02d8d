"""Number formatting shared by the Markdown and HTML renderers."""

from __future__ import annotations


def fmt(value: float | None, digits: int = 3) -> str:
    """Formats a number with thousands separators; tiny values in scientific notation."""
    if value is None:
        return "n/a"
    if value == 0:
        return "0"
    if abs(value) < 10 ** (-digits):
        return f"{value:.2e}"
    return f"{value:,.{digits}f}"


def pct(value: float | None) -> str:
    """Formats a percentage with one decimal, never as ``-0.0``."""
    if value is None:
        return "n/a"
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text
