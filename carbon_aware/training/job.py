"""The Vertex AI custom job's entrypoint: ``python -m carbon_aware.training.job [opts] -- CMD...``.

Vertex AI starts it in every replica of the job with ``AIP_MODEL_DIR`` and friends, and
``CLUSTER_SPEC`` naming the replica. It runs ``CMD`` through :func:`run_replica` (the same
function the local train step uses), so each replica measures and records itself.
"""

from __future__ import annotations

import argparse
import os
import sys

from carbon_aware.training.contract import replica_identity
from carbon_aware.training.runner import MachineSpec, TrainingProgramError, run_replica


def build_parser() -> argparse.ArgumentParser:
    """The entrypoint's options; everything after ``--`` is the training command."""
    parser = argparse.ArgumentParser(prog="python -m carbon_aware.training.job")
    parser.add_argument("--region", required=True, help="the region the job runs in")
    parser.add_argument("--machine-type", required=True)
    parser.add_argument("--accelerator-type", default="")
    parser.add_argument("--accelerator-count", type=int, default=0)
    parser.add_argument("--records-dir", required=True, help="gs:// folder for replica records")
    parser.add_argument("--data-uri", default="", help="set as AIP_TRAINING_DATA_URI")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the program")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the training command as this replica; returns its exit code."""
    args = build_parser().parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("error: no training command after --", file=sys.stderr)
        return 2
    env = {"AIP_TRAINING_DATA_URI": args.data_uri} if args.data_uri else {}
    machine = MachineSpec(args.machine_type, args.accelerator_type, args.accelerator_count)
    try:
        run_replica(
            command,
            env=env,
            records_dir=args.records_dir,
            replica=replica_identity(os.environ),
            region=args.region,
            machine=machine,
            # The container's own environment: the image's, Vertex AI's contract variables and
            # the user's training_env (the worker pool's container env); no pipeline secrets.
            base_env=dict(os.environ),
        )
    except TrainingProgramError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
