"""SIGTERM to run-local ends the step and the training program's whole process group."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


@pytest.mark.slow
def test_sigterm_to_run_local_leaves_no_child_running(compiled_template, tmp_path):
    pids = tmp_path / "pids"
    program = tmp_path / "sleepy.py"
    program.write_text(
        "import os, subprocess, time\n"
        "child = subprocess.Popen(['sleep', '600'])\n"
        f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
        "time.sleep(600)\n"
    )
    command = json.dumps(["python", str(program)])
    run_local = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "carbon_aware.cli",
            "run-local",
            "--template",
            str(compiled_template),
            "--output-dir",
            str(tmp_path / "out"),
            "--param",
            f"training_command={command}",
            "--param",
            "quality_metric=accuracy",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 400
    while not (pids.exists() and pids.read_text().strip()):
        assert run_local.poll() is None, run_local.stderr.read() if run_local.stderr else ""
        assert time.monotonic() < deadline, "the training program never started"
        time.sleep(0.5)
    program_pid, child_pid = map(int, pids.read_text().split())
    run_local.send_signal(signal.SIGTERM)
    code = run_local.wait(timeout=120)
    err = run_local.stderr.read() if run_local.stderr else ""
    assert code == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    time.sleep(0.5)
    assert not _alive(program_pid) and not _alive(child_pid)
