"""Run the compiled pipeline template on this machine with kfp.local."""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carbon_aware import inputs
from carbon_aware.delivery.template import effective_parameters, load_template, template_inputs
from carbon_aware.parameters import validate_run_parameters
from carbon_aware.preflight import check_local_inputs

REPORT_FILES = {"report": "report.md", "report_html": "report.html", "footprint": "footprint.json"}
# The run's own copy of the template it ran.
TEMPLATE_FILE = "pipeline.yaml"


class PipelineRunError(RuntimeError):
    """A step of the local run failed; its own log, printed above, says why."""


@dataclass(frozen=True)
class LocalRunResult:
    """Where a local run wrote its report, and the footprint record it produced."""

    output_dir: Path
    report_md: Path
    report_html: Path
    footprint_json: Path
    footprint: dict[str, Any]


def default_output_dir(root: str | Path = "local_outputs", now: datetime | None = None) -> Path:
    """Returns ``local_outputs/<UTC timestamp>/``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path(root) / stamp


def local_parameters(template_path: str | Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """Resolves and checks the parameters of a local run.

    ``backend`` is forced to ``local``: the Vertex branch needs Google Cloud. Beyond each value,
    the files, keys and training data the run needs are checked here (see
    :func:`carbon_aware.preflight.check_local_inputs`).

    Raises:
        ValueError: An unknown parameter, a wrong type, a value the pipeline cannot use, or an
            input it cannot read.
    """
    if overrides.get("backend", "local") != "local":
        raise ValueError(
            f"backend {overrides['backend']!r} cannot run locally; run-local always uses "
            "backend=local (use 'carbon-aware submit' for Vertex AI)"
        )
    inputs = template_inputs(load_template(template_path))
    params = effective_parameters(inputs, {**overrides, "backend": "local"})
    validate_run_parameters(params)
    check_local_inputs(params, os.environ)
    return params


def run_local(
    template_path: str | Path,
    output_dir: str | Path,
    overrides: dict[str, Any],
    *,
    overwrite: bool = False,
) -> LocalRunResult:
    """Executes the compiled template with kfp.local's subprocess runner, in this environment.

    Nothing is written before every check has passed: the output directory, the parameters and
    the inputs they name. The template is then copied into the output directory and run from
    there, so the directory records what ran.

    Args:
        template_path: The compiled pipeline YAML (the same file Vertex AI runs).
        output_dir: Where to put the pipeline root, the template and the report files.
        overrides: Pipeline parameters to override (already typed or as CLI strings).
        overwrite: Replace the report ``output_dir`` already holds instead of refusing.

    Returns:
        The report paths and the footprint record.

    Raises:
        ValueError: A bad output directory, template, parameter or input (nothing written).
    """
    from kfp import components, local

    products = [*REPORT_FILES.values(), TEMPLATE_FILE]
    inputs.output_dir(output_dir, "--output-dir", products=products, overwrite=overwrite)
    params = local_parameters(template_path, overrides)
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if Path(template_path).resolve() != out / TEMPLATE_FILE:
        template_path = shutil.copyfile(template_path, out / TEMPLATE_FILE)
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(out / "pipeline_root"),
        raise_on_error=True,
    )
    pipeline = components.load_component_from_file(str(template_path))
    try:
        with warnings.catch_warnings():
            # The subprocess runner warns that the steps' image is not a Python image: running
            # them in this environment (where the project is installed) is the point.
            warnings.filterwarnings(
                "ignore", message="You may be attemping", category=RuntimeWarning
            )
            task = pipeline(**params)
    except RuntimeError as err:
        # kfp.local colours task names with ANSI codes; keep the message plain.
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
        raise PipelineRunError(f"{plain} The failing step's log is above.") from None
    copied: dict[str, Path] = {}
    for output_name, file_name in REPORT_FILES.items():
        artifact = task.outputs[output_name]
        target = out / file_name
        shutil.copyfile(artifact.path, target)
        copied[output_name] = target
    footprint = json.loads(copied["footprint"].read_text(encoding="utf-8"))
    return LocalRunResult(
        output_dir=out,
        report_md=copied["report"],
        report_html=copied["report_html"],
        footprint_json=copied["footprint"],
        footprint=footprint,
    )


def summary_lines(result: LocalRunResult) -> list[str]:
    """The short summary ``run-local`` prints."""
    f = result.footprint
    return [
        f"chosen region:   {f['region']} ({f['intensity_gco2e_per_kwh']:.1f} gCO2e/kWh, "
        f"{f['intensity_kind']})",
        f"baseline region: {f['baseline_region']} "
        f"({f['baseline_intensity_gco2e_per_kwh']:.1f} gCO2e/kWh)",
        f"energy used:     {f['energy_kwh']:.6f} kWh IT ({f['energy']['method']}), PUE {f['pue']}",
        f"emissions:       {f['co2e_g']:.4f} gCO2e (baseline {f['baseline_co2e_g']:.4f} gCO2e)",
        f"saving:          {f['savings_pct_vs_baseline']:.1f}% vs baseline",
        f"SCI:             {f['sci']['value']:.4g} {f['sci']['unit']} "
        f"(embodied {f['embodied_g']:.4g} g)",
        f"report:          {result.report_md}",
        f"report (HTML):   {result.report_html}",
        f"footprint:       {result.footprint_json}",
    ]
