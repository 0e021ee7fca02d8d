"""Evaluate a trained model on its held-out test split, and gate on accuracy.

When training exported compressed TFLite copies of the model, each is evaluated
on the same test rows too: size, accuracy and inference time per precision.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carbon_aware import storage

from . import precision
from .data import encode_labels
from .train import load_keras

MAX_ROC_POINTS = 50
KERAS_NOTE = "Keras archive as trained: float32 weights plus optimizer state and config"


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
    # One dict per precision when compressed copies exist (see precision_variants()).
    precision_variants: list[dict[str, Any]] = field(default_factory=list)
    # When the evaluation ran: a report compares it with the run's start to spot cache reuse.
    evaluated_at_utc: str = ""

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


def _probabilities(raw: np.ndarray, n_classes: int) -> np.ndarray:
    """Turn model outputs (sigmoid column or softmax rows) into class probabilities."""
    raw = np.asarray(raw, dtype=np.float64)
    if n_classes == 2:
        positive = raw.reshape(-1)
        proba: np.ndarray = np.column_stack([1.0 - positive, positive])
    else:
        proba = raw / raw.sum(axis=1, keepdims=True)
    return proba


def _existing(training_output_dir: str, name: str) -> str | None:
    """Return a local path of an optional artefact, or None if it does not exist."""
    try:
        return str(storage.fetch(storage.join_uri(training_output_dir, name)))
    except FileNotFoundError:
        return None


def precision_variants(
    training_output_dir: str,
    keras_predict: Callable[[np.ndarray], np.ndarray],
    keras_path: str,
    features: np.ndarray,
    y_true: np.ndarray,
    n_classes: int,
) -> list[dict[str, Any]]:
    """Measure the float32 Keras model and every TFLite copy found next to it.

    Args:
        training_output_dir: The training ``output_dir``; the copies are the files
            of :data:`carbon_aware.trainer.precision.TFLITE_FILES` present there.
        keras_predict: The Keras model's batch prediction function.
        keras_path: The local path of ``model.keras``.
        features: The preprocessed test rows.
        y_true: The test labels as class indices.
        n_classes: The number of classes.

    Returns:
        ``[]`` when there is no copy; else one dict per precision (Keras float32
        first): ``precision``, ``format``, ``file``, ``size_bytes``, ``size_ratio``
        (size over the float32 TFLite file's), ``accuracy``, ``accuracy_delta`` (vs
        float32 Keras), ``agreement`` (share of predictions equal to float32
        Keras's), ``inference_us_per_example`` (median of whole-test-set batches
        divided by rows), ``runtime`` and ``note`` (how the copy was made).
    """
    found = {p: _existing(training_output_dir, f) for p, f in precision.TFLITE_FILES.items()}
    paths = {p: path for p, path in found.items() if path is not None}
    if not paths:
        return []
    keras_version = load_keras().__version__
    rows = [("float32", "keras", keras_path, keras_predict, f"Keras {keras_version}")]
    for name, path in paths.items():
        predict, runtime = precision.tflite_predictor(Path(path), features.shape)
        rows.append((name, "tflite", path, predict, runtime))
    base_size = Path(paths["float32"]).stat().st_size if "float32" in paths else None
    variants: list[dict[str, Any]] = []
    reference: np.ndarray | None = None
    for name, fmt, path, predict, runtime in rows:
        raw, us_per_example = precision.time_inference(predict, features)
        y_pred = _probabilities(raw, n_classes).argmax(axis=1)
        reference = y_pred if reference is None else reference
        size = Path(path).stat().st_size
        accuracy = float(np.mean(y_pred == y_true))
        variants.append(
            {
                "precision": name,
                "format": fmt,
                "file": Path(path).name,
                "size_bytes": size,
                "size_ratio": round(size / base_size, 4) if base_size else None,
                "accuracy": accuracy,
                "accuracy_delta": round(accuracy - variants[0]["accuracy"], 6) if variants else 0.0,
                "agreement": float(np.mean(y_pred == reference)),
                "inference_us_per_example": round(us_per_example, 3),
                "runtime": runtime,
                "note": KERAS_NOTE if fmt == "keras" else precision.TFLITE_METHODS[name],
            }
        )
    return variants


def evaluate_model(training_output_dir: str) -> EvaluationResult:
    """Evaluate the model that :func:`carbon_aware.trainer.train.train` wrote to a directory.

    Args:
        training_output_dir: The training ``output_dir`` (local or ``gs://``),
            holding ``model.keras``, ``preprocessor.joblib``, ``test.csv``,
            ``classes.json`` and ``run_record.json``.

    Returns:
        Accuracy, AUC, log loss, confusion matrix, (binary) ROC curve and, when
        the training exported compressed copies, their ``precision_variants``.

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
    proba = _probabilities(raw, len(classes))
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
        precision_variants=precision_variants(
            training_output_dir,
            lambda batch: np.asarray(model.predict_on_batch(batch)),
            path("model.keras"),
            features,
            y_true,
            len(classes),
        ),
        evaluated_at_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )


def publish_evaluation(training_output_dir: str) -> EvaluationResult:
    """Evaluates the trained model and writes what evaluate publishes, as any program may.

    Adds the test-set ``accuracy``, ``auc``, ``log_loss``, ``n_test`` (and each TFLite copy's
    accuracy and size) to ``metrics.json``; writes ``classification_metrics.json`` (confusion
    matrix, ROC curve) and, with compressed copies, ``precision_variants.json``: the files
    :mod:`carbon_aware.training.evaluation` documents.

    Args:
        training_output_dir: The training ``output_dir`` (local or ``gs://``).

    Returns:
        The evaluation.
    """
    result = evaluate_model(training_output_dir)
    metrics_uri = storage.join_uri(training_output_dir, "metrics.json")
    metrics: dict[str, float] = {
        str(k): float(v) for k, v in json.loads(storage.read_text(metrics_uri)).items()
    }
    metrics.update(
        {
            "accuracy": result.accuracy,
            "auc": result.auc,
            "log_loss": result.log_loss,
            "n_test": float(result.n_test),
        }
    )
    for variant in result.precision_variants:
        if variant["format"] == "tflite":
            prefix = f"tflite_{variant['precision']}"
            metrics[f"{prefix}_accuracy"] = float(variant["accuracy"])
            metrics[f"{prefix}_size_bytes"] = float(variant["size_bytes"])
    classification = {
        "classes": result.classes,
        "confusion_matrix": result.confusion_matrix,
        "roc_curve": result.roc_curve,
    }
    files = {
        "metrics.json": metrics,
        "classification_metrics.json": classification,
    }
    if result.precision_variants:
        files["precision_variants.json"] = result.precision_variants
    for name, payload in files.items():
        text = json.dumps(payload, indent=2) + "\n"
        storage.write_text(storage.join_uri(training_output_dir, name), text)
    return result
