"""What ``run-local`` prints: what is about to run, each step as it goes, the summary, what next.

On a terminal the steps are a live table (a spinner and the seconds so far while a step runs);
anywhere else (CI, a pipe, a file) one plain line per finished step, with no colour or cursor
movement. Both are drawn by ``rich``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from rich import box
from rich.console import Console, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table

from carbon_aware.delivery.local_run import LocalRunResult, PipelineRunError

OFFLINE_PROVIDERS = ("static", "csv")


def describe_run(parameters: Mapping[str, Any], output_dir: Path) -> list[str]:
    """The first lines of a local run: where it runs, on what data, where its outputs go."""
    provider = str(parameters.get("intensity_provider", "static"))
    intensity_csv = str(parameters.get("intensity_csv", ""))
    data_uri = str(parameters.get("data_uri", ""))
    if provider == "static":
        intensity = "Google's bundled 2024 annual grid intensity"
    elif provider == "csv":
        intensity = f"grid intensity from {intensity_csv}"
    else:
        intensity = f"live grid intensity from {provider}"
    data = f"data from {data_uri}" if data_uri else "scikit-learn's bundled breast-cancer dataset"
    remote = [v for v in (data_uri, intensity_csv) if v.startswith("gs://")]
    offline = provider in OFFLINE_PROVIDERS and not remote
    offline = offline and not parameters.get("carbon_footprint_table")
    where = "offline" if offline else "needs the network"
    regions = ", ".join(str(r) for r in parameters.get("candidate_regions", []))
    return [
        "carbon-aware run-local: the pipeline's steps on this machine with kfp.local",
        f"  {where}: {intensity}; {data}",
        f"  regions: {regions} (baseline {parameters.get('baseline_region', '')})",
        f"  outputs: {output_dir}/ (each step's log in logs/)",
    ]


def summary_rows(result: LocalRunResult) -> list[tuple[str, str]]:
    """The footprint figures of a finished run, as (label, value) rows."""
    f = result.footprint
    return [
        (
            "chosen region",
            f"{f['region']} ({f['intensity_gco2e_per_kwh']:.1f} gCO2e/kWh, {f['intensity_kind']})",
        ),
        (
            "baseline region",
            f"{f['baseline_region']} ({f['baseline_intensity_gco2e_per_kwh']:.1f} gCO2e/kWh)",
        ),
        ("energy used", f"{f['energy_kwh']:.6f} kWh IT ({f['energy']['method']}), PUE {f['pue']}"),
        ("emissions", f"{f['co2e_g']:.4f} gCO2e (baseline {f['baseline_co2e_g']:.4f} gCO2e)"),
        ("saving", f"{f['savings_pct_vs_baseline']:.1f}% vs baseline{_saving_range(f)}"),
        *_overhead(f),
        ("SCI", f"{f['sci']['value']:.4g} {f['sci']['unit']} (embodied {f['embodied_g']:.4g} g)"),
    ]


def _saving_range(f: dict[str, Any]) -> str:
    """`` (range a to b%, holds)`` where the record has ranges (schema 1.2)."""
    u = f.get("uncertainty")
    if not u:
        return ""
    low, high = u["savings_pct_vs_baseline"]
    return f" (range {low:.1f} to {high:.1f}%, {'holds' if u['saving_holds'] else 'not sure'})"


def _overhead(f: dict[str, Any]) -> list[tuple[str, str]]:
    """What the pipeline's other steps cost, beside the saving."""
    o = f.get("orchestration")
    if not o:
        return []
    return [
        (
            "steps' cost",
            "orchestration not measured"
            if o["co2e_g"] is None
            else f"{o['co2e_g']:.4f} gCO2e orchestration; net saving "
            f"{f['net_savings_g_vs_baseline']:.4f} gCO2e",
        )
    ]


def next_steps(result: LocalRunResult) -> list[str]:
    """The closing lines: where the outputs are and what to do with them."""
    return [
        f"Outputs in {result.output_dir}/: report.md, report.html, footprint.json, logs/",
        "Next:",
        f"  open the report:  {result.report_html}",
        "  run on Vertex AI: set the project up and compile against your image (README, 'Deploy "
        "to Vertex AI'),",
        "                    then carbon-aware submit --template build/pipeline.yaml "
        "--project P --location L",
    ]


def failure_lines(error: PipelineRunError) -> list[str]:
    """The last lines of a failed run: the step, its error, its log."""
    if error.step is None:
        return [f"run failed: {error.cause}"]
    lines = [f"step {error.step} failed: {error.cause}"]
    if error.log_path is not None:
        lines.append(f"its full log: {error.log_path}")
    return lines


@dataclass
class _Row:
    step: str
    started_s: float
    spinner: Spinner
    seconds: float | None = None
    ok: bool | None = None


class ConsoleRun:
    """Shows a local run on ``stream``: a :class:`~carbon_aware.delivery.step_logs.RunObserver`.

    Args:
        stream: Where to print (the real stdout, captured before the run redirects sys.stdout).
        verbose: The steps' logs are streamed as they come; no step table, then.
    """

    def __init__(self, stream: TextIO, verbose: bool = False) -> None:
        self.console = Console(file=stream, highlight=False, soft_wrap=True)
        self.verbose = verbose
        self.live_table = self.console.is_interactive and not verbose
        self._rows: dict[str, _Row] = {}
        self._lock = threading.Lock()
        self._live: Live | None = None

    def print_lines(self, lines: list[str]) -> None:
        """Prints text as is (no markup, no wrapping)."""
        for line in lines:
            self.console.print(line, markup=False)

    def run_started(self, parameters: Mapping[str, Any], output_dir: Path) -> None:
        """Prints what is about to happen; starts the live step table on a terminal."""
        self.print_lines(describe_run(parameters, output_dir))
        self.console.print()
        if self.live_table:
            self._live = Live(
                console=self.console,
                get_renderable=self._table,
                refresh_per_second=8,
                # The run redirects sys.stdout itself, into the step logs.
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()

    def step_started(self, step: str) -> None:
        """Adds a running row."""
        with self._lock:
            self._rows[step] = _Row(step, time.monotonic(), Spinner("dots", style="cyan"))

    def step_finished(self, step: str, ok: bool, seconds: float) -> None:
        """Marks the row done or failed; off a terminal, prints its line."""
        with self._lock:
            row = self._rows.setdefault(step, _Row(step, time.monotonic(), Spinner("dots")))
            row.ok, row.seconds = ok, seconds
        if self._live is None and not self.verbose:
            status = "done" if ok else "FAILED"
            self.console.print(f"  {step:<18} {status:<7} {seconds:6.1f} s", markup=False)

    def run_ended(self) -> None:
        """Stops the live table, leaving its last state on screen."""
        if self._live is not None:
            self._live.stop()
            self._live = None
            self.console.print()

    def show_result(self, result: LocalRunResult) -> None:
        """Prints the footprint summary table and what to do next."""
        if not self.live_table:
            self.console.print()
        table = Table(
            title="Footprint of this run",
            title_justify="left",
            box=None,
            show_header=False,
        )
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for label, value in summary_rows(result):
            table.add_row(label, value)
        self.console.print(table)
        self.console.print()
        self.print_lines(next_steps(result))

    def _table(self) -> RenderableType:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("step", no_wrap=True)
        table.add_column("status", no_wrap=True, min_width=9)
        table.add_column("seconds", justify="right", no_wrap=True)
        with self._lock:
            rows = list(self._rows.values())
        now = time.monotonic()
        for row in rows:
            status: RenderableType
            if row.ok is None:
                row.spinner.update(text="running")
                status = row.spinner
                seconds = now - row.started_s
            else:
                status = "[green]done[/]" if row.ok else "[bold red]failed[/]"
                seconds = row.seconds or 0.0
            table.add_row(row.step, status, f"{seconds:.1f}")
        return table
