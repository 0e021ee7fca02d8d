"""Train with and without each green lever on the same data, and print what each one saved.

Run: .venv/bin/python benchmarks/levers.py [--repeats N] [--epochs N]

Data: the bundled breast-cancer table with a clean 15 % held out first (the same holdout
scores every run, so duplicates leaking into a run's own test split cannot flatter it).
Every row gets a ``record_id`` (its row number in the bundled table) and 50 columns of
noise; the 85 % not held out is written three times over (every row has two exact
copies): 1449 rows x 82 columns.

Each lever run is compared with the run without levers: rows and bytes trained on,
training (fit) time and energy as the trainer measured them (CodeCarbon, else the CCF
estimate), epochs, and accuracy on its own test split and on the common holdout.
Then the cost of ``export_compressed`` on the bundled data (train and evaluate, with and
without the TFLite copies), and what mixed precision does on this machine.
Each setting runs ``--repeats`` times (same seed, so the same model), round-robin over the
settings so that a busy moment on the machine hits them all alike; the fastest run's fit
time and energy are shown (as ``timeit`` does: slower runs measure other load, and
CodeCarbon's machine-level energy counts other processes too).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import joblib
import numpy as np
import pandas as pd
import tensorflow as tf
from carbon_aware.trainer import data, precision
from carbon_aware.trainer.evaluate import evaluate_model
from carbon_aware.trainer.train import TrainConfig, train

tf.get_logger().setLevel("ERROR")  # no retracing warnings from many small predict calls
NOISE_COLUMNS = 50
COPIES = 3
SEED = 42
LABEL = "target"


def make_data(workdir: Path) -> tuple[Path, pd.DataFrame, list[str]]:
    """Write the duplicated, noisy training CSV; return it, the clean holdout, the real features."""
    from sklearn.model_selection import train_test_split

    table = data.load_table("", LABEL)
    features = [c for c in table.columns if c != LABEL]
    rest, holdout = train_test_split(
        table, test_size=0.15, random_state=SEED, stratify=table[LABEL]
    )
    rng = np.random.default_rng(SEED)

    noise = rng.normal(size=(len(table), NOISE_COLUMNS))
    extra = pd.DataFrame(
        noise, columns=[f"noise_{i:02d}" for i in range(NOISE_COLUMNS)], index=table.index
    )
    extra.insert(0, "record_id", table.index.to_numpy())
    noisy = pd.concat([table, extra], axis=1)
    copies = pd.concat([noisy.loc[rest.index]] * COPIES).sample(frac=1.0, random_state=SEED)
    path = workdir / "duplicated_noisy.csv"
    copies.to_csv(path, index=False)
    return path, noisy.loc[holdout.index], features


def holdout_accuracy(model_dir: Path, holdout: pd.DataFrame) -> float:
    """Accuracy of a trained model directory on the common holdout."""
    from carbon_aware.trainer.train import load_keras

    preprocessor = joblib.load(model_dir / "preprocessor.joblib")
    columns = list(preprocessor.feature_names_in_)
    x = np.asarray(preprocessor.transform(holdout[columns]), dtype=np.float32)
    model = load_keras().models.load_model(model_dir / "model.keras", compile=False)
    positive = np.asarray(model.predict(x, verbose=0)).reshape(-1)
    return float(np.mean((positive >= 0.5).astype(int) == holdout[LABEL].to_numpy()))


def run_all(configs: dict[str, TrainConfig], repeats: int) -> dict[str, dict[str, Any]]:
    """Train and evaluate every config ``repeats`` times, round-robin; keep the last records."""
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in configs}
    last: dict[str, tuple[dict[str, Any], Any]] = {}
    for _ in range(repeats):
        for name, config in configs.items():
            record = train(config).run_record
            started = time.perf_counter()
            evaluation = evaluate_model(config.output_dir)
            seconds = time.perf_counter() - started
            values = {
                "fit_s": record["energy"]["duration_s"],
                "energy_kwh": record["energy"]["total_kwh"],
                "total_s": record["duration_s"],
                "evaluate_s": seconds,
            }
            for key, value in values.items():
                samples[name].setdefault(key, []).append(value)
            last[name] = (record, evaluation)
    results = {}
    for name, (record, evaluation) in last.items():
        after = record["data_efficiency"]["after"]
        results[name] = {
            "rows": after["rows"],
            "columns": after["columns"],
            "csv_bytes": after["csv_bytes"],
            "memory_bytes": after["memory_bytes"],
            "epochs": record["epochs_run"],
            "test_acc": evaluation.accuracy,
            "energy_method": record["energy"]["method"],
            "record": record,
            "evaluation": evaluation,
            **_fastest(samples[name]),
        }
    return results


def _fastest(samples: dict[str, list[float]]) -> dict[str, float]:
    """The fastest fit with its energy; the shortest total and evaluate times."""
    best = min(range(len(samples["fit_s"])), key=samples["fit_s"].__getitem__)
    return {
        "fit_s": samples["fit_s"][best],
        "energy_kwh": samples["energy_kwh"][best],
        "total_s": min(samples["total_s"]),
        "evaluate_s": min(samples["evaluate_s"]),
    }


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "n/a"


def print_levers(results: dict[str, dict[str, Any]]) -> None:
    header = (
        f"{'run':<22}{'rows':>6}{'cols':>6}{'csv KB':>9}{'mem KB':>9}{'epochs':>8}"
        f"{'fit s':>8}{'energy Wh':>11}{'test acc':>10}{'holdout':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        print(
            f"{name:<22}{r['rows']:>6}{r['columns']:>6}{r['csv_bytes'] / 1e3:>9.1f}"
            f"{r['memory_bytes'] / 1e3:>9.1f}{r['epochs']:>8}{r['fit_s']:>8.2f}"
            f"{r['energy_kwh'] * 1e3:>11.4f}{r['test_acc']:>10.3f}{r['holdout_acc']:>9.3f}"
        )
    base = results["baseline"]
    print("\nratios vs baseline (lever / baseline):")
    for name, r in results.items():
        if name == "baseline":
            continue
        print(
            f"  {name:<20} rows {ratio(r['rows'], base['rows'])}, "
            f"csv bytes {ratio(r['csv_bytes'], base['csv_bytes'])}, "
            f"memory {ratio(r['memory_bytes'], base['memory_bytes'])}, "
            f"fit time {ratio(r['fit_s'], base['fit_s'])}, "
            f"energy {ratio(r['energy_kwh'], base['energy_kwh'])}, "
            f"holdout acc {r['holdout_acc'] - base['holdout_acc']:+.3f}"
        )


def print_export_cost(plain: dict[str, Any], compressed: dict[str, Any]) -> None:
    block = compressed["record"]["compressed_export"]
    print("\nexport_compressed on the bundled data (fastest of the repeats):")
    print(f"  train total   off {plain['total_s']:.2f} s, on {compressed['total_s']:.2f} s")
    print(
        f"  export itself {block['seconds']:.2f} s, {block['energy']['total_kwh'] * 1e3:.4f} Wh"
        f" ({block['energy']['method']}); training fit {compressed['fit_s']:.2f} s,"
        f" {compressed['energy_kwh'] * 1e3:.4f} Wh"
    )
    print(f"  converter     {block['converter']}")
    for name, info in block["files"].items():
        print(f"    {name:<8} convert {info['convert_s']:.2f} s -> {info['file']}")
    print(f"  evaluate      off {plain['evaluate_s']:.2f} s, on {compressed['evaluate_s']:.2f} s")
    print(f"\n{'precision':<10}{'format':<8}{'bytes':>8}{'ratio':>8}{'accuracy':>10}{'us/row':>9}")
    for v in compressed["evaluation"].precision_variants:
        print(
            f"{v['precision']:<10}{v['format']:<8}{v['size_bytes']:>8}{v['size_ratio']:>8.3f}"
            f"{v['accuracy']:>10.3f}{v['inference_us_per_example']:>9.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="training runs per setting")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="levers-") as tmp:
        workdir = Path(tmp)
        csv, holdout, features = make_data(workdir)
        settings: dict[str, dict[str, Any]] = {
            "baseline": {},
            "dedupe=exact": {"dedupe": "exact"},
            "dedupe=key:record_id": {"dedupe": "key:record_id"},
            "keep_columns=30 real": {"keep_columns": ",".join(features)},
            "exact + keep_columns": {"dedupe": "exact", "keep_columns": ",".join(features)},
        }
        print(f"data: {csv.name}, holdout {len(holdout)} clean rows; repeats {args.repeats}\n")
        configs = {
            name: TrainConfig(
                data_uri=str(csv),
                label_column=LABEL,
                output_dir=str(workdir / name.replace(" ", "_").replace(":", "_")),
                epochs=args.epochs,
                seed=SEED,
                **levers,
            )
            for name, levers in settings.items()
        }
        warm_up = TrainConfig(data_uri="", label_column=LABEL, output_dir=str(workdir / "warm"))
        train(dataclasses.replace(warm_up, epochs=1))  # first-run costs (tracing) hit no setting
        results = run_all(configs, args.repeats)
        for name, config in configs.items():
            results[name]["holdout_acc"] = holdout_accuracy(Path(config.output_dir), holdout)
        print_levers(results)
        print(
            "\ntest acc: each run's own test split (with duplicates, copies of training rows"
            " leak into it);\nholdout: the same clean rows for every run."
            f"\nenergy method: {results['baseline']['energy_method']}"
        )
        exports = run_all(
            {
                str(flag): TrainConfig(
                    data_uri="",
                    label_column=LABEL,
                    output_dir=str(workdir / f"bundled_export_{flag}"),
                    epochs=args.epochs,
                    seed=SEED,
                    export_compressed=flag,
                )
                for flag in (False, True)
            },
            args.repeats,
        )
        print_export_cost(exports["False"], exports["True"])
        gpus = precision.gpu_count()
        print(
            f"\nmixed_precision: {gpus} GPU(s) visible; "
            + (
                "mixed_float16 would apply"
                if gpus
                else precision.NO_GPU_NOTE + " (nothing to measure)"
            )
        )


if __name__ == "__main__":
    main()
