"""Number formatting and escaping of untrusted text, shared by the Markdown and HTML renderers."""

from __future__ import annotations

import math
import re
from typing import Any

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


# Untrusted text (metric names, the command, paths, providers' strings) is shown at most this long.
MAX_SHOWN_CHARS = 300
# Characters that are Markdown or HTML syntax: written as numeric character references, which
# every Markdown renderer and browser shows as the character and never reads as markup.
_MARKUP = re.compile(r"[&<>`*_\[\]|#~\\!$]")
# Anything that could end a line (str.splitlines() breaks on all of these) or is invisible.
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Text safe inside a Markdown code span as it is.
_PLAIN_CODE = re.compile(r"[A-Za-z0-9 ._,:/=@+()%-]*")


def _shorten(value: Any, limit: int) -> str:
    text = _LINE_BREAKS.sub(" ", str(value))
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more)"


def md(value: Any, limit: int = MAX_SHOWN_CHARS) -> str:
    """Untrusted text for Markdown (and the HTML made from it): one line, no markup.

    Newlines and control characters become spaces (no new section or row), Markdown and HTML
    syntax become character references (no code span closed, no table cell split, no tag).
    """
    return _MARKUP.sub(lambda m: f"&#{ord(m.group())};", _shorten(value, limit))


def md_code(value: Any, limit: int = MAX_SHOWN_CHARS) -> str:
    """Untrusted text shown as code: a code span when it is plain, else :func:`md` text."""
    text = _shorten(value, limit)
    return f"`{text}`" if text.strip() and _PLAIN_CODE.fullmatch(text) else md(text, limit)
