"""Run the compiled pipeline template on this machine with kfp.local."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from carbon_aware import inputs
from carbon_aware.delivery.step_logs import (
    RunObserver,
    StepLogs,
    capture_step_logs,
    failure_cause,
)
from carbon_aware.delivery.template import effective_parameters, load_template, template_inputs
from carbon_aware.footprint.orchestration import TIMINGS_ENV
from carbon_aware.parameters import validate_run_parameters
from carbon_aware.planning.deferral import PLAN_NOW_ENV, StartDecision, read_deferral
from carbon_aware.preflight import check_local_inputs

TIMINGS_FILE = "step_timings.json"
REPORT_FILES = {"report": "report.md", "report_html": "report.html", "footprint": "footprint.json"}
# The run's own copy of the template it ran.
TEMPLATE_FILE = "pipeline.yaml"
# The copy kfp.local runs: Vertex-only placeholders emptied.
LOCAL_TEMPLATE_FILE = "pipeline.local.yaml"
# Folders a run writes into its output directory: a past run's are never written over.
RUN_FOLDERS = ("logs", "pipeline_root")


class PipelineRunError(RuntimeError):
    """A step of the local run failed.

    Attributes:
        step: The failing step's name (None if kfp.local failed outside any step).
        cause: The error the step ended with (``Type: message``, not the traceback).
        log_path: The step's full log.
    """

    def __init__(self, step: str | None, cause: str, log_path: Path | None) -> None:
        self.step = step
        self.cause = cause
        self.log_path = log_path
        where = f"step {step} failed: " if step is not None else ""
        log = f"\nits full log: {log_path}" if log_path is not None else ""
        super().__init__(f"{where}{cause}{log}")


class RunStopped(KeyboardInterrupt):
    """run-local got SIGINT or SIGTERM; its steps and their programs were ended."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# How long the steps get to end their programs (the runner's grace, and some) before SIGKILL.
STOP_GRACE_S = 20.0


def _end_children(signum: int) -> None:
    """Sends ``signum`` to every process this one started (steps, their programs), then kills."""
    import psutil

    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.send_signal(signum)
    _, alive = psutil.wait_procs(children, timeout=STOP_GRACE_S)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """While the pipeline runs, SIGINT/SIGTERM end the steps and programs, then stop the run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        _end_children(signal.SIGTERM)
        raise RunStopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass(frozen=True)
class LocalRunResult:
    """Where a local run wrote its report, and the footprint record it produced."""

    output_dir: Path
    report_md: Path
    report_html: Path
    footprint_json: Path
    footprint: dict[str, Any]
    schedule_request: dict[str, Any] | None = None
    """A run that deferred itself: the schedule request it would send on Vertex AI."""


def default_output_dir(root: str | Path = "local_outputs", now: datetime | None = None) -> Path:
    """Returns ``local_outputs/<UTC timestamp>/``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path(root) / stamp


class _StepTimings:
    """Records every finished step's run time in a file the report step reads (orchestration).

    Forwards everything to the run's own observer.
    """

    def __init__(self, path: Path, inner: RunObserver | None) -> None:
        self.path = path
        self._inner = inner
        self._seconds: dict[str, float] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}", encoding="utf-8")

    def run_started(self, parameters: Any, output_dir: Path) -> None:
        if self._inner is not None:
            self._inner.run_started(parameters, output_dir)

    def step_started(self, step: str) -> None:
        if self._inner is not None:
            self._inner.step_started(step)

    def step_finished(self, step: str, ok: bool, seconds: float) -> None:
        self._seconds[step] = round(seconds, 3)
        self.path.write_text(json.dumps(self._seconds, sort_keys=True), encoding="utf-8")
        if self._inner is not None:
            self._inner.step_finished(step, ok, seconds)

    def run_ended(self) -> None:
        if self._inner is not None:
            self._inner.run_ended()


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
    observer: RunObserver | None = None,
    echo: TextIO | None = None,
    *,
    overwrite: bool = False,
    now: datetime | None = None,
) -> LocalRunResult:
    """Executes the compiled template with kfp.local's subprocess runner, in this environment.

    Nothing is written before every check has passed: the output directory, the parameters and
    the inputs they name. The template is then copied into the output directory and run from
    there, so the directory records what ran. Each step's output goes to
    ``<output_dir>/logs/<step>.log``, not to the console.

    Args:
        template_path: The compiled pipeline YAML (the same file Vertex AI runs).
        output_dir: Where to put the pipeline root, the template, the step logs and the reports.
        overrides: Pipeline parameters to override (already typed or as CLI strings).
        observer: Told when the run and each step start and end (the console display).
        echo: A stream to copy the steps' output to as it comes (``--verbose``), or None.
        overwrite: Replace the report ``output_dir`` already holds instead of refusing.
        now: The planning time of plan-start (``run-local --now``); default: the current time.

    Returns:
        The report paths and the footprint record.

    Raises:
        ValueError: A bad output directory, template, parameter or input (nothing written).
        PipelineRunError: A step failed; names it, its error and its log.
    """
    from kfp import components, local

    products = [*REPORT_FILES.values(), TEMPLATE_FILE, LOCAL_TEMPLATE_FILE, *RUN_FOLDERS]
    inputs.output_dir(output_dir, "--output-dir", products=products, overwrite=overwrite)
    params = local_parameters(template_path, overrides)
    try:
        # KFP's own reading of the template, before anything is written.
        components.load_component_from_text(_local_text(template_path))
    except Exception as err:  # KFP raises many types for a malformed spec
        first = (str(err).splitlines() or [type(err).__name__])[0][:200]
        raise ValueError(f"--template {str(template_path)!r} cannot be loaded: {first}") from None
    out = Path(output_dir).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--output-dir {str(output_dir)!r}: {err.strerror or err}") from None
    in_place = Path(template_path).resolve() == out / TEMPLATE_FILE
    _unlink_past_outputs(out, [p for p in products if not (in_place and p == TEMPLATE_FILE)])
    if Path(template_path).resolve() != out / TEMPLATE_FILE:
        template_path = shutil.copyfile(template_path, out / TEMPLATE_FILE)
    if observer is not None:
        observer.run_started(params, out)
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(out / "pipeline_root"),
        raise_on_error=True,
    )
    pipeline = components.load_component_from_file(str(_without_vertex_placeholders(template_path)))
    timings = _StepTimings(out / "logs" / TIMINGS_FILE, observer)
    logs = StepLogs(out / "logs", timings, echo)
    # The steps are subprocesses of this one and inherit its environment.
    previous = os.environ.get(TIMINGS_ENV)
    os.environ[TIMINGS_ENV] = str(timings.path)
    if now is not None:
        os.environ[PLAN_NOW_ENV] = now.isoformat()
    try:
        with warnings.catch_warnings(), capture_step_logs(logs), _stop_on_signals():
            # The subprocess runner warns that the steps' image is not a Python image: running
            # them in this environment (where the project is installed) is the point.
            warnings.filterwarnings(
                "ignore", message="You may be attemping", category=RuntimeWarning
            )
            # The small CPU and memory requests are for Vertex AI's machines; here they do nothing.
            warnings.filterwarnings(
                "ignore",
                message=".*have no effect in the current local runner",
                category=UserWarning,
            )
            task = pipeline(**params)
    except RuntimeError as err:
        raise _step_failure(logs, err) from None
    finally:
        os.environ.pop(PLAN_NOW_ENV, None)
        if previous is None:
            os.environ.pop(TIMINGS_ENV, None)
        else:
            os.environ[TIMINGS_ENV] = previous
        if observer is not None:
            observer.run_ended()
    copied: dict[str, Path] = {}
    for output_name, file_name in REPORT_FILES.items():
        artifact = task.outputs[output_name]
        target = out / file_name
        shutil.copyfile(artifact.path, target)
        copied[output_name] = target
    footprint = json.loads(copied["footprint"].read_text(encoding="utf-8"))
    request = None
    deferral = read_deferral(json.dumps(footprint))
    if deferral is not None:
        from carbon_aware.delivery.schedule import local_request

        decision = StartDecision.from_json(json.dumps(deferral["decision"]))
        assert decision.plan is not None  # a deferral always has its plan
        request = local_request(load_template(template_path), params, decision.plan, now=now)
    return LocalRunResult(
        output_dir=out,
        report_md=copied["report"],
        report_html=copied["report_html"],
        footprint_json=copied["footprint"],
        footprint=footprint,
        schedule_request=request,
    )


def _unlink_past_outputs(out: Path, products: list[str]) -> None:
    """With ``--overwrite``: removes links and past outputs, so nothing is written through them.

    Raises:
        ValueError: One cannot be removed, or ``logs`` is a file.
    """
    for name in products:
        path = out / name
        try:
            if path.is_symlink() or (path.exists() and name not in RUN_FOLDERS):
                path.unlink()
            elif path.exists() and not path.is_dir():
                raise ValueError(f"--output-dir {str(out)!r}: {name} is a file, not a folder")
            elif path.is_dir():
                shutil.rmtree(path)
        except OSError as err:
            raise ValueError(f"--output-dir {str(out)!r}: cannot replace {name}: {err}") from None


VERTEX_ONLY_PLACEHOLDERS = (
    "{{$.pipeline_google_cloud_project_id}}",
    "{{$.pipeline_google_cloud_location}}",
    "{{$.pipeline_service_account}}",
    "{{$.pipeline_job_resource_name}}",
)
"""Placeholders only Vertex AI resolves; kfp.local fails on them, so a local run has none."""


def _without_vertex_placeholders(template_path: str | Path) -> Path:
    """A copy of the template beside it in which the Vertex-only placeholders are empty.

    A local run has no project, submission region, service account or job resource name: the
    steps that take them (plan-start, defer-run) treat empty as "not on Vertex AI".
    """
    local = Path(template_path).with_name(LOCAL_TEMPLATE_FILE)
    local.write_text(_local_text(template_path), encoding="utf-8")
    return local


def _local_text(template_path: str | Path) -> str:
    """The template's text with the Vertex-only placeholders emptied."""
    text = Path(template_path).read_text(encoding="utf-8")
    for placeholder in VERTEX_ONLY_PLACEHOLDERS:
        text = text.replace(placeholder, "")
    return text


def _step_failure(logs: StepLogs, err: RuntimeError) -> PipelineRunError:
    """The failing step, the error its log ends with, and that log's path."""
    failed = logs.failed_step
    if failed is None or not failed.log_path.exists():
        # kfp.local colours task names with ANSI codes; keep the message plain.
        return PipelineRunError(None, re.sub(r"\x1b\[[0-9;]*m", "", str(err)), None)
    cause = failure_cause(failed.log_path.read_text(encoding="utf-8", errors="replace"))
    return PipelineRunError(failed.name, cause, failed.log_path)
