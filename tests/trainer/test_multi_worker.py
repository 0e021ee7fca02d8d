"""The bundled trainer with worker_replica_count > 0: one model, trained by two workers together.

Two real worker processes on loopback, each started the way a Vertex replica starts it (through
``carbon_aware.training.job``, which measures and records the replica), with a TF_CONFIG and
CLUSTER_SPEC of this test's own. Nothing is stood in for.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from carbon_aware.trainer.distributed import steps_per_epoch, worker_role
from storage_emulator import free_port

from carbon_aware.training.collect import collect_run
from carbon_aware.training.contract import OutputLayout
from carbon_aware.training.runner import MachineSpec

BATCH = 32


def test_the_role_comes_from_tf_config():
    lone = worker_role({})
    assert (lone.workers, lone.is_chief, lone.distributed) == (1, True, False)
    cluster = {"chief": ["h0:2222"], "worker": ["h1:2222", "h2:2222"]}
    chief = worker_role(
        {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "chief", "index": 0}})}
    )
    worker = worker_role(
        {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}})}
    )
    assert (chief.workers, chief.is_chief, worker.is_chief) == (3, True, False)
    # Vertex's one-replica TF_CONFIG is a lone chief: no strategy.
    single = {"cluster": {"chief": ["localhost:2222"]}, "task": {"type": "chief", "index": 0}}
    assert not worker_role({"TF_CONFIG": json.dumps(single)}).distributed
    with pytest.raises(ValueError, match="TF_CONFIG is not a cluster description"):
        worker_role({"TF_CONFIG": "{not json"})


def test_steps_per_worker_halve_with_two_workers():
    assert steps_per_epoch(398, BATCH, 1) == 13
    assert steps_per_epoch(398, BATCH, 2) == 7


@pytest.mark.slow
def test_two_workers_train_one_model_and_both_are_counted(tmp_path: Path):
    model_dir = tmp_path / "out" / "model"
    layout = OutputLayout(str(tmp_path / "out"))
    chief_port, worker_port = free_port(), free_port()
    cluster = {"chief": [f"127.0.0.1:{chief_port}"], "worker": [f"127.0.0.1:{worker_port}"]}
    pools = {"workerpool0": cluster["chief"], "workerpool1": cluster["worker"]}
    processes = []
    for pool, tf_type in (("workerpool0", "chief"), ("workerpool1", "worker")):
        env = {
            **os.environ,
            "AIP_MODEL_DIR": str(model_dir),
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": tf_type, "index": 0}}),
            "CLUSTER_SPEC": json.dumps({"cluster": pools, "task": {"type": pool, "index": 0}}),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        command = [
            sys.executable, "-m", "carbon_aware.training.job",
            "--region", "europe-west1", "--machine-type", "n1-standard-4",
            "--records-dir", layout.records_dir, "--",
            sys.executable, "-m", "carbon_aware.trainer.task",
            "--epochs", "2", "--batch-size", str(BATCH), "--seed", "7",
        ]  # fmt: skip
        log = (tmp_path / f"{pool}.log").open("w")
        processes.append(
            (subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT), log)
        )
    for process, log in processes:
        try:
            code = process.wait(timeout=400)
        finally:
            log.close()
        assert code == 0, Path(log.name).read_text()[-3000:]

    # One model, written by the chief only; the worker left nothing behind.
    assert sorted(p.name for p in model_dir.glob("*.keras")) == ["model.keras"]
    record = json.loads((model_dir / "run_record.json").read_text())
    train_rows = record["dataset"]["train_rows"]
    distribution = record["distribution"]
    assert distribution["strategy"] == "MultiWorkerMirroredStrategy"
    assert distribution["workers"] == 2
    assert distribution["global_batch_size"] == 2 * BATCH
    # Each worker ran half the steps a lone worker would (the global batch is split in two).
    assert distribution["steps_per_epoch_per_worker"] == math.ceil(train_rows / (2 * BATCH))
    worker_summary = json.loads(
        [
            line
            for line in (tmp_path / "workerpool1.log").read_text().splitlines()
            if line.startswith("{")
        ][-1]
    )
    assert worker_summary["distribution"]["task"] == "worker-0"
    assert (
        worker_summary["distribution"]["steps_per_epoch_per_worker"]
        == distribution["steps_per_epoch_per_worker"]
    )
    assert worker_summary["model_dir"] == ""
    # Both workers' energy is in the run's record, once each.
    run = collect_run(
        layout,
        region="europe-west1",
        machine=MachineSpec("n1-standard-4"),
        worker_replica_count=1,
        training_command=["python", "-m", "carbon_aware.trainer.task"],
        training_image="",
        data_uri="",
        backend="vertex",
    )
    replicas = run["replicas"]["records"]
    assert [r["replica"] for r in replicas] == ["workerpool0-0", "workerpool1-0"]
    assert all(r["wrapped"] and r["energy"]["total_kwh"] > 0 for r in replicas)
    assert run["energy"]["total_kwh"] == pytest.approx(
        sum(r["energy"]["total_kwh"] for r in replicas)
    )
    assert run["metrics"]["val_accuracy"] > 0.5
