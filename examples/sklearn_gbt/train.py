"""A second training program under Vertex AI's custom-training contract: gradient boosting.

Not Keras and not this project's trainer: a plain scikit-learn program, as a team might already
have. It reads its data from ``AIP_TRAINING_DATA_URI`` (a CSV whose last column is the label, or
scikit-learn's breast-cancer set when unset), writes ``model.joblib`` and ``metrics.json`` to
``AIP_MODEL_DIR``, and nothing else: the carbon-aware pipeline chooses where and when it runs,
measures the machine while it does, and reports the footprint.

Run it on its own: ``AIP_MODEL_DIR=/tmp/m python examples/sklearn_gbt/train.py``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import joblib
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split


def model_dir() -> Path:
    """``AIP_MODEL_DIR`` as a path: Vertex AI gives gs://, which Cloud Storage FUSE mounts."""
    uri = os.environ["AIP_MODEL_DIR"]
    path = Path("/gcs/" + uri.removeprefix("gs://")) if uri.startswith("gs://") else Path(uri)
    path.mkdir(parents=True, exist_ok=True)
    return path


def load() -> tuple[pd.DataFrame, pd.Series]:
    """Features and labels from AIP_TRAINING_DATA_URI, or the bundled breast-cancer set."""
    uri = os.environ.get("AIP_TRAINING_DATA_URI", "")
    if not uri:
        frame = load_breast_cancer(as_frame=True).frame
    else:
        frame = pd.read_csv("/gcs/" + uri.removeprefix("gs://") if uri.startswith("gs://") else uri)
    return frame.iloc[:, :-1], frame.iloc[:, -1]


def main() -> None:
    """Fits the model, writes it and its held-out metrics to AIP_MODEL_DIR."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-estimators", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    features, labels = load()
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=0.25, random_state=args.seed, stratify=labels
    )
    model = GradientBoostingClassifier(
        n_estimators=args.n_estimators, learning_rate=args.learning_rate, random_state=args.seed
    ).fit(x_train, y_train)
    out = model_dir()
    joblib.dump(model, out / "model.joblib")
    metrics = {
        "accuracy": float(accuracy_score(y_test, model.predict(x_test))),
        "n_test": len(y_test),
    }
    if labels.nunique() == 2:
        metrics["auc"] = float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
