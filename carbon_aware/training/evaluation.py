"""What evaluate does: read the run's metrics, evaluate the bundled classifier, apply the gate."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from carbon_aware import storage
from carbon_aware.training.collect import read_metrics
from carbon_aware.training.quality import ModelQualityError, check_quality

# The files that mark the bundled Keras classifier's model directory.
BUNDLED_MODEL_FILES = ("model.keras", "preprocessor.joblib", "classes.json", "test.csv")


@dataclass
class RunEvaluation:
    """The run's metrics, the gate's outcome, and the bundled classifier's test evaluation."""

    metrics: dict[str, float]
    quality_metric: str
    min_quality: float
    quality: float = float("nan")
    failure: str = ""
    classifier: Any = None

    def raise_if_failed(self) -> None:
        """Fails the step when the gate failed (after the metrics were published).

        Raises:
            ModelQualityError: With the gate's message.
        """
        if self.failure:
            raise ModelQualityError(self.failure)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: metrics, gate, and the classifier's evaluation (fields at top level)."""
        classifier = dataclasses.asdict(self.classifier) if self.classifier is not None else {}
        return {
            **classifier,
            "metrics": self.metrics,
            "quality_gate": {
                "metric": self.quality_metric,
                "value": self.quality,
                "min_quality": self.min_quality,
                "passed": not self.failure,
            },
        }


def is_bundled_classifier(model_dir: str) -> bool:
    """Whether ``model_dir`` holds the bundled Keras classifier's files."""
    for name in BUNDLED_MODEL_FILES:
        try:
            storage.fetch(storage.join_uri(model_dir, name))
        except FileNotFoundError:
            return False
    return True


def evaluate_run(model_dir: str, quality_metric: str, min_quality: float) -> RunEvaluation:
    """Reads ``metrics.json`` (and evaluates the bundled classifier), then applies the gate.

    The gate's failure is recorded rather than raised, so the caller can publish the metrics
    first; :meth:`RunEvaluation.raise_if_failed` then fails the step.

    Raises:
        carbon_aware.storage.StorageError: The model directory cannot be read.
        carbon_aware.training.contract.ContractError: ``metrics.json`` is not a flat object of
            numbers.
    """
    metrics = read_metrics(model_dir)
    result = RunEvaluation(metrics=metrics, quality_metric=quality_metric, min_quality=min_quality)
    if is_bundled_classifier(model_dir):
        from carbon_aware.trainer.evaluate import evaluate_model

        classifier = evaluate_model(model_dir)
        result.classifier = classifier
        metrics.update(
            {
                "accuracy": classifier.accuracy,
                "auc": classifier.auc,
                "log_loss": classifier.log_loss,
                "n_test": float(classifier.n_test),
            }
        )
        for variant in classifier.precision_variants:
            if variant["format"] == "tflite":
                prefix = f"tflite_{variant['precision']}"
                metrics[f"{prefix}_accuracy"] = float(variant["accuracy"])
                metrics[f"{prefix}_size_bytes"] = float(variant["size_bytes"])
    try:
        result.quality = check_quality(metrics, quality_metric, min_quality)
    except ModelQualityError as err:
        result.failure = str(err)
        result.quality = float(metrics.get(quality_metric, float("nan")))
    return result
