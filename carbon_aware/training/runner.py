"""Run one replica of a training program while measuring the whole machine, and record it.

The same function runs the program in both places: the local train step calls it in-process, and
on Vertex AI the job's entrypoint (:mod:`carbon_aware.training.job`) calls it inside each replica.
The energy is measured from outside the user's code (CodeCarbon over the whole machine while the
program runs), or estimated from the machine spec and the duration where it cannot be measured.
"""

from __future__ import annotations

import collections
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from carbon_aware import storage
from carbon_aware.measurement import energy

TAIL_LINES = 20
RECORD_SCHEMA_VERSION = 1


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


def _stream(source: IO[str], sink: IO[str], tail: collections.deque[str]) -> None:
    for line in source:
        sink.write(line)
        sink.flush()
        tail.append(line.rstrip("\n"))


def run_replica(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    records_dir: str,
    replica: str,
    region: str,
    machine: MachineSpec,
    output: IO[str] | None = None,
) -> dict[str, Any]:
    """Runs ``command`` as a subprocess with ``env`` added, measuring the machine meanwhile.

    Args:
        command: The program and its arguments (already resolved for this machine).
        env: Variables added to this process's environment (the training contract).
        records_dir: Directory (local or ``gs://``) for this replica's record.
        replica: This replica's name (``workerpool0-0``, ...).
        region: The region it runs in (CodeCarbon's location; recorded).
        machine: Its machine spec, for the record and the estimate fallback.
        output: Where the program's output goes line by line (default: stdout).

    Returns:
        The replica record that was written to ``records_dir/<replica>.json``.

    Raises:
        ValueError: An unknown machine or accelerator type (before the program starts).
        TrainingProgramError: The program cannot start or exits non-zero; the message has its
            exit code and the last lines of its output.
    """
    machine.check()
    sink = output or sys.stdout
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    started = utc_now_iso()
    t0 = time.perf_counter()
    with energy.measure_energy(
        region, machine.machine_type, machine.accelerator_type, machine.accelerator_count
    ) as meter:
        try:
            process = subprocess.Popen(
                list(command),
                env={**os.environ, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
        except OSError as err:
            raise TrainingProgramError(
                f"training_command {list(command)!r} could not start: {err.strerror or err}"
            ) from None
        assert process.stdout is not None
        _stream(process.stdout, sink, tail)
        exit_code = process.wait()
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
    if exit_code != 0:
        last = "\n".join(f"  | {line}" for line in tail) or "  | (no output)"
        raise TrainingProgramError(
            f"training program {_short(command)} exited with code {exit_code}; "
            f"its last lines:\n{last}",
            exit_code,
        )
    return record
