"""evaluate: test-set metrics, and a quality gate."""

from typing import NamedTuple

from kfp.dsl import ClassificationMetrics, Metrics, Output


def evaluate(
    model_uri: str,
    min_accuracy: float,
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
) -> NamedTuple("EvaluationOutputs", accuracy=float, evaluation_json=str):
    """Evaluates the model on its held-out test split; fails the run below ``min_accuracy``.

    Args:
        model_uri: The trained model directory (local path or gs:// URI).
        min_accuracy: The lowest acceptable test accuracy (0-1).
        metrics: Scalar test metrics (accuracy, AUC, log loss, test rows; and accuracy and size
            of each compressed TFLite copy when train exported them).
        classification_metrics: Confusion matrix and, for two classes, the ROC curve.

    Returns:
        accuracy: Test accuracy.
        evaluation_json: All test metrics as JSON, with ``precision_variants`` (size, accuracy
            and inference time per precision; empty without compressed copies).
    """
    import dataclasses
    import json

    from trainer.evaluate import check_min_accuracy, evaluate_model

    result = evaluate_model(model_uri)
    metrics.log_metric("accuracy", result.accuracy)
    metrics.log_metric("auc", result.auc)
    metrics.log_metric("log_loss", result.log_loss)
    metrics.log_metric("n_test", result.n_test)
    for variant in result.precision_variants:
        if variant["format"] == "tflite":
            metrics.log_metric(f"tflite_{variant['precision']}_accuracy", variant["accuracy"])
            metrics.log_metric(f"tflite_{variant['precision']}_size_bytes", variant["size_bytes"])
    classification_metrics.log_confusion_matrix(result.classes, result.confusion_matrix)
    if result.roc_curve:
        classification_metrics.log_roc_curve(
            result.roc_curve["fpr"], result.roc_curve["tpr"], result.roc_curve["thresholds"]
        )
    check_min_accuracy(result.accuracy, min_accuracy)
    return (result.accuracy, json.dumps(dataclasses.asdict(result), sort_keys=True))
