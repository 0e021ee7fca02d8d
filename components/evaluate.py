"""evaluate: publish the run's metrics, and gate on one of them."""

from typing import NamedTuple

from kfp.dsl import ClassificationMetrics, Metrics, Output


def evaluate(
    model_uri: str,
    quality_metric: str,
    min_quality: float,
    run_record_json: str,
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
) -> NamedTuple("EvaluationOutputs", quality=float, evaluation_json=str, run_record_json=str):
    """Publishes every number of metrics.json; fails the run when ``quality_metric`` is low.

    For the bundled classifier the held-out test split is evaluated too (accuracy, AUC, log
    loss, confusion matrix, ROC, and each compressed TFLite copy).

    Args:
        model_uri: ``AIP_MODEL_DIR`` of the run (local path or gs:// URI).
        quality_metric: The metrics key to gate on (e.g. ``accuracy``).
        min_quality: The metric's lowest acceptable value.
        run_record_json: The training run's record, handed on unchanged: report-footprint
            reads it from here because KFP cannot nest one ``dsl.OneOf`` in another (the
            deferral branch gives the report its record in the same place).
        metrics: Every metric as a KFP Metrics artifact.
        classification_metrics: Confusion matrix and, for two classes, the ROC curve (the
            bundled classifier only).

    Returns:
        quality: The gated metric's value.
        evaluation_json: The metrics, the gate, and for the bundled classifier its test
            evaluation with ``precision_variants``.
        run_record_json: The training run's record, as given.
    """
    import json

    from carbon_aware.training.evaluation import evaluate_run

    result = evaluate_run(model_uri, quality_metric, min_quality)
    for name, value in sorted(result.metrics.items()):
        metrics.log_metric(name, value)
    classifier = result.classifier
    if classifier is not None:
        classification_metrics.log_confusion_matrix(classifier.classes, classifier.confusion_matrix)
        if classifier.roc_curve:
            classification_metrics.log_roc_curve(
                classifier.roc_curve["fpr"],
                classifier.roc_curve["tpr"],
                classifier.roc_curve["thresholds"],
            )
    result.raise_if_failed()
    return (result.quality, json.dumps(result.to_dict(), sort_keys=True), run_record_json)
