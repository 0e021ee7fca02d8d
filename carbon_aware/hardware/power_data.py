"""Power of every accelerator Vertex AI offers, per unit of ``accelerator_count``.

Units follow Vertex AI's ``accelerator_count``: a card for GPUs, a chip for TPU v4 and v5e, a
TensorCore (half a chip) for TPU v2 and v3, which Vertex counts in cores. Every figure, and how
derived ones were derived, is in ``data/hardware_figures.csv`` (:mod:`.figures`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from carbon_aware.hardware import figures


@dataclass(frozen=True)
class AcceleratorPower:
    """Idle and maximum power of one accelerator unit, W, Google's measured mean where published.

    Attributes:
        min_watts: Idle power (0 when not published: the range then starts at 0 W).
        max_watts: Maximum power (measured maximum or datasheet TDP).
        source: The figures with their sources.
        mean_watts: Measured mean power under load, where published (TPUs), else None.
    """

    min_watts: float
    max_watts: float
    source: str
    mean_watts: float | None = None


@functools.cache
def accelerator_power_table() -> dict[str, AcceleratorPower]:
    """Every accelerator with power figures, by Vertex accelerator name (cached)."""
    table: dict[str, AcceleratorPower] = {}
    prefix = "accelerator.max_watts."
    for key in figures.load_figures():
        if not key.startswith(prefix):
            continue
        name = key.removeprefix(prefix)
        idle = figures.figure(f"accelerator.idle_watts.{name}")
        peak = figures.figure(key)
        mean = figures.maybe(f"accelerator.mean_watts.{name}")
        parts = [f"idle {idle.cite()}", f"max {peak.cite()}"]
        if mean is not None:
            parts.append(f"mean {mean.cite()}")
        table[name] = AcceleratorPower(
            idle.value, peak.value, "; ".join(parts), mean.value if mean else None
        )
    return table


ACCELERATOR_POWER: dict[str, AcceleratorPower] = accelerator_power_table()
