"""What wrapping a training program costs: run it bare, then through run_replica (measured).

Prints the wall time of a CPU-bound stand-in program run directly with subprocess, and through
:func:`carbon_aware.training.runner.run_replica` (CodeCarbon over the whole machine, the replica
record written), and their ratio, measured in the same run.

    PYTHONPATH=. .venv/bin/python benchmarks/training_wrapper_overhead.py [--seconds 5] [--repeat 3]
"""

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time

from carbon_aware.training.runner import MachineSpec, run_replica


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0, help="program's own busy time")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    program = [
        sys.executable,
        "-c",
        f"import time\nend = time.time() + {args.seconds}\nwhile time.time() < end: pass",
    ]
    bare, wrapped = [], []
    with tempfile.TemporaryDirectory() as records:
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            subprocess.run(program, check=True)
            bare.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            record = run_replica(
                program,
                env={},
                records_dir=records,
                replica="workerpool0-0",
                region="europe-west1",
                machine=MachineSpec("n1-standard-4"),
                output=io.StringIO(),
            )
            wrapped.append(time.perf_counter() - t0)
    bare_s, wrapped_s = statistics.median(bare), statistics.median(wrapped)
    print(f"program alone:        {bare_s:.3f} s (median of {args.repeat})")
    print(f"through run_replica:  {wrapped_s:.3f} s ({record['energy']['method']})")
    print(f"overhead:             {wrapped_s - bare_s:.3f} s")
    print(f"ratio: {wrapped_s / bare_s:.3f}")


if __name__ == "__main__":
    main()
