"""The quality gate: one metric of ``metrics.json`` against its floor."""

from __future__ import annotations

import math
from collections.abc import Mapping


class ModelQualityError(ValueError):
    """The trained model's quality metric is below ``min_quality`` (or missing)."""


def check_quality(metrics: Mapping[str, float], quality_metric: str, min_quality: float) -> float:
    """Returns the metric's value; fails the run when it is missing or below the floor.

    Args:
        metrics: Every metric the run published (``metrics.json`` and evaluate's own).
        quality_metric: The key to gate on.
        min_quality: Its lowest acceptable value.

    Raises:
        ModelQualityError: The metric is absent, not finite, or below ``min_quality``.
    """
    if quality_metric not in metrics:
        known = ", ".join(sorted(metrics)) or "none"
        raise ModelQualityError(
            f"quality_metric {quality_metric!r} is not in the run's metrics (metrics.json in "
            f"AIP_MODEL_DIR); the run has: {known}"
        )
    value = float(metrics[quality_metric])
    if not math.isfinite(value):
        raise ModelQualityError(
            f"quality_metric {quality_metric!r} is {value} in metrics.json, not a finite number"
        )
    if value < min_quality:
        raise ModelQualityError(
            f"{quality_metric} {value:.4g} is below min_quality {min_quality:g}; the model is "
            "not good enough to deploy (improve the data or model, or lower min_quality)"
        )
    return value
