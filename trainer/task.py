"""Command-line entry point: ``python -m carbon_aware.trainer.task --output-dir DIR [...]``.

Vertex AI custom jobs set ``AIP_MODEL_DIR``; it is the default ``--output-dir``.
Prints a one-line JSON summary on success. Exits with status 2 and the error
message on bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from carbon_aware.storage import StorageError

from .distributed import worker_role
from .evaluate import publish_evaluation
from .train import TrainConfig, load_checked_data, train


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser; ``--output-dir`` defaults to ``$AIP_MODEL_DIR``.

    Returns:
        The parser.
    """
    model_dir = os.environ.get("AIP_MODEL_DIR", "")
    defaults = TrainConfig(data_uri="", label_column="target", output_dir="unused")
    parser = argparse.ArgumentParser(
        prog="python -m carbon_aware.trainer.task",
        description="Train a small Keras classifier on a CSV table and record its energy.",
    )
    parser.add_argument(
        "--output-dir",
        default=model_dir or None,
        help="directory or gs:// URI for the model and run record (default: $AIP_MODEL_DIR)",
    )
    parser.add_argument(
        "--data-uri", default="", help="CSV path or gs:// URI (default: bundled breast cancer)"
    )
    parser.add_argument("--label-column", default=defaults.label_column)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--region", default=defaults.region, help="GCP region, or 'local'")
    parser.add_argument("--machine-type", default=defaults.machine_type)
    parser.add_argument("--accelerator-type", default=defaults.accelerator_type)
    parser.add_argument("--accelerator-count", type=int, default=defaults.accelerator_count)
    levers = parser.add_argument_group("green levers (all off by default)")
    levers.add_argument(
        "--dedupe",
        default=defaults.dedupe,
        help="drop duplicate rows before the split: none, exact, or key:COLUMN (default: none)",
    )
    levers.add_argument(
        "--keep-columns",
        default=defaults.keep_columns,
        help="comma-separated feature columns to keep; the label is always kept (default: all)",
    )
    levers.add_argument(
        "--mixed-precision",
        action=argparse.BooleanOptionalAction,
        default=defaults.mixed_precision,
        help="train with Keras mixed_float16 when a GPU is present (default: off)",
    )
    levers.add_argument(
        "--export-compressed",
        action=argparse.BooleanOptionalAction,
        default=defaults.export_compressed,
        help="also write float32, float16 and int8 TFLite copies of the model (default: off)",
    )
    parser.add_argument(
        "--check-only",
        action="store_true",
        help="run the data checks training makes (file, label, rows, classes, levers), then "
        "exit without training or writing anything",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, train, and print a JSON summary.

    Args:
        argv: Arguments without the program name; ``None`` means ``sys.argv[1:]``.

    Returns:
        0 on success, 2 on invalid input (the message goes to stderr).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.output_dir:
        if not args.check_only:
            parser.error("--output-dir is required when AIP_MODEL_DIR is not set")
        args.output_dir = "unused"  # --check-only writes nothing
    try:
        config = TrainConfig(
            data_uri=args.data_uri,
            label_column=args.label_column,
            output_dir=args.output_dir,
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed,
            learning_rate=args.learning_rate,
            region=args.region,
            machine_type=args.machine_type,
            accelerator_type=args.accelerator_type,
            accelerator_count=args.accelerator_count,
            dedupe=args.dedupe,
            keep_columns=args.keep_columns,
            mixed_precision=args.mixed_precision,
            export_compressed=args.export_compressed,
        )
        if args.check_only:
            try:
                load_checked_data(config)
            except StorageError as exc:
                raise ValueError(
                    f"--data-uri {args.data_uri!r} cannot be read here: {exc}"
                ) from None
            print(json.dumps({"data_checks": "passed"}), flush=True)
            return 0
        result = train(config)
        # The test-set evaluation, in the files evaluate publishes for any program; only the
        # chief wrote the model (other workers of a distributed run trained into scratch).
        if worker_role(os.environ).is_chief:
            publish_evaluation(config.output_dir)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    record = result.run_record
    summary = {
        "model_dir": result.model_dir,
        "val_accuracy": result.metrics["val_accuracy"],
        "val_loss": result.metrics["val_loss"],
        "epochs_run": record["epochs_run"],
        "duration_s": record["duration_s"],
        "energy_kwh": record["energy"]["total_kwh"],
        "energy_method": record["energy"]["method"],
        "rows": record["dataset"]["rows"],
        "rows_removed": record["data_efficiency"]["rows_removed"],
        "precision_note": record["precision"]["note"],
        "compressed_export_s": (record["compressed_export"] or {}).get("seconds"),
        "distribution": record["distribution"],
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
