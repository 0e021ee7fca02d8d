"""One replica run and recorded: the program's exit code, output tail, energy and record."""

import io
import json
import sys

import pytest

from carbon_aware.training.runner import MachineSpec, TrainingProgramError, run_replica

MACHINE = MachineSpec("n1-standard-4")


def test_a_program_runs_with_the_contract_env_and_its_replica_is_recorded(tmp_path):
    program = tmp_path / "prog.py"
    program.write_text("import os; print('dir=' + os.environ['AIP_MODEL_DIR'])\n")
    output = io.StringIO()
    record = run_replica(
        [sys.executable, str(program)],
        env={"AIP_MODEL_DIR": "/models/x"},
        records_dir=str(tmp_path / "records"),
        replica="workerpool0-0",
        region="europe-north1",
        machine=MACHINE,
        output=output,
    )
    assert "dir=/models/x" in output.getvalue()
    written = json.loads((tmp_path / "records" / "workerpool0-0.json").read_text())
    assert written == record
    assert record["exit_code"] == 0 and record["wrapped"] is True
    assert record["energy"]["total_kwh"] > 0
    assert record["energy_basis"] in ("measured", "estimated")
    assert record["duration_s"] >= 0 and record["start_utc"] <= record["end_utc"]


def test_a_failing_program_fails_with_its_exit_code_and_last_lines(tmp_path):
    program = tmp_path / "bad.py"
    program.write_text("for i in range(30): print('line', i)\nraise SystemExit(7)\n")
    with pytest.raises(TrainingProgramError) as caught:
        run_replica(
            [sys.executable, str(program)],
            env={},
            records_dir=str(tmp_path / "records"),
            replica="workerpool0-0",
            region="local",
            machine=MACHINE,
            output=io.StringIO(),
        )
    message = str(caught.value)
    assert caught.value.exit_code == 7
    assert "exited with code 7" in message and "line 29" in message and "line 5" not in message
    # The replica still recorded itself: its energy was spent.
    assert json.loads((tmp_path / "records" / "workerpool0-0.json").read_text())["exit_code"] == 7


def test_a_program_that_cannot_start_is_named(tmp_path):
    with pytest.raises(TrainingProgramError, match="could not start"):
        run_replica(
            ["/no/such/program"],
            env={},
            records_dir=str(tmp_path),
            replica="workerpool0-0",
            region="local",
            machine=MACHINE,
            output=io.StringIO(),
        )


def test_an_unknown_machine_is_refused_before_the_program_starts(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ValueError, match="machine_type 'z9-huge-1' is not a machine type"):
        run_replica(
            ["touch", str(marker)],
            env={},
            records_dir=str(tmp_path),
            replica="workerpool0-0",
            region="local",
            machine=MachineSpec("z9-huge-1"),
        )
    assert not marker.exists()
