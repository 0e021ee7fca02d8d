"""Run one replica of a training program while measuring the whole machine, and record it.

The same function runs the program in both places: the local train step calls it in-process, and
on Vertex AI the job's entrypoint (:mod:`carbon_aware.training.job`) calls it inside each replica.
The energy is measured from outside the user's code (CodeCarbon over the whole machine while the
program runs), or estimated from the machine spec and the duration where it cannot be measured.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from carbon_aware import storage
from carbon_aware.measurement import energy

TAIL_LINES = 20
# Each line of the tail (console and error message) is cut here; the full line is in the log.
TAIL_LINE_CHARS = 500
# Lines of the program's output echoed to the console; the rest only in the full log.
MAX_ECHOED_LINES = 2000
RECORD_SCHEMA_VERSION = 1
# After the timeout or a signal, the program's process group gets SIGTERM, then SIGKILL after this.
KILL_GRACE_S = 10.0
# The exit code of a program stopped at its timeout (as coreutils' timeout(1) reports it).
TIMEOUT_EXIT_CODE = 124
# The host variables a local run passes on to the program (besides the contract's variables and
# training_env): what programs need to find executables, a home, a locale, a time zone and a
# temporary directory, and to see a local GPU. Never credentials (ELECTRICITY_MAPS_API_KEY,
# WATTTIME_*, GOOGLE_APPLICATION_CREDENTIALS...): those stay with the pipeline.
HOST_ENV_ALLOWLIST: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_NUMERIC",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "TERM",
    "SYSTEMROOT",
    "LD_LIBRARY_PATH",
    "CUDA_VISIBLE_DEVICES",
)


class TrainingProgramError(RuntimeError):
    """The training program could not start, or exited with a non-zero code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class MachineSpec:
    """One replica's machine, as the Vertex job's MachineSpec gives it."""

    machine_type: str
    accelerator_type: str = ""
    accelerator_count: int = 0

    def check(self) -> None:
        """Refuses a machine whose energy could be neither measured nor estimated.

        Raises:
            ValueError: An unknown machine or accelerator type.
        """
        energy.machine_shape(self.machine_type)
        if self.accelerator_type:
            energy.gpu_watts(self.accelerator_type)


def _short(command: Sequence[str]) -> str:
    """The command as a person would recognise it: program name and first arguments."""
    parts = [Path(command[0]).name, *command[1:3]]
    return shlex.join(parts) + (" …" if len(command) > 3 else "")


def utc_now_iso() -> str:
    """The current UTC time as ISO 8601 with milliseconds and a ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def host_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of ``environ`` (default: this process's) on :data:`HOST_ENV_ALLOWLIST`."""
    source = os.environ if environ is None else environ
    return {name: source[name] for name in HOST_ENV_ALLOWLIST if name in source}


def _cut(head: str, length: int) -> str:
    """A long line as the console and the error message show it: its first 500 characters."""
    return f"{head[:TAIL_LINE_CHARS]} … [{length - TAIL_LINE_CHARS} more characters in the log]"


def _stream(source: IO[str], sink: IO[str], tail: collections.deque[str], log: IO[str]) -> None:
    """Copies the program's output: whole to ``log``, cut and bounded to ``sink`` and ``tail``.

    Reads in bounded chunks, so one line of megabytes is never held whole; after
    :data:`MAX_ECHOED_LINES` lines the console gets only a notice, the log keeps everything.
    """
    head = ""  # the start of the current line, up to TAIL_LINE_CHARS + 1 characters
    length = 0  # the current line's full length
    echoed = 0
    while chunk := source.readline(64 * 1024):
        log.write(chunk)
        ended = chunk.endswith("\n")
        text = chunk[:-1] if ended else chunk
        if len(head) <= TAIL_LINE_CHARS:
            head += text[: TAIL_LINE_CHARS + 1 - len(head)]
        length += len(text)
        if not ended:
            continue
        shown = head if length <= TAIL_LINE_CHARS else _cut(head, length)
        tail.append(shown)
        echoed += 1
        if echoed <= MAX_ECHOED_LINES:
            sink.write(shown + "\n")
        elif echoed == MAX_ECHOED_LINES + 1:
            sink.write(f"… more output than {MAX_ECHOED_LINES} lines: the rest is in the log\n")
        sink.flush()
        head, length = "", 0
    if length:
        shown = head if length <= TAIL_LINE_CHARS else _cut(head, length)
        tail.append(shown)
        if echoed < MAX_ECHOED_LINES:
            sink.write(shown + "\n")
            sink.flush()


def _end_group(process: subprocess.Popen[str], grace_s: float = KILL_GRACE_S) -> None:
    """Ends the program and everything it started in its process group: SIGTERM, then SIGKILL."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; its group may still hold children: end them too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        return


class _Stopped(Exception):
    """SIGTERM or SIGINT arrived while the program ran."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signals() -> Any:
    """Turns SIGTERM and SIGINT into :class:`_Stopped` while the program runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, _frame: object) -> None:
        raise _Stopped(signum)

    return {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}


def _restore(previous: Any) -> None:
    for sig, handler in (previous or {}).items():
        signal.signal(sig, handler)


def run_replica(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    records_dir: str,
    replica: str,
    region: str,
    machine: MachineSpec,
    output: IO[str] | None = None,
    base_env: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Runs ``command`` as a subprocess with ``env``, measuring the machine meanwhile.

    The program runs in its own process group; on the timeout, SIGTERM or SIGINT the whole group
    is ended (SIGTERM, then SIGKILL after :data:`KILL_GRACE_S`). Its full output is written to
    ``records_dir/<replica>.log``; the console gets each line cut at :data:`TAIL_LINE_CHARS`
    characters and at most :data:`MAX_ECHOED_LINES` lines.

    Args:
        command: The program and its arguments (already resolved for this machine).
        env: The contract's variables and the user's ``training_env``, set over ``base_env``.
        records_dir: Directory (local or ``gs://``) for this replica's record and log.
        replica: This replica's name (``workerpool0-0``, ...).
        region: The region it runs in (CodeCarbon's location; recorded).
        machine: Its machine spec, for the record and the estimate fallback.
        output: Where the program's output goes line by line (default: stdout).
        base_env: The environment the program starts from; default: this process's variables
            on :data:`HOST_ENV_ALLOWLIST` only (never the provider's credentials).
        timeout_s: Seconds the program may run; None for no limit.

    Returns:
        The replica record that was written to ``records_dir/<replica>.json``.

    Raises:
        ValueError: An unknown machine or accelerator type (before the program starts).
        TrainingProgramError: The program cannot start, exits non-zero or runs past the timeout;
            the message has its exit code and the last lines of its output.
    """
    machine.check()
    sink = output or sys.stdout
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    log_uri = storage.join_uri(records_dir, f"{replica}.log")
    started = utc_now_iso()
    t0 = time.perf_counter()
    timed_out = False
    stopped: _Stopped | None = None
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log,
        energy.measure_energy(
            region, machine.machine_type, machine.accelerator_type, machine.accelerator_count
        ) as meter,
    ):
        previous = _on_signals()
        try:
            try:
                process = subprocess.Popen(
                    list(command),
                    env={**(host_env() if base_env is None else base_env), **env},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    errors="replace",
                    start_new_session=True,
                )
            except OSError as err:
                raise TrainingProgramError(
                    f"training_command {_short(command)} could not start: {err.strerror or err}"
                ) from None
            assert process.stdout is not None
            reader = threading.Thread(
                target=_stream, args=(process.stdout, sink, tail, log), daemon=True
            )
            reader.start()
            try:
                exit_code = process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _end_group(process)
                exit_code = process.wait()
            except _Stopped as signalled:
                stopped = signalled
                _end_group(process)
                exit_code = process.wait()
            reader.join(timeout=KILL_GRACE_S)
        finally:
            _restore(previous)
        log.seek(0)
        storage.write_text(log_uri, log.read())
    assert meter.result is not None
    measurement = meter.result
    record: dict[str, Any] = {
        "schema_version": RECORD_SCHEMA_VERSION,
        "replica": replica,
        "wrapped": True,
        "region": region,
        "machine": asdict(machine),
        "start_utc": started,
        "end_utc": utc_now_iso(),
        "duration_s": round(time.perf_counter() - t0, 3),
        "exit_code": exit_code,
        "energy": measurement.to_dict(),
        "energy_basis": "measured" if measurement.method == "codecarbon" else "estimated",
    }
    storage.write_text(
        storage.join_uri(records_dir, f"{replica}.json"), json.dumps(record, indent=2) + "\n"
    )
    if stopped is not None:
        # Ended by a signal: stop the way the signal asked, after the record is written.
        signal.signal(stopped.signum, signal.SIG_DFL)
        os.kill(os.getpid(), stopped.signum)
    last = "\n".join(f"  | {line}" for line in tail) or "  | (no output)"
    if timed_out and timeout_s is not None:
        raise TrainingProgramError(
            f"training program {_short(command)} ran longer than training_timeout_hours "
            f"({timeout_s / 3600:g} h) and was stopped; its last lines:\n{last}\n"
            f"full output: {log_uri}",
            TIMEOUT_EXIT_CODE,
        )
    if exit_code != 0:
        raise TrainingProgramError(
            f"training program {_short(command)} exited with code {exit_code}; "
            f"its last lines:\n{last}\nfull output: {log_uri}",
            exit_code,
        )
    return record
