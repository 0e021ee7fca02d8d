"""Lower-precision levers: mixed-precision training and compressed TFLite exports.

Mixed precision (Keras ``mixed_float16``) is applied only when TensorFlow sees a
GPU; on a CPU the run trains in float32 and says so, rather than pretending.

The compressed export converts the trained model with ``tf.lite.TFLiteConverter``
from a SavedModel written by Keras 3's ``Model.export`` into three files next to
``model.keras``: float32 (the size baseline), float16 weights, and int8. The int8
file is post-training integer quantization calibrated on training rows (int8
weights and activations, float32 input and output): TFLite's *dynamic-range*
quantization skips weight tensors with fewer than 1024 elements, which is every
layer of this small MLP, so it would leave the model as float32 as it is.
The files are run with the TFLite interpreter (``ai_edge_litert`` if installed,
else ``tf.lite.Interpreter``) to measure their accuracy and speed.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

# Precision name -> file written next to model.keras, in table order.
TFLITE_FILES: dict[str, str] = {
    "float32": "model_float32.tflite",
    "float16": "model_float16.tflite",
    "int8": "model_int8.tflite",
}
TFLITE_METHODS: dict[str, str] = {
    "float32": "TFLite float32 (no optimisation)",
    "float16": "TFLite float16 weights (Optimize.DEFAULT, supported_types=[float16])",
    "int8": (
        "TFLite int8 weights and activations (Optimize.DEFAULT with a representative "
        "dataset of training rows); float32 input and output"
    ),
}
CALIBRATION_ROWS = 200
TIMING_REPEATS = 20
MIXED_POLICY = "mixed_float16"
NO_GPU_NOTE = "mixed precision requested but no GPU; trained in float32"


def gpu_count() -> int:
    """Return how many GPUs TensorFlow can use.

    Returns:
        The number of physical GPU devices TensorFlow lists.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


@contextmanager
def precision_policy(keras: ModuleType, mixed_precision: bool) -> Iterator[dict[str, Any]]:
    """Set Keras's global dtype policy for a training block, and restore it afterwards.

    Args:
        keras: The ``keras`` module.
        mixed_precision: Whether mixed precision was requested; it is applied only
            when a GPU is present.

    Yields:
        The run record's ``precision`` block: ``mixed_precision_requested``,
        ``gpu_count``, ``policy``, ``compute_dtype``, ``variable_dtype`` and ``note``.
    """
    gpus = gpu_count() if mixed_precision else 0
    previous = keras.mixed_precision.global_policy()
    note = ""
    if mixed_precision and gpus:
        keras.mixed_precision.set_global_policy(MIXED_POLICY)
        note = f"{MIXED_POLICY} on {gpus} GPU(s): float16 compute, float32 weights, loss scaling"
    elif mixed_precision:
        note = NO_GPU_NOTE
    policy = keras.mixed_precision.global_policy()
    record: dict[str, Any] = {
        "mixed_precision_requested": mixed_precision,
        "gpu_count": gpus,
        "policy": str(policy.name),
        "compute_dtype": str(policy.compute_dtype),
        "variable_dtype": str(policy.variable_dtype),
        "note": note,
    }
    try:
        yield record
    finally:
        keras.mixed_precision.set_global_policy(previous)


def export_tflite(model: Any, out_dir: Path, calibration: np.ndarray) -> dict[str, Any]:
    """Write the float32, float16 and int8 TFLite versions of a Keras model.

    Args:
        model: The trained Keras model (one float32 input of shape ``(None, n)``).
        out_dir: The directory to write ``TFLITE_FILES`` into.
        calibration: Preprocessed training rows; up to ``CALIBRATION_ROWS`` of them
            calibrate the int8 activation ranges.

    Returns:
        The run record's ``compressed_export`` block: ``converter``, ``seconds``
        (the whole export) and ``files`` (per precision: ``file``, ``size_bytes``,
        ``convert_s``, ``method``), plus ``calibration_rows``; :func:`.train.train`
        adds the export's measured ``energy``.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    rows = np.asarray(calibration[:CALIBRATION_ROWS], dtype=np.float32)

    def representative() -> Iterator[list[np.ndarray]]:
        for i in range(len(rows)):
            yield [rows[i : i + 1]]

    t0 = time.perf_counter()
    files: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="tflite-export-") as saved_model:
        model.export(saved_model, format="tf_saved_model", verbose=False)
        for precision, name in TFLITE_FILES.items():
            start = time.perf_counter()
            converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
            if precision != "float32":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            if precision == "float16":
                converter.target_spec.supported_types = [tf.float16]
            if precision == "int8":
                converter.representative_dataset = representative
            content = converter.convert()
            (out_dir / name).write_bytes(content)
            files[precision] = {
                "file": name,
                "size_bytes": len(content),
                "convert_s": round(time.perf_counter() - start, 3),
                "method": TFLITE_METHODS[precision],
            }
    return {
        "converter": f"tf.lite.TFLiteConverter.from_saved_model (TensorFlow {tf.__version__})",
        "calibration_rows": len(rows),
        "files": files,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _interpreter_class() -> tuple[Any, str]:
    """Return the TFLite interpreter class and a name for it (LiteRT first, then tf.lite)."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai_edge_litert.interpreter.Interpreter"
    except ImportError:
        import tensorflow as tf

        return tf.lite.Interpreter, f"tf.lite.Interpreter (TensorFlow {tf.__version__})"


def time_inference(
    predict: Callable[[np.ndarray], np.ndarray], features: np.ndarray, repeats: int = TIMING_REPEATS
) -> tuple[np.ndarray, float]:
    """Run ``predict`` on all rows once to warm up, then time it ``repeats`` times.

    Args:
        predict: Maps a float32 batch to model outputs.
        features: The preprocessed rows.
        repeats: Timed whole-batch runs.

    Returns:
        The outputs (as float64) and the median time per row in microseconds.
    """
    outputs = np.asarray(predict(features), dtype=np.float64)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(features)
        times.append(time.perf_counter() - start)
    return outputs, statistics.median(times) / max(len(features), 1) * 1e6


def tflite_predictor(path: Path, batch_shape: tuple[int, ...]) -> tuple[Any, str]:
    """Load a .tflite file for whole-batch inference.

    Args:
        path: The .tflite file.
        batch_shape: The shape of the batches it will be given.

    Returns:
        A function from a float32 batch to the model's outputs, and the runtime's name.
    """
    interpreter_class, runtime = _interpreter_class()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
        interpreter = interpreter_class(model_path=str(path))
    source = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(source["index"], list(batch_shape))
    interpreter.allocate_tensors()
    target = interpreter.get_output_details()[0]["index"]

    def predict(batch: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(source["index"], np.asarray(batch, dtype=np.float32))
        interpreter.invoke()
        return np.array(interpreter.get_tensor(target))

    return predict, runtime
