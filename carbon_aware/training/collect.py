"""Gather a finished training run into one run record: every replica, the metrics, the data.

The record is what evaluate and report-footprint read, whichever backend ran the program. Energy
is summed over the replicas; a replica that could not measure itself (the user's own image
without this package, or no record at all) is estimated from its machine spec and duration, and
the record says how many were measured and how many estimated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from carbon_aware import storage
from carbon_aware.measurement import energy, energy_terms
from carbon_aware.training.contract import (
    METRICS_FILE,
    ContractError,
    OutputLayout,
    image_tag_is_mutable,
    parse_metrics,
)
from carbon_aware.training.data_location import locate_data
from carbon_aware.training.record_schema import (
    PROGRAM_RECORD_SCHEMA,
    UNWRAPPED_REPLICA_SCHEMA,
    WRAPPED_REPLICA_SCHEMA,
    validate,
)
from carbon_aware.training.runner import MachineSpec

SCHEMA_VERSION = 2
PROGRAM_RECORD = "run_record.json"
# What the bundled trainer (or any program) may add about itself to ``run_record.json`` in its
# model directory; the report's green-lever and SCI sections read these.
PROGRAM_KEYS = (
    "dataset",
    "hyperparameters",
    "levers",
    "data_efficiency",
    "precision",
    "compressed_export",
    "epochs_run",
)
ENERGY_TERMS = ("cpu_kwh", "gpu_kwh", "ram_kwh", "total_kwh")


def _utc(epoch_s: float) -> str:
    return (
        datetime.fromtimestamp(epoch_s, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _estimated(replica: dict[str, Any], machine: MachineSpec, why: str) -> dict[str, Any]:
    """A replica record whose energy is the machine spec x its duration."""
    estimate = energy.estimate_energy(
        float(replica["duration_s"]),
        machine.machine_type,
        machine.accelerator_type,
        machine.accelerator_count,
        note=why,
    )
    return {**replica, "energy": estimate.to_dict(), "energy_basis": "estimated"}


def read_metrics(model_dir: str) -> dict[str, float]:
    """``metrics.json`` in the model directory; empty when the program wrote none.

    Raises:
        carbon_aware.training.contract.ContractError: It is not a flat object of numbers.
    """
    uri = storage.join_uri(model_dir, METRICS_FILE)
    try:
        return parse_metrics(storage.read_text(uri), uri)
    except FileNotFoundError:
        return {}


def _load_json(text: str, source: str) -> Any:
    """JSON of an untrusted record: NaN and Infinity refused, one line naming ``source``."""

    def refuse(name: str) -> Any:
        raise ContractError(f"{source} holds {name}; records hold finite numbers only")

    try:
        return json.loads(text, parse_constant=refuse)
    except ValueError as err:
        if isinstance(err, ContractError):
            raise
        raise ContractError(f"{source} is not JSON: {err}") from None


def read_replica_records(layout: OutputLayout, machine: MachineSpec) -> list[dict[str, Any]]:
    """Every replica record under the run's records folder, unwrapped ones estimated."""
    records = []
    for uri in storage.list_files(layout.records_dir):
        if not uri.endswith(".json"):
            continue
        raw = _load_json(storage.read_text(uri), uri)
        wrapped = isinstance(raw, dict) and raw.get("wrapped", True) is not False
        validate(raw, WRAPPED_REPLICA_SCHEMA if wrapped else UNWRAPPED_REPLICA_SCHEMA, uri)
        if wrapped:
            records.append(raw)
            continue
        start, end = float(raw["start_epoch_s"]), float(raw["end_epoch_s"])
        replica = {
            "replica": str(raw["replica"]),
            "wrapped": False,
            "machine": asdict(machine),
            "start_utc": _utc(start),
            "end_utc": _utc(end),
            "duration_s": max(0.0, end - start),
            "exit_code": int(raw["exit_code"]),
        }
        records.append(_estimated(replica, machine, "the training image lacks carbon-aware-vertex"))
    return sorted(records, key=lambda r: str(r["replica"]))


def _sum_terms(replicas: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each component's term summed over the replicas (methods: the weakest one)."""
    per_replica = [energy_terms.terms_of(r["energy"]) for r in replicas]
    names = sorted({name for terms in per_replica for name in terms})
    return {
        name: energy_terms.sum_terms([t[name] for t in per_replica if name in t]).to_dict()
        for name in names
    }


def _sum_energy(replicas: list[dict[str, Any]]) -> dict[str, Any]:
    totals = {term: sum(float(r["energy"][term]) for r in replicas) for term in ENERGY_TERMS}
    methods = sorted({str(r["energy"]["method"]) for r in replicas})
    measured = sum(1 for r in replicas if r["energy_basis"] == "measured")
    detail = "; ".join(f"{r['replica']}: {r['energy']['method_detail']}" for r in replicas)
    return {
        **totals,
        "method": methods[0] if len(methods) == 1 else "mixed",
        "method_detail": f"sum over {len(replicas)} replica(s), {measured} measured: {detail}",
        "duration_s": max(float(r["energy"]["duration_s"]) for r in replicas),
        "terms": _sum_terms(replicas),
    }


def collect_run(
    layout: OutputLayout,
    *,
    region: str,
    machine: MachineSpec,
    worker_replica_count: int,
    training_command: list[str],
    training_image: str,
    data_uri: str,
    backend: str,
    job_resource: str = "",
    package_uris: list[str] | None = None,
    job_window: Callable[[], tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """Builds the run record from what the replicas and the program wrote.

    Args:
        layout: The run's output layout.
        region: The region the job ran in.
        machine: Every replica's machine.
        worker_replica_count: Workers besides the chief that Vertex AI ran (0 locally).
        training_command: The program that ran.
        training_image: Its image (recorded; locally not pulled).
        data_uri: The training data (its location is recorded).
        backend: ``local`` or ``vertex``.
        job_resource: The Vertex custom job's resource name, where there is one.
        package_uris: The Python packages the program was installed from (recorded).
        job_window: Reads the custom job's start and end (epoch seconds) where no replica left
            a record (a package run whose image lacks this project: nothing inside the job
            could record it); each replica is then estimated over that window.

    Returns:
        The run record (schema 2): times, machine, summed energy, replicas, metrics, data.

    Raises:
        ValueError: No replica left a record, or ``metrics.json`` breaks the contract.
    """
    replicas = read_replica_records(layout, machine)
    if not replicas and job_window is not None:
        start, end = job_window()
        replicas = [
            _estimated(
                {
                    "replica": "workerpool0-0",
                    "wrapped": False,
                    "machine": asdict(machine),
                    "start_utc": _utc(start),
                    "end_utc": _utc(end),
                    "duration_s": max(0.0, end - start),
                    "exit_code": 0,
                },
                machine,
                "no record inside the job (python_package_spec ran the module without "
                "carbon-aware-vertex); the custom job's running time from Vertex AI",
            )
        ]
    if not replicas:
        raise ValueError(
            f"no replica record under {layout.records_dir}: the training job wrote nothing "
            "there, so its energy is unknown"
        )
    expected = 1 + worker_replica_count
    longest = max(float(r["duration_s"]) for r in replicas)
    for index in range(len(replicas), expected):
        missing = {
            "replica": f"unrecorded-{index}",
            "wrapped": False,
            "machine": asdict(machine),
            "start_utc": replicas[0]["start_utc"],
            "end_utc": replicas[0]["end_utc"],
            "duration_s": longest,
            "exit_code": 0,
        }
        replicas.append(
            _estimated(missing, machine, "no record from this replica; as long as the longest")
        )
    metrics = read_metrics(layout.model_dir)
    program_uri = storage.join_uri(layout.model_dir, PROGRAM_RECORD)
    try:
        program_text = storage.read_text(program_uri)
    except FileNotFoundError:
        program = {}
    else:
        program = validate(
            _load_json(program_text, program_uri), PROGRAM_RECORD_SCHEMA, program_uri
        )
    start = min(_epoch(str(r["start_utc"])) for r in replicas)
    end = max(_epoch(str(r["end_utc"])) for r in replicas)
    measured = sum(1 for r in replicas if r["energy_basis"] == "measured")
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "backend": backend,
        "start_utc": _utc(start),
        "end_utc": _utc(end),
        "duration_s": round(end - start, 3),
        "region": region,
        "machine": {**asdict(machine), "replica_count": len(replicas)},
        "energy": _sum_energy(replicas),
        "replicas": {
            "count": len(replicas),
            "measured": measured,
            "estimated": len(replicas) - measured,
            "records": replicas,
        },
        "training": {
            "command": list(training_command),
            "image": training_image,
            "image_tag_mutable": image_tag_is_mutable(training_image),
            "package_uris": list(package_uris or []),
            "output_dir": layout.root,
            "model_dir": layout.model_dir,
            "job_resource": job_resource,
        },
        "data": locate_data(data_uri).to_dict(region),
        "metrics": metrics,
    }
    # A null field is the same as a missing one (the record schema allows both).
    record.update({key: program[key] for key in PROGRAM_KEYS if program.get(key) is not None})
    return record
