"""What evaluate does: read what the program wrote to ``AIP_MODEL_DIR``, apply the gate.

Any training program may write, beside its model:

- ``metrics.json``: a flat JSON object of numbers (the training contract); every number is
  published and one of them is gated on.
- ``classification_metrics.json`` (optional): a confusion matrix and, for two classes, a ROC
  curve, published as KFP ``ClassificationMetrics``::

      {
        "classes": ["benign", "malignant"],           # class names, in matrix order
        "confusion_matrix": [[50, 3], [2, 31]],       # rows: true class; columns: predicted
        "roc_curve": {                                # optional; equal-length lists
          "fpr": [0.0, 0.1, 1.0], "tpr": [0.0, 0.8, 1.0], "thresholds": [1.0, 0.5, 0.0]
        }
      }

- ``precision_variants.json`` (optional): a JSON list, one object per compressed copy of the
  model (``format``, ``precision``, ``size_bytes``, ``accuracy``, ...), which the report shows.

Nothing here knows which program wrote the files; the bundled trainer is one such program.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from carbon_aware import storage
from carbon_aware.training.collect import read_metrics
from carbon_aware.training.contract import ContractError
from carbon_aware.training.quality import ModelQualityError, check_quality

CLASSIFICATION_METRICS_FILE = "classification_metrics.json"
PRECISION_VARIANTS_FILE = "precision_variants.json"


@dataclass(frozen=True)
class ClassificationMetrics:
    """A confusion matrix and, optionally, a ROC curve, as ``classification_metrics.json`` holds."""

    classes: list[str]
    confusion_matrix: list[list[int]]
    roc_curve: dict[str, list[float]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, in the file's own schema."""
        return {
            "classes": self.classes,
            "confusion_matrix": self.confusion_matrix,
            "roc_curve": self.roc_curve,
        }


def parse_classification_metrics(text: str, source: str) -> ClassificationMetrics:
    """Checks ``classification_metrics.json`` against its schema (see the module docstring).

    Raises:
        ContractError: Naming the file and what is wrong.
    """
    try:
        raw = json.loads(text)
    except ValueError as err:
        raise ContractError(f"{source} is not JSON: {err}") from None
    if not isinstance(raw, dict):
        raise ContractError(f"{source} must be a JSON object with classes and confusion_matrix")
    classes = raw.get("classes")
    if (
        not isinstance(classes, list)
        or len(classes) < 2
        or not all(isinstance(c, str) and c for c in classes)
    ):
        raise ContractError(f"{source}: classes must be a list of at least 2 non-empty strings")
    matrix = raw.get("confusion_matrix")
    size = len(classes)
    if (
        not isinstance(matrix, list)
        or len(matrix) != size
        or not all(
            isinstance(row, list)
            and len(row) == size
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in row)
            for row in matrix
        )
    ):
        raise ContractError(
            f"{source}: confusion_matrix must be {size} rows of {size} non-negative integers "
            "(rows: true class, columns: predicted class)"
        )
    roc = raw.get("roc_curve")
    if roc is not None:
        keys = ("fpr", "tpr", "thresholds")
        if not isinstance(roc, dict) or not all(isinstance(roc.get(k), list) for k in keys):
            raise ContractError(f"{source}: roc_curve must hold lists fpr, tpr and thresholds")
        lengths = {len(roc[k]) for k in keys}
        values = [v for k in keys for v in roc[k]]
        if len(lengths) != 1 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in values
        ):
            raise ContractError(
                f"{source}: roc_curve fpr, tpr and thresholds must be equal-length lists of "
                "finite numbers"
            )
        roc = {k: [float(v) for v in roc[k]] for k in keys}
    return ClassificationMetrics(classes=list(classes), confusion_matrix=matrix, roc_curve=roc)


def _optional_text(uri: str) -> str | None:
    try:
        return storage.read_text(uri)
    except FileNotFoundError:
        return None


def read_classification_metrics(model_dir: str) -> ClassificationMetrics | None:
    """``classification_metrics.json`` in the model directory; None when the program wrote none."""
    uri = storage.join_uri(model_dir, CLASSIFICATION_METRICS_FILE)
    text = _optional_text(uri)
    return None if text is None else parse_classification_metrics(text, uri)


def read_precision_variants(model_dir: str) -> list[dict[str, Any]]:
    """``precision_variants.json`` in the model directory; empty when the program wrote none.

    Raises:
        ContractError: It is not a JSON list of objects.
    """
    uri = storage.join_uri(model_dir, PRECISION_VARIANTS_FILE)
    text = _optional_text(uri)
    if text is None:
        return []
    try:
        raw = json.loads(text)
    except ValueError as err:
        raise ContractError(f"{uri} is not JSON: {err}") from None
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ContractError(f"{uri} must be a JSON list of objects, one per compressed copy")
    return raw


@dataclass
class RunEvaluation:
    """The run's metrics, the gate's outcome, and the optional files the program wrote."""

    metrics: dict[str, float]
    quality_metric: str
    min_quality: float
    quality: float = float("nan")
    failure: str = ""
    classification: ClassificationMetrics | None = None
    precision_variants: list[dict[str, Any]] = field(default_factory=list)
    evaluated_at_utc: str = ""

    def raise_if_failed(self) -> None:
        """Fails the step when the gate failed (after the metrics were published).

        Raises:
            ModelQualityError: With the gate's message.
        """
        if self.failure:
            raise ModelQualityError(self.failure)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: metrics, gate, classification metrics, compressed copies, when."""
        return {
            "metrics": self.metrics,
            "quality_gate": {
                "metric": self.quality_metric,
                "value": self.quality,
                "min_quality": self.min_quality,
                "passed": not self.failure,
            },
            "classification": self.classification.to_dict() if self.classification else None,
            "precision_variants": self.precision_variants,
            "evaluated_at_utc": self.evaluated_at_utc,
        }


def evaluate_run(model_dir: str, quality_metric: str, min_quality: float) -> RunEvaluation:
    """Reads what the program wrote (see the module docstring), then applies the gate.

    The gate's failure is recorded rather than raised, so the caller can publish the metrics
    first; :meth:`RunEvaluation.raise_if_failed` then fails the step.

    Raises:
        carbon_aware.storage.StorageError: The model directory cannot be read.
        carbon_aware.training.contract.ContractError: A file does not follow its schema.
    """
    metrics = read_metrics(model_dir)
    result = RunEvaluation(
        metrics=metrics,
        quality_metric=quality_metric,
        min_quality=min_quality,
        classification=read_classification_metrics(model_dir),
        precision_variants=read_precision_variants(model_dir),
        evaluated_at_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )
    try:
        result.quality = check_quality(metrics, quality_metric, min_quality)
    except ModelQualityError as err:
        result.failure = str(err)
        result.quality = float(metrics.get(quality_metric, float("nan")))
    return result
