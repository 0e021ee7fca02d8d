"""The bundled classifier trained by several workers with ``MultiWorkerMirroredStrategy``.

Vertex AI gives every replica of a job with more than one (``worker_replica_count`` > 0)
``TF_CONFIG`` naming the cluster (``chief`` and ``worker`` tasks) and this replica's task. With
more than one task, all replicas train ONE model together: each step's global batch is split
across the workers and the gradients are all-reduced, so each worker runs half the steps of a
lone replica when there are two. Only the chief writes the model and the metrics; the other
workers save into a scratch directory that is then removed, as TensorFlow's multi-worker guide
advises (https://www.tensorflow.org/tutorials/distribute/multi_worker_with_keras, "Model saving
and loading": every worker must save, non-chief workers to a temporary directory).

Keras 3's ``Model.fit`` does not run under this strategy (keras-team/keras#20585: "Attempt to
convert a value (PerReplica…)"), so the steps are a custom loop, as in TensorFlow's "Custom
training loop with Keras and MultiWorkerMirroredStrategy" tutorial.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np


@dataclass(frozen=True)
class WorkerRole:
    """This replica's place in the training cluster."""

    workers: int
    is_chief: bool
    task: str

    @property
    def distributed(self) -> bool:
        """Whether several workers train the one model together."""
        return self.workers > 1


def worker_role(environ: Mapping[str, str]) -> WorkerRole:
    """This replica's role from ``TF_CONFIG`` (a lone chief when there is none).

    The chief is the ``chief`` task, or ``worker`` 0 of a cluster without one (TensorFlow's rule).

    Raises:
        ValueError: ``TF_CONFIG`` is not the JSON object Vertex AI sets.
    """
    text = environ.get("TF_CONFIG", "")
    if not text:
        return WorkerRole(workers=1, is_chief=True, task="chief-0")
    try:
        config = json.loads(text)
        cluster = config["cluster"]
        task_type, index = str(config["task"]["type"]), int(config["task"]["index"])
        workers = sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError(
            f"TF_CONFIG is not a cluster description such as Vertex AI sets: {text[:200]!r}"
        ) from None
    is_chief = task_type == "chief" or (
        task_type == "worker" and index == 0 and "chief" not in cluster
    )
    return WorkerRole(workers=max(workers, 1), is_chief=is_chief, task=f"{task_type}-{index}")


def steps_per_epoch(rows: int, batch_size: int, workers: int) -> int:
    """Steps each worker runs per epoch: the global batch is ``batch_size`` x ``workers``."""
    return math.ceil(rows / (batch_size * workers))


def loss_and_accuracy(
    model: Any, x: np.ndarray, y: np.ndarray, binary: bool
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the model on ``(x, y)``, computed on this worker."""
    probabilities = np.asarray(model(x, training=False), dtype=np.float64)
    eps = 1e-7
    if binary:
        p = np.clip(probabilities.reshape(-1), eps, 1 - eps)
        target = y.reshape(-1).astype(np.float64)
        loss = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
        accuracy = np.mean((p >= 0.5) == (target >= 0.5))
    else:
        labels = y.reshape(-1).astype(int)
        p = np.clip(probabilities[np.arange(len(labels)), labels], eps, 1.0)
        loss = -np.mean(np.log(p))
        accuracy = np.mean(np.argmax(probabilities, axis=1) == labels)
    return float(loss), float(accuracy)


def fit_multi_worker(
    strategy: Any,
    keras: ModuleType,
    build_model: Any,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    *,
    n_classes: int,
    epochs: int,
    batch_size: int,
    seed: int,
    patience: int,
) -> tuple[Any, dict[str, list[float]], int]:
    """Trains one model across the cluster; every worker returns the same model and history.

    Early stopping on the validation loss, with the best weights restored, as the single-worker
    path does: each worker computes the validation loss of the synchronised weights itself, so
    all of them stop at the same epoch.

    Args:
        strategy: The ``MultiWorkerMirroredStrategy``, created before any other TensorFlow op.
        keras: The ``keras`` module.
        build_model: Builds and compiles the model (called inside the strategy's scope).
        data: ``x_train, y_train, x_val, y_val``.
        n_classes: Number of classes (2: sigmoid output).
        epochs: Maximum epochs.
        batch_size: Per-worker batch; the global batch is this times the workers.
        seed: Shuffle seed (the same on every worker, so the shards agree).
        patience: Early-stopping patience in epochs.

    Returns:
        The model, the per-epoch history (``loss``, ``accuracy``, ``val_loss``,
        ``val_accuracy``) and the steps each worker ran per epoch.
    """
    import tensorflow as tf

    x_train, y_train, x_val, y_val = data
    binary = n_classes == 2
    workers = int(strategy.num_replicas_in_sync)
    global_batch = batch_size * workers
    y_fit = y_train.reshape(-1, 1).astype(np.float32) if binary else y_train
    dataset = (
        tf.data.Dataset.from_tensor_slices((x_train, y_fit))
        .shuffle(len(x_train), seed=seed)
        .batch(global_batch)
    )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    distributed = strategy.experimental_distribute_dataset(dataset.with_options(options))
    with strategy.scope():
        model = build_model()
        optimizer = model.optimizer
        loss_fn = (
            keras.losses.BinaryCrossentropy(reduction=None)
            if binary
            else keras.losses.SparseCategoricalCrossentropy(reduction=None)
        )

    @tf.function  # type: ignore[untyped-decorator]
    def train_step(x: Any, y: Any) -> Any:
        def replica_step(x: Any, y: Any) -> Any:
            with tf.GradientTape() as tape:
                per_example = loss_fn(y, model(x, training=True))
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
            return loss

        per_replica = strategy.run(replica_step, args=(x, y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    history: dict[str, list[float]] = {
        "loss": [],
        "accuracy": [],
        "val_loss": [],
        "val_accuracy": [],
    }
    best_loss, best_weights, since_best, steps = math.inf, None, 0, 0
    for _ in range(epochs):
        steps = 0
        for x, y in distributed:
            train_step(x, y)
            steps += 1
        loss, accuracy = loss_and_accuracy(model, x_train, y_train, binary)
        val_loss, val_accuracy = loss_and_accuracy(model, x_val, y_val, binary)
        for key, value in zip(history, (loss, accuracy, val_loss, val_accuracy), strict=True):
            history[key].append(value)
        if val_loss < best_loss:
            best_loss, best_weights, since_best = val_loss, model.get_weights(), 0
        else:
            since_best += 1
            if since_best >= patience:
                break
    if best_weights is not None:
        model.set_weights(best_weights)
    return model, history, steps
