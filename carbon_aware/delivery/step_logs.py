"""Split a kfp.local run's output into one log file per step; tell when each step starts and ends.

How kfp.local (2.17, pinned) emits a run's output, read from its ``kfp/local`` source:

- the orchestrator logs ``Executing task 'NAME'`` before a step and ``Task 'NAME' finished with
  status SUCCESS|FAILURE`` after it, through a root-logger handler that it rebuilds on
  ``sys.stdout`` for every step (dropping whatever handlers were there, so a handler of ours
  would be removed while the step runs);
- it runs the step as a subprocess with stderr merged into stdout, reads the pipe line by line and
  ``print()``s each line, also to ``sys.stdout``, on the thread that runs the step.

So every line of a step, its own and kfp's, passes through this process's ``sys.stdout``, in
order, on one thread. :class:`StepLogs` stands in for ``sys.stdout`` (and ``sys.stderr``, for
warnings) while the pipeline runs, follows the two marker lines per thread, and writes each line
to ``logs/<step>.log``. Reading kfp's text is the only way in: kfp.local has no hook or callback
per task. The version is pinned, and the kfp.local test asserts a log per step, so a changed
wording fails a test instead of silently losing logs. Running the pipeline in a child process
would parse the same lines, with more moving parts.
"""

from __future__ import annotations

import io
import re
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STARTED = re.compile(r"Executing task '([^']+)'")
_FINISHED = re.compile(r"Task '([^']+)' finished with status (SUCCESS|FAILURE)")
_PIPELINE = re.compile(r"Running pipeline: '|Pipeline '[^']+' finished with status")
# kfp.local's own log lines: "21:56:56.087 - INFO - ...".
_KFP_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d+ - [A-Z]+ - ")
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")

PIPELINE_LOG = "pipeline.log"


class RunObserver(Protocol):
    """What a local run tells its presentation (the console display, or nothing)."""

    def run_started(self, parameters: Mapping[str, Any], output_dir: Path) -> None:
        """The parameters are valid and the pipeline is about to start."""

    def step_started(self, step: str) -> None:
        """A step has started."""

    def step_finished(self, step: str, ok: bool, seconds: float) -> None:
        """A step has ended, successfully or not, after ``seconds``."""

    def run_ended(self) -> None:
        """The pipeline has ended, whatever the outcome; called before any error is raised."""


@dataclass
class StepRecord:
    """One step as seen in the run's output."""

    name: str
    log_path: Path
    started_s: float
    seconds: float | None = None
    ok: bool | None = None


def log_file_name(step: str) -> str:
    """``<step>.log``, with any character unsafe in a file name replaced."""
    return re.sub(r"[^\w.-]", "_", step) + ".log"


class StepLogs(io.TextIOBase):
    """A text stream that files each line of a kfp.local run under the step it belongs to.

    Lines outside any step (the pipeline's start and end) go to ``pipeline.log``. ANSI colours
    are dropped from the files; ``echo``, if given, receives the text unchanged, as it comes.

    Args:
        log_dir: Where to write ``<step>.log``; created if missing.
        observer: Told when each step starts and ends.
        echo: A stream to copy everything to (``--verbose``), or None.
    """

    def __init__(
        self, log_dir: Path, observer: RunObserver | None = None, echo: TextIO | None = None
    ) -> None:
        super().__init__()
        self.log_dir = log_dir
        self.steps: dict[str, StepRecord] = {}
        self._observer = observer
        self._echo = echo
        self._lock = threading.RLock()
        self._partial: dict[int, str] = {}
        self._current: dict[int, str] = {}
        self._files: dict[str, TextIO] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def writable(self) -> bool:
        """This stream is written to."""
        return True

    def write(self, text: str) -> int:
        """Files every complete line of ``text``; keeps a trailing partial line for later."""
        with self._lock:
            if self._echo is not None:
                self._echo.write(text)
            thread = threading.get_ident()
            lines = (self._partial.pop(thread, "") + text).split("\n")
            if lines[-1]:
                self._partial[thread] = lines[-1]
            for line in lines[:-1]:
                self._file_line(thread, _ANSI.sub("", line))
        return len(text)

    def flush(self) -> None:
        """Flushes the echo stream (the log files are flushed line by line)."""
        if self._echo is not None:
            self._echo.flush()

    def close(self) -> None:
        """Writes any partial lines and closes the log files."""
        with self._lock:
            for thread, rest in list(self._partial.items()):
                self._file_line(thread, _ANSI.sub("", rest))
            self._partial.clear()
            for handle in self._files.values():
                handle.close()
            self._files.clear()
        super().close()

    @property
    def failed_step(self) -> StepRecord | None:
        """The first step that finished with FAILURE, else one that started and never finished."""
        failed = [s for s in self.steps.values() if s.ok is False]
        unfinished = [s for s in self.steps.values() if s.ok is None]
        candidates = failed or unfinished
        return candidates[0] if candidates else None

    def _file_line(self, thread: int, line: str) -> None:
        started = _STARTED.search(line)
        if started and _KFP_LINE.match(line):
            self._start(thread, started.group(1))
        elif _PIPELINE.search(line) and _KFP_LINE.match(line):
            self._current.pop(thread, None)
        step = self._current.get(thread)
        self._log_handle(step).write(line + "\n")
        self._log_handle(step).flush()
        finished = _FINISHED.search(line)
        if finished and _KFP_LINE.match(line) and finished.group(1) in self.steps:
            self._finish(finished.group(1), finished.group(2) == "SUCCESS")

    def _start(self, thread: int, step: str) -> None:
        self._current[thread] = step
        self.steps[step] = StepRecord(step, self.log_dir / log_file_name(step), time.monotonic())
        if self._observer is not None:
            self._observer.step_started(step)

    def _finish(self, step: str, ok: bool) -> None:
        record = self.steps[step]
        record.ok = ok
        record.seconds = time.monotonic() - record.started_s
        if self._observer is not None:
            self._observer.step_finished(step, ok, record.seconds)

    def _log_handle(self, step: str | None) -> TextIO:
        name = log_file_name(step) if step is not None else PIPELINE_LOG
        if name not in self._files:
            # "w" on first use: a rerun into the same directory replaces, never mixes, old logs.
            self._files[name] = open(self.log_dir / name, "w", encoding="utf-8")  # noqa: SIM115
        return self._files[name]


@contextmanager
def capture_step_logs(logs: StepLogs) -> Iterator[StepLogs]:
    """Routes ``sys.stdout`` and ``sys.stderr`` through ``logs`` for the duration."""
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = logs
    try:
        yield logs
    finally:
        sys.stdout, sys.stderr = saved
        logs.close()


def failure_cause(log_text: str) -> str:
    """The error a failed step's log ends with: ``Type: message`` of its last Python exception.

    Without a traceback (the process was killed, or failed outside Python), the last line the
    step itself printed.
    """
    lines = log_text.splitlines()
    header = max((i for i, line in enumerate(lines) if "Traceback (most recent call last)" in line),
                 default=None)  # fmt: skip
    if header is not None:
        depth = len(lines[header]) - len(lines[header].lstrip())
        message: list[str] = []
        for line in lines[header + 1 :]:
            indent = len(line) - len(line.lstrip())
            if not line.strip() or _KFP_LINE.match(line):
                if message:
                    break
                continue
            if indent > depth and not message:
                continue  # a frame of the traceback
            message.append(line.strip())
        if message:
            return _short_exception(" ".join(message))
    own = [ln.strip() for ln in lines if ln.strip() and not _KFP_LINE.match(ln)]
    own = [ln for ln in own if set(ln) != {"-"}]
    return own[-1] if own else "the step failed without printing a reason"


def _short_exception(line: str) -> str:
    """``carbon_aware.trainer.evaluate.ModelQualityError: msg`` -> ``ModelQualityError: msg``."""
    match = _EXCEPTION_LINE.match(line)
    if match is None:
        return line
    name = match.group(1).rsplit(".", 1)[-1]
    return f"{name}: {match.group(2)}" if match.group(2) is not None else name
