"""The report's "Green levers" section: less data, lower precision, reused steps, as measured."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from carbon_aware.report._text import fmt, md


def reused_steps(
    run: Mapping[str, Any], evaluation: Mapping[str, Any], fetched_at: str
) -> list[str]:
    """Steps whose outputs predate this run's intensity fetch, so they came from the KFP cache.

    fetch-intensity is never cached, so its time marks the start of this run; a train or
    evaluate output stamped earlier was produced by an earlier run and reused.
    """
    started = _parse(fetched_at)
    if started is None:
        return []
    stamps = {"train": run.get("end_utc"), "evaluate": evaluation.get("evaluated_at_utc")}
    return [
        step
        for step, stamp in stamps.items()
        if (moment := _parse(str(stamp or ""))) is not None and moment < started
    ]


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _size_row(label: str, block: Mapping[str, Any]) -> str:
    return (
        f"| {label} | {block.get('rows', '?')} | {block.get('columns', '?')} | "
        f"{fmt(float(block.get('csv_bytes', 0)) / 1024, 1)} | "
        f"{fmt(float(block.get('memory_bytes', 0)) / 1024, 1)} |"
    )


def lever_lines(
    run: Mapping[str, Any], evaluation: Mapping[str, Any], reused: list[str]
) -> list[str]:
    """Markdown lines for the levers that were switched on, and the steps reused from cache."""
    lines = ["## Green levers", ""]
    efficiency = run.get("data_efficiency")
    if efficiency and efficiency.get("applied"):
        lines += [
            f"**Less data** ({md('; '.join(efficiency['applied']))}):",
            "",
            "| data | rows | columns | CSV KiB | memory KiB |",
            "|---|---:|---:|---:|---:|",
            _size_row("before", efficiency.get("before", {})),
            _size_row("after", efficiency.get("after", {})),
            "",
            f"Training on what remained used {fmt(run.get('energy_kwh', 0.0), 3)} kWh in "
            f"{fmt(float(run.get('duration_s', 0.0)), 1)} s; the energy and SCI above are this "
            "run's. `benchmarks/levers.py` measures the same training with and without each lever.",
            "",
        ]
    else:
        lines += ["- Less data: off (`dedupe=none`, all columns kept).", ""]
    precision = run.get("precision") or {}
    if precision.get("mixed_precision_requested"):
        lines += [f"- Mixed precision: {md(precision.get('note') or precision.get('policy'))}.", ""]
    variants = evaluation.get("precision_variants") or []
    if variants:
        lines += [
            "**Lower precision** (each copy evaluated on the same test set):",
            "",
            "| precision | format | bytes | vs float32 TFLite | accuracy | µs/example |",
            "|---|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {md(v['precision'])} | {md(v['format'])} | {md(v['size_bytes'])} | "
            f"{fmt(float(v['size_ratio']), 3)} | {float(v['accuracy']):.4f} | "
            f"{fmt(float(v['inference_us_per_example']), 2)} |"
            for v in variants
        ]
        export = run.get("compressed_export") or {}
        export_energy = (export.get("energy") or {}).get("total_kwh")
        if export_energy is not None:
            lines += [
                "",
                f"The export itself used {fmt(float(export_energy), 3)} kWh "
                f"({fmt(float(export.get('seconds', 0.0)), 1)} s), not included above.",
            ]
        lines.append("")
    else:
        lines += ["- Lower precision: no compressed export (`export_compressed=false`).", ""]
    lines += [
        "- Reused from the KFP cache this run: "
        + (", ".join(reused) if reused else "none (fetch-intensity is never cached)"),
        "",
    ]
    return lines
