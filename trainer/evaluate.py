"""Evaluate a trained model on its held-out test split, and gate on accuracy."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from trainer import storage
from trainer.data import encode_labels
from trainer.train import load_keras

MAX_ROC_POINTS = 50


class ModelQualityError(RuntimeError):
    """The model's test accuracy is below the required minimum."""


@dataclass(frozen=True)
class EvaluationResult:
    """Test-set metrics of a trained model."""

    accuracy: float
    auc: float  # binary: ROC AUC; multi-class: macro one-vs-rest ROC AUC
    log_loss: float
    n_test: int
    classes: list[str]
    confusion_matrix: list[list[int]]  # rows: true class, columns: predicted class
    roc_curve: dict[str, list[float]] | None  # binary only: fpr, tpr, thresholds

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict."""
        return asdict(self)


def _read_json(uri: str) -> Any:
    """Read a JSON file from a local path or ``gs://`` URI."""
    return json.loads(storage.fetch(uri).read_text(encoding="utf-8"))


def downsample_roc(
    fpr: np.ndarray, tpr: np.ndarray, thresholds: np.ndarray, max_points: int = MAX_ROC_POINTS
) -> dict[str, list[float]]:
    """Thin a ROC curve to at most ``max_points`` points with finite thresholds.

    Args:
        fpr: False positive rates, as from ``sklearn.metrics.roc_curve``.
        tpr: True positive rates.
        thresholds: Decision thresholds; an infinite first threshold becomes the
            next float above the largest finite one (so no sample is positive).
        max_points: The most points to keep; the first and last are always kept.

    Returns:
        ``{"fpr": [...], "tpr": [...], "thresholds": [...]}`` of equal length.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64).copy()
    finite = np.isfinite(thresholds)
    top = float(thresholds[finite].max()) if finite.any() else 1.0
    thresholds[~finite] = np.nextafter(top, np.inf)
    keep = np.unique(np.linspace(0, len(fpr) - 1, num=min(max_points, len(fpr))).round())
    idx = keep.astype(int)
    return {
        "fpr": [float(v) for v in np.asarray(fpr)[idx]],
        "tpr": [float(v) for v in np.asarray(tpr)[idx]],
        "thresholds": [float(v) for v in thresholds[idx]],
    }


def evaluate_model(training_output_dir: str) -> EvaluationResult:
    """Evaluate the model that :func:`trainer.train.train` wrote to a directory.

    Args:
        training_output_dir: The training ``output_dir`` (local or ``gs://``),
            holding ``model.keras``, ``preprocessor.joblib``, ``test.csv``,
            ``classes.json`` and ``run_record.json``.

    Returns:
        Accuracy, AUC, log loss, confusion matrix and (binary) ROC curve.

    Raises:
        FileNotFoundError: If an artefact is missing.
        ValueError: If the test set holds unknown labels or fewer than 2 classes.
    """
    import joblib
    from sklearn import metrics

    def path(name: str) -> str:
        return str(storage.fetch(storage.join_uri(training_output_dir, name)))

    classes = [str(c) for c in _read_json(storage.join_uri(training_output_dir, "classes.json"))]
    record = _read_json(storage.join_uri(training_output_dir, "run_record.json"))
    label_column = str(record["dataset"]["label_column"])
    test = pd.read_csv(path("test.csv"))
    preprocessor = joblib.load(path("preprocessor.joblib"))
    keras = load_keras()
    model = keras.models.load_model(path("model.keras"), compile=False)

    y_true = encode_labels(test[label_column], classes)
    if len(np.unique(y_true)) < 2:
        raise ValueError(f"test.csv in {training_output_dir} has fewer than 2 classes; no AUC")
    features = np.asarray(preprocessor.transform(test.drop(columns=[label_column])), np.float32)
    raw = np.asarray(model.predict(features, verbose=0), dtype=np.float64)
    if len(classes) == 2:
        positive = raw.reshape(-1)
        proba = np.column_stack([1.0 - positive, positive])
    else:
        proba = raw / raw.sum(axis=1, keepdims=True)
    y_pred = proba.argmax(axis=1)
    labels = list(range(len(classes)))

    if len(classes) == 2:
        auc = float(metrics.roc_auc_score(y_true, proba[:, 1]))
        fpr, tpr, thresholds = metrics.roc_curve(y_true, proba[:, 1])
        roc: dict[str, list[float]] | None = downsample_roc(fpr, tpr, thresholds)
    else:
        auc = float(
            metrics.roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=labels)
        )
        roc = None
    matrix = metrics.confusion_matrix(y_true, y_pred, labels=labels)
    return EvaluationResult(
        accuracy=float(metrics.accuracy_score(y_true, y_pred)),
        auc=auc,
        log_loss=float(metrics.log_loss(y_true, proba, labels=labels)),
        n_test=len(test),
        classes=classes,
        confusion_matrix=[[int(v) for v in row] for row in matrix],
        roc_curve=roc,
    )


def check_min_accuracy(accuracy: float, min_accuracy: float) -> None:
    """Raise if a model's test accuracy is below the required minimum.

    Args:
        accuracy: The test accuracy, in [0, 1].
        min_accuracy: The lowest acceptable accuracy, in [0, 1].

    Raises:
        ValueError: If ``min_accuracy`` (or ``accuracy``) is outside [0, 1].
        ModelQualityError: If ``accuracy < min_accuracy``.
    """
    for name, value in (("min_accuracy", min_accuracy), ("accuracy", accuracy)):
        if not 0.0 <= value <= 1.0:  # also rejects NaN
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    if accuracy < min_accuracy:
        raise ModelQualityError(
            f"test accuracy {accuracy:.3f} is below min_accuracy {min_accuracy:g}; "
            "the model is not good enough to deploy (improve the data or model, or lower "
            "min_accuracy)"
        )
