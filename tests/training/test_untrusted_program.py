"""The user's program is untrusted: no secrets, a timeout, ended on signals, bounded output."""

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from carbon_aware.training.contract import (
    ContractError,
    OutputLayout,
    parse_metrics,
    validate_training_command,
    validate_training_env,
    validate_training_timeout_hours,
    vertex_timeout,
)
from carbon_aware.training.job_spec import worker_pool_specs
from carbon_aware.training.local import train_locally
from carbon_aware.training.runner import (
    TIMEOUT_EXIT_CODE,
    MachineSpec,
    TrainingProgramError,
    run_replica,
)

MACHINE = MachineSpec("n1-standard-4")
DUMP_ENV = "import json, os; print('ENV=' + json.dumps(dict(os.environ)))\n"


def _env_seen(output: str) -> dict[str, str]:
    line = next(x for x in output.splitlines() if x.startswith("ENV="))
    return json.loads(line[4:])


def test_the_program_never_sees_the_provider_keys_only_the_allow_list_and_training_env(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("ELECTRICITY_MAPS_API_KEY", "em-secret")
    monkeypatch.setenv("WATTTIME_USERNAME", "wt-user")
    monkeypatch.setenv("WATTTIME_PASSWORD", "wt-secret")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/keys/sa.json")
    monkeypatch.setenv("SOMETHING_ELSE", "x")
    monkeypatch.setenv("LANG", "C.UTF-8")
    program = tmp_path / "dump.py"
    program.write_text(
        "import json, os\n"
        "path = os.path.join(os.environ['AIP_MODEL_DIR'], 'env.txt')\n"
        "open(path, 'w').write('ENV=' + json.dumps(dict(os.environ)))\n"
    )
    train_locally(
        str(tmp_path / "out"),
        training_command=[sys.executable, str(program)],
        training_image="",
        data_uri="",
        region="europe-north1",
        machine=MACHINE,
        training_env={"LOG_LEVEL": "debug"},
    )
    seen = _env_seen((tmp_path / "out" / "model" / "env.txt").read_text())
    for secret in (
        "ELECTRICITY_MAPS_API_KEY",
        "WATTTIME_USERNAME",
        "WATTTIME_PASSWORD",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "SOMETHING_ELSE",
    ):
        assert secret not in seen
    assert seen["LOG_LEVEL"] == "debug" and seen["LANG"] == "C.UTF-8"
    assert seen["PATH"] == os.environ["PATH"]
    for name in ("AIP_MODEL_DIR", "CLUSTER_SPEC", "TF_CONFIG", "CLOUD_ML_JOB_ID"):
        assert name in seen
    assert "em-secret" not in json.dumps(seen) and "wt-secret" not in json.dumps(seen)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (["A=b"], "must be a JSON object"),
        ({"1BAD": "x"}, "not a variable name"),
        ({"BAD\n": "x"}, "not a variable name"),
        ({"ELECTRICITY_MAPS_API_KEY": "k"}, "looks like a credential"),
        ({"WATTTIME_PASSWORD": "k"}, "looks like a credential"),
        ({"GOOGLE_APPLICATION_CREDENTIALS": "/k.json"}, "looks like a credential"),
        ({"HF_TOKEN": "k"}, "looks like a credential"),
        ({"MY_API_KEY": "k"}, "looks like a credential"),
        ({"AIP_MODEL_DIR": "/x"}, "set by the training contract"),
        ({"TF_CONFIG": "{}"}, "set by the training contract"),
        ({"A": "x\x00y"}, "NUL"),
        ({"A": ["list"]}, "must be a string"),
    ],
)
def test_training_env_names_are_checked_and_credentials_refused(env, message):
    with pytest.raises(ContractError, match=message):
        validate_training_env(env)


def test_training_env_keeps_ordinary_names():
    assert validate_training_env({"TOKENIZERS_PARALLELISM": "false", "N": 3, "F": True}) == {
        "TOKENIZERS_PARALLELISM": "false",
        "N": "3",
        "F": "true",
    }


def test_on_vertex_training_env_is_the_worker_pools_container_env():
    pools = worker_pool_specs(
        image="europe-docker.pkg.dev/p/r/i:v1",
        command=["python", "train.py"],
        region="europe-west4",
        machine_type="n1-standard-4",
        accelerator_type="",
        accelerator_count=0,
        worker_replica_count=1,
        layout=OutputLayout("gs://b/run"),
        data_uri="",
        env={"LOG_LEVEL": "debug"},
    )
    for pool in pools:
        assert pool["container_spec"]["env"] == [{"name": "LOG_LEVEL", "value": "debug"}]


@pytest.mark.parametrize("hours", [0, -1, 337, float("nan"), float("inf"), 1e300, True, "72"])
def test_training_timeout_hours_has_limits(hours):
    with pytest.raises(ContractError, match="training_timeout_hours"):
        validate_training_timeout_hours(hours)


def test_training_timeout_maps_to_the_jobs_scheduling_timeout():
    assert vertex_timeout(72) == "259200s"
    assert vertex_timeout(336) == "1209600s"


def test_a_program_past_its_timeout_is_stopped_with_its_children(tmp_path):
    pid_file = tmp_path / "child.pid"
    program = tmp_path / "sleepy.py"
    program.write_text(
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen(['sleep', '300'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(300)\n"
    )
    started = time.monotonic()
    with pytest.raises(TrainingProgramError, match="training_timeout_hours") as caught:
        run_replica(
            [sys.executable, str(program)],
            env={},
            records_dir=str(tmp_path / "records"),
            replica="workerpool0-0",
            region="local",
            machine=MACHINE,
            output=io.StringIO(),
            timeout_s=2.0,
        )
    assert time.monotonic() - started < 60
    assert caught.value.exit_code == TIMEOUT_EXIT_CODE
    child = int(pid_file.read_text())
    time.sleep(0.2)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waiting for its parent counts as ended.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_long_output_is_cut_in_the_console_and_the_error_and_kept_whole_in_the_log(tmp_path):
    program = tmp_path / "loud.py"
    program.write_text(
        "import sys\n"
        "for i in range(3000): print('line', i)\n"
        "sys.stdout.write('x' * 3_000_000 + '\\n')\n"
        "raise SystemExit(3)\n"
    )
    console = io.StringIO()
    with pytest.raises(TrainingProgramError) as caught:
        run_replica(
            [sys.executable, str(program)],
            env={},
            records_dir=str(tmp_path / "records"),
            replica="workerpool0-0",
            region="local",
            machine=MACHINE,
            output=console,
        )
    message = str(caught.value)
    assert len(message) < 20 * 600 + 1000
    assert "more characters in the log" in message and "line 2999" in message
    assert len(console.getvalue()) < 2100 * 600
    assert "the rest is in the log" in console.getvalue()
    log = (tmp_path / "records" / "workerpool0-0.log").read_text()
    assert "line 2999" in log and "x" * 3_000_000 in log
    assert str(tmp_path / "records" / "workerpool0-0.log") in message


@pytest.mark.parametrize(
    "text", ['{"accuracy": Infinity}', '{"accuracy": NaN}', '{"accuracy": 1e999}']
)
def test_non_finite_metrics_are_refused_naming_the_metric_and_the_file(text):
    with pytest.raises(ContractError, match=r"metrics\.json.*(accuracy|Infinity|NaN)"):
        parse_metrics(text, "gs://b/model/metrics.json")


def test_a_400_digit_integer_metric_is_refused_naming_it():
    with pytest.raises(ContractError, match=r"metrics\.json: metric 'loss' is an integer of 400"):
        parse_metrics('{"loss": ' + "9" * 400 + "}", "gs://b/model/metrics.json")


@pytest.mark.parametrize(
    ("command", "message"),
    [(["python", "a\x00b"], "NUL"), ({"program": "python"}, "list of strings")],
)
def test_nul_and_objects_are_not_training_commands(command, message):
    with pytest.raises(ContractError, match=message):
        validate_training_command(command)


def test_sigterm_to_the_step_ends_the_programs_process_group(tmp_path):
    """The step (here a Python process running run_replica) gets SIGTERM: no child survives."""
    pid_file = tmp_path / "child.pid"
    program = tmp_path / "sleepy.py"
    program.write_text(
        "import subprocess, time\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(300)\n"
    )
    step = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from carbon_aware.training.runner import MachineSpec, run_replica\n"
            f"run_replica([sys.executable, {str(program)!r}], env={{}}, "
            f"records_dir={str(tmp_path / 'records')!r}, replica='workerpool0-0', "
            "region='local', machine=MachineSpec('n1-standard-4'))\n",
        ]
    )
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and step.poll() is None
        time.sleep(0.1)
    step.send_signal(signal.SIGTERM)
    assert step.wait(timeout=60) == -signal.SIGTERM
    child = int(pid_file.read_text())
    time.sleep(0.2)
    assert not _alive(child)
    assert (tmp_path / "records" / "workerpool0-0.json").exists()


def _finished_run(tmp_path, program_record):
    layout = OutputLayout(str(tmp_path / "run"))
    Path(layout.model_dir).mkdir(parents=True)
    Path(layout.model_dir, "run_record.json").write_text(program_record)
    run_replica(
        [sys.executable, "-c", "print('ok')"],
        env={},
        records_dir=layout.records_dir,
        replica="workerpool0-0",
        region="local",
        machine=MACHINE,
        output=io.StringIO(),
    )
    return layout


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ('{"dataset": "569 rows"}', r"\$\.dataset must be an object"),
        ('{"dataset": {"train_rows": "400"}}', r"\$\.dataset\.train_rows must be an integer"),
        ('{"data_efficiency": {"applied": "dedupe"}}', r"\$\.data_efficiency\.applied must be"),
        ('{"precision": {"note": 5}}', r"\$\.precision\.note must be a string"),
        ('{"compressed_export": {"energy": {"total_kwh": "x"}}}', r"total_kwh must be a finite"),
        ('{"epochs_run": 1e999}', r"\$\.epochs_run must be an integer"),
        ('{"epochs_run": NaN}', "NaN"),
        ("[1, 2]", r"\$ must be an object"),
    ],
)
def test_a_run_record_of_wrong_types_is_one_line_naming_the_field(tmp_path, record, field):
    from carbon_aware.training.collect import collect_run

    layout = _finished_run(tmp_path, record)
    with pytest.raises(ContractError, match=field) as caught:
        collect_run(
            layout,
            region="local",
            machine=MACHINE,
            worker_replica_count=0,
            training_command=["python", "train.py"],
            training_image="",
            data_uri="",
            backend="local",
        )
    assert "run_record.json" in str(caught.value) and "\n" not in str(caught.value)


def test_a_forged_replica_record_is_refused_naming_the_field(tmp_path):
    from carbon_aware.training.collect import read_replica_records

    layout = OutputLayout(str(tmp_path / "run"))
    Path(layout.records_dir).mkdir(parents=True)
    Path(layout.records_dir, "workerpool0-0.json").write_text(
        json.dumps({"replica": "w", "wrapped": False, "start_epoch_s": "now", "end_epoch_s": 1})
    )
    with pytest.raises(ContractError, match=r"\$\.exit_code is missing|start_epoch_s"):
        read_replica_records(layout, MACHINE)


def test_an_infinite_quality_metric_fails_the_gate_naming_it():
    from carbon_aware.training.quality import ModelQualityError, check_quality

    with pytest.raises(ModelQualityError, match=r"'accuracy' is inf in metrics\.json"):
        check_quality({"accuracy": float("inf")}, "accuracy", 0.9)
