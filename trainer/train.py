"""Train a small Keras classifier on a table and write the model and a run record.

:func:`train` is a pure function of its :class:`TrainConfig`: it loads the data,
applies the optional data-efficiency levers (:mod:`carbon_aware.trainer.efficiency`), splits it,
fits the preprocessing on the training split, trains an MLP with early stopping
while measuring its energy (in mixed precision if asked and a GPU is present), and
writes everything to ``output_dir``, with compressed TFLite copies if asked
(:mod:`carbon_aware.trainer.precision`). TensorFlow and Keras are imported inside the functions
that need them.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from carbon_aware import storage
from carbon_aware.measurement import energy

from . import data, distributed, efficiency, precision

SCHEMA_VERSION = 1
EARLY_STOPPING_PATIENCE = 5
HIDDEN_UNITS = (32, 16)
HYPERPARAMETERS = ("epochs", "batch_size", "seed", "learning_rate")
LEVERS = ("dedupe", "keep_columns", "mixed_precision", "export_compressed")


def load_keras() -> ModuleType:
    """Import Keras with TensorFlow's C++ logging quietened.

    Returns:
        The ``keras`` module.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    module: ModuleType = keras
    return module


def _check_int(name: str, value: int, low: int, high: int) -> None:
    """Raise ValueError unless ``value`` is an int in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; validated on construction.

    Raises:
        ValueError: Naming the field, its value and what is allowed.
    """

    data_uri: str
    label_column: str
    output_dir: str
    epochs: int = 20
    batch_size: int = 32
    seed: int = 42
    learning_rate: float = 1e-3
    region: str = "local"
    machine_type: str = "n1-standard-4"
    accelerator_type: str = ""
    accelerator_count: int = 0
    dedupe: str = "none"
    keep_columns: str = ""
    mixed_precision: bool = False
    export_compressed: bool = False

    def __post_init__(self) -> None:
        for name in ("label_column", "output_dir", "region", "machine_type"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string, got {getattr(self, name)!r}")
        _check_int("epochs", self.epochs, 1, 1000)
        _check_int("batch_size", self.batch_size, 1, 65536)
        _check_int("seed", self.seed, 0, 2**31 - 1)
        _check_int("accelerator_count", self.accelerator_count, 0, 16)
        lr = self.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not 0.0 < lr <= 1.0:
            raise ValueError(f"learning_rate must be a number in (0, 1], got {lr!r}")
        for name in ("mixed_precision", "export_compressed"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        efficiency.parse_dedupe(self.dedupe)
        efficiency.parse_keep_columns(self.keep_columns)
        energy.machine_shape(self.machine_type)
        if self.accelerator_type:
            energy.gpu_watts(self.accelerator_type)
        if bool(self.accelerator_type) != (self.accelerator_count > 0):
            raise ValueError(
                f"accelerator_type {self.accelerator_type!r} and accelerator_count "
                f"{self.accelerator_count} disagree; give both (count >= 1) or neither"
            )


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns; the same facts are in files under ``model_dir``."""

    model_dir: str
    metrics: dict[str, Any] = field(default_factory=dict)
    run_record: dict[str, Any] = field(default_factory=dict)


def utc_iso(moment: datetime) -> str:
    """Format a UTC datetime as ISO 8601 with a ``Z`` suffix.

    Args:
        moment: A timezone-aware datetime.

    Returns:
        For example ``2025-01-31T12:00:00.123Z``.
    """
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _build_model(keras: ModuleType, n_inputs: int, n_classes: int, learning_rate: float) -> Any:
    """Build and compile the MLP: sigmoid output for 2 classes, softmax for more."""
    binary = n_classes == 2
    layers = [keras.layers.Input(shape=(n_inputs,))]
    layers += [keras.layers.Dense(units, activation="relu") for units in HIDDEN_UNITS]
    # The output layer stays float32 so that under mixed_float16 the loss is stable.
    if binary:
        layers.append(keras.layers.Dense(1, activation="sigmoid", dtype="float32"))
    else:
        layers.append(keras.layers.Dense(n_classes, activation="softmax", dtype="float32"))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,  # XLA compilation costs more than it saves for a tiny MLP
    )
    return model


def _write_json(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON."""
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _export_compressed(
    config: TrainConfig, model: Any, out: Path, x_train: np.ndarray
) -> dict[str, Any]:
    """Write the TFLite copies, measuring the export's energy like the training's."""
    with energy.measure_energy(
        config.region, config.machine_type, config.accelerator_type, config.accelerator_count
    ) as meter:
        block = precision.export_tflite(model, out, x_train)
    assert meter.result is not None
    return {**block, "energy": meter.result.to_dict()}


def load_checked_data(config: TrainConfig) -> tuple[Any, dict[str, Any]]:
    """Loads the table and runs every data check training makes, without training.

    The file exists and parses, the label column is there, there are enough rows and classes,
    ``dedupe=key:`` and ``keep_columns`` name real columns, and the table is still usable after
    those levers. ``python -m carbon_aware.trainer.task --check-only`` runs exactly this.

    Returns:
        The table after the data-efficiency levers, and the levers' record.

    Raises:
        ValueError: Naming what is wrong with the data.
    """
    loaded = data.load_table(config.data_uri, config.label_column)
    df, efficiency_record = efficiency.apply_levers(
        loaded, config.label_column, config.dedupe, config.keep_columns
    )
    if efficiency_record["applied"]:
        levers = f"dedupe={config.dedupe!r} and keep_columns={config.keep_columns!r}"
        name = f"{data.dataset_name(config.data_uri)} after {levers}"
        data.validate(df, name, config.label_column)
    return df, efficiency_record


def _fit_one_worker(
    keras: ModuleType,
    config: TrainConfig,
    classes: list[Any],
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
) -> tuple[Any, dict[str, list[float]]]:
    """Keras ``fit`` with early stopping on one worker; the model and its per-epoch history."""
    model = _build_model(keras, x_train.shape[1], len(classes), config.learning_rate)
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=config.epochs,
        batch_size=config.batch_size,
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=EARLY_STOPPING_PATIENCE,
                restore_best_weights=True,
            )
        ],
        verbose=0,
    )
    return model, {k: [float(v) for v in vals] for k, vals in history.history.items()}


def train(config: TrainConfig) -> TrainResult:
    """Train a classifier as ``config`` says and write its artefacts to ``output_dir``.

    Writes ``model.keras``, ``preprocessor.joblib``, ``test.csv`` (raw held-out
    rows with the label, after the data-efficiency levers), ``classes.json``,
    ``training_metrics.json`` and ``run_record.json``; with ``export_compressed``
    also ``model_float32.tflite``, ``model_float16.tflite`` and ``model_int8.tflite``.

    Args:
        config: The validated run configuration.

    Returns:
        The output directory, the training metrics and the run record.

    Raises:
        ValueError: For unusable data (see :func:`carbon_aware.trainer.data.load_table`), a
            lever naming unknown columns (see
            :func:`carbon_aware.trainer.efficiency.apply_levers`), data left unusable by the
            levers, or an unusable output directory.
    """
    import joblib

    role = distributed.worker_role(os.environ)
    strategy = None
    if role.distributed:
        import tensorflow as tf

        # Before any other TensorFlow op, as the strategy requires.
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    df, efficiency_record = load_checked_data(config)
    # Only the chief writes the model and metrics; other workers write into a scratch dir.
    out = (
        storage.prepare_output_dir(config.output_dir)
        if role.is_chief
        else Path(tempfile.mkdtemp(prefix="carbon-aware-worker-scratch-"))
    )
    train_df, val_df, test_df = data.split(df, config.label_column, config.seed)
    classes = data.class_labels(df[config.label_column])
    features = [c for c in df.columns if c != config.label_column]

    preprocessor = data.build_preprocessor(df[features])
    x_train = np.asarray(preprocessor.fit_transform(train_df[features]), dtype=np.float32)
    x_val = np.asarray(preprocessor.transform(val_df[features]), dtype=np.float32)
    y_train = data.encode_labels(train_df[config.label_column], classes)
    y_val = data.encode_labels(val_df[config.label_column], classes)

    keras = load_keras()
    if strategy is None:
        keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    with (
        precision.precision_policy(keras, config.mixed_precision) as precision_record,
        energy.measure_energy(
            config.region, config.machine_type, config.accelerator_type, config.accelerator_count
        ) as meter,
    ):
        if strategy is not None:
            model, per_epoch, steps = distributed.fit_multi_worker(
                strategy,
                keras,
                lambda: _build_model(keras, x_train.shape[1], len(classes), config.learning_rate),
                (x_train, y_train, x_val, y_val),
                n_classes=len(classes),
                epochs=config.epochs,
                batch_size=config.batch_size,
                seed=config.seed,
                patience=EARLY_STOPPING_PATIENCE,
            )
        else:
            model, per_epoch = _fit_one_worker(
                keras, config, classes, x_train, y_train, x_val, y_val
            )
            steps = distributed.steps_per_epoch(len(x_train), config.batch_size, 1)
    assert meter.result is not None

    epochs_run = len(per_epoch["loss"])
    if strategy is not None:
        train_loss, train_accuracy = distributed.loss_and_accuracy(
            model, x_train, y_train, len(classes) == 2
        )
        val_loss, val_accuracy = distributed.loss_and_accuracy(
            model, x_val, y_val, len(classes) == 2
        )
        final_train = {"loss": train_loss, "accuracy": train_accuracy}
        final_val = {"loss": val_loss, "accuracy": val_accuracy}
    else:
        final_train = model.evaluate(x_train, y_train, verbose=0, return_dict=True)
        final_val = model.evaluate(x_val, y_val, verbose=0, return_dict=True)
    metrics: dict[str, Any] = {
        "train_loss": float(final_train["loss"]),
        "train_accuracy": float(final_train["accuracy"]),
        "val_loss": float(final_val["loss"]),
        "val_accuracy": float(final_val["accuracy"]),
        "epochs_run": epochs_run,
        "best_epoch": int(np.argmin(per_epoch["val_loss"])) + 1,
    }

    model.save(str(out / "model.keras"))
    joblib.dump(preprocessor, out / "preprocessor.joblib")
    test_df.to_csv(out / "test.csv", index=False)
    _write_json(out / "classes.json", classes)
    _write_json(out / "training_metrics.json", {**metrics, "history": per_epoch})
    compressed = (
        _export_compressed(config, model, out, x_train)
        if config.export_compressed and role.is_chief
        else None
    )

    import tensorflow as tf

    run_record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "start_utc": utc_iso(started),
        "end_utc": utc_iso(datetime.now(UTC)),
        "duration_s": round(time.perf_counter() - t0, 3),
        "region": config.region,
        "machine": {
            "machine_type": config.machine_type,
            "accelerator_type": config.accelerator_type,
            "accelerator_count": config.accelerator_count,
            "host_cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python_version": platform.python_version(),
            "tensorflow_version": tf.__version__,
            "keras_version": keras.__version__,
        },
        "energy": meter.result.to_dict(),
        "distribution": {
            "strategy": "MultiWorkerMirroredStrategy" if strategy is not None else "none",
            "workers": role.workers,
            "task": role.task,
            "global_batch_size": config.batch_size * role.workers,
            "steps_per_epoch_per_worker": steps,
        },
        "dataset": {
            "uri": data.dataset_name(config.data_uri),
            "label_column": config.label_column,
            "rows": len(df),
            "feature_count": len(features),
            "encoded_feature_count": int(x_train.shape[1]),
            "classes": classes,
            "train_rows": len(train_df),
            "val_rows": len(val_df),
            "test_rows": len(test_df),
        },
        "hyperparameters": {k: v for k, v in asdict(config).items() if k in HYPERPARAMETERS},
        "levers": {k: v for k, v in asdict(config).items() if k in LEVERS},
        "data_efficiency": efficiency_record,
        "precision": precision_record,
        "compressed_export": compressed,
        "epochs_run": epochs_run,
        "metrics": metrics,
    }
    _write_json(out / "run_record.json", run_record)
    # The training contract's metrics file: flat numbers, which evaluate publishes and gates on.
    _write_json(out / "metrics.json", {k: float(v) for k, v in metrics.items()})
    if not role.is_chief:
        shutil.rmtree(out, ignore_errors=True)
        return TrainResult(model_dir="", metrics=metrics, run_record=run_record)
    storage.publish_output_dir(config.output_dir, out)
    return TrainResult(model_dir=config.output_dir, metrics=metrics, run_record=run_record)
