"""evaluate: publish the run's metrics, and gate on one of them."""

from typing import NamedTuple

from kfp.dsl import ClassificationMetrics, Metrics, Model, Output


def evaluate(
    model_uri: str,
    quality_metric: str,
    min_quality: float,
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
    model: Output[Model],
) -> NamedTuple("EvaluationOutputs", quality=float, evaluation_json=str):
    """Publishes what the program wrote; fails the run when ``quality_metric`` is low.

    Every number of ``metrics.json``, and when the program wrote ``classification_metrics.json``
    (see :mod:`carbon_aware.training.evaluation` for its schema) its confusion matrix and ROC
    curve. Any program may write them; the bundled trainer writes both.

    Args:
        model_uri: ``AIP_MODEL_DIR`` of the run (local path or gs:// URI).
        quality_metric: The metrics key to gate on (e.g. ``accuracy``).
        min_quality: The metric's lowest acceptable value.
        metrics: Every metric as a KFP Metrics artifact.
        classification_metrics: Confusion matrix and ROC curve from
            ``classification_metrics.json``, when the program wrote it.
        model: The model that passed the gate: it points at ``model_uri`` (nothing is copied).

    Returns:
        quality: The gated metric's value.
        evaluation_json: The metrics, the gate, the classification metrics and
            ``precision_variants`` (from ``precision_variants.json``, when written).
    """
    import json

    from carbon_aware.training.evaluation import evaluate_run

    result = evaluate_run(model_uri, quality_metric, min_quality)
    for name, value in sorted(result.metrics.items()):
        metrics.log_metric(name, value)
    published = result.classification
    if published is not None:
        classification_metrics.log_confusion_matrix(published.classes, published.confusion_matrix)
        if published.roc_curve:
            classification_metrics.log_roc_curve(
                published.roc_curve["fpr"],
                published.roc_curve["tpr"],
                published.roc_curve["thresholds"],
            )
    result.raise_if_failed()
    model.uri = model_uri
    model.metadata[quality_metric] = result.quality
    return (result.quality, json.dumps(result.to_dict(), sort_keys=True))
