"""What the built images cost a Vertex run: their compressed size, and the time to start each step.

Run (after `make image`, as root): .venv/bin/python benchmarks/image_cost.py [--repeats N]

Measured on the images `make image` builds (podman), not estimated (benchmarks/slim_image.py
estimates the same from this machine's installed packages):

- size: uncompressed, as podman reports it, and compressed as a registry stores and a node pulls
  it: the image saved as one archive and gzipped at level 6 (the level `docker push` uses for
  layers). Both images hold the same Debian base layer;
- start: for every step, a fresh container of its image (``podman run --rm --network=none``)
  whose interpreter imports what KFP's executor imports (kfp.dsl and the component's module) and
  the import statements of the component's own body. A light step is timed in both images,
  alternating, ``--repeats`` each; the median is shown. train and evaluate need TensorFlow and run
  in the full image only.

Ratios are against the full image (the baseline, every step on one image) in the same run. The
pull per run counts one pull per step container (a Vertex step may land on a node that has the
image cached; this is the upper bound).
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "vertex"))

from carbon_aware.kfp.components import build_components
from containers import PROJECT_IMAGE, STEPS_IMAGE, missing_runtime, podman_env
from slim_image import body_imports

LIGHT = ("fetch_intensity", "choose_region", "collect_training", "report_footprint")
HEAVY = ("train", "evaluate")


def podman(*args: str) -> str:
    """Runs podman with the repository's containers.conf; returns its standard output."""
    done = subprocess.run(
        ["podman", *args], env=podman_env(), capture_output=True, text=True, check=True
    )
    return done.stdout


def uncompressed_bytes(image: str) -> int:
    """The image's size as podman reports it."""
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).strip())


def compressed_bytes(image: str) -> int:
    """Bytes of the saved image gzipped at level 6 (what a registry stores and a node pulls)."""
    save = f"podman save --format docker-archive {shlex.quote(image)}"
    pipeline = f"set -o pipefail; {save} | gzip -6 -c | wc -c"
    done = subprocess.run(
        ["bash", "-c", pipeline], env=podman_env(), capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip())


def start_s(image: str, module: str, imports: str) -> float | None:
    """Seconds from `podman run` to a step's imports done in a fresh container; None if it fails."""
    code = f"import kfp.dsl\nimport {module}\n{imports}\n"
    argv = ["podman", "run", "--rm", "--network=none", "--pull=never", image, "python", "-c", code]
    start = time.perf_counter()
    done = subprocess.run(argv, env=podman_env(), capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    return elapsed if done.returncode == 0 else None


def main() -> None:
    """Prints both images' sizes, the ratio, and each step's start in each image."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    missing = missing_runtime()
    if missing:
        raise SystemExit(f"image_cost: {missing}")
    sizes = {}
    for label, image in (("full", PROJECT_IMAGE), ("steps", STEPS_IMAGE)):
        started = time.perf_counter()
        sizes[label] = (uncompressed_bytes(image), compressed_bytes(image))
        print(
            f"{label:5} {image}: {sizes[label][0] / 1e6:,.0f} MB uncompressed, "
            f"{sizes[label][1] / 1e6:,.0f} MB compressed (measured in "
            f"{time.perf_counter() - started:.0f} s)"
        )
    full_gz, steps_gz = sizes["full"][1], sizes["steps"][1]
    print(f"compressed ratio steps/full: {steps_gz / full_gz:.2f}")
    one_image = 6 * full_gz  # five steps and collect-training, each pulls the full image
    two_images = len(LIGHT) * steps_gz + len(HEAVY) * full_gz
    print(
        f"pulled per run (a pull per step, upper bound): one image {one_image / 1e9:.2f} GB, "
        f"with --steps-image {two_images / 1e9:.2f} GB (ratio {two_images / one_image:.2f}; "
        f"the light steps alone: {steps_gz / full_gz:.2f}); each replica pulls the full image"
    )

    ops = build_components("unused:tag")
    print("\nstep              full image (s)  steps image (s)  ratio")
    for name in (*LIGHT, *HEAVY):
        func = getattr(ops, name).python_func
        module, imports = func.__module__, body_imports(func)
        timed: dict[str, list[float]] = {"full": [], "steps": []}
        for _ in range(args.repeats):
            for label, image in (("full", PROJECT_IMAGE), ("steps", STEPS_IMAGE)):
                if label == "steps" and name in HEAVY:
                    continue
                seconds = start_s(image, module, imports)
                if seconds is None:
                    raise SystemExit(f"image_cost: step {name} does not start in {image}")
                timed[label].append(seconds)
        full = statistics.median(timed["full"])
        if name in HEAVY:
            print(f"{name:17} {full:14.2f}  (needs TensorFlow)")
            continue
        steps = statistics.median(timed["steps"])
        print(f"{name:17} {full:14.2f}  {steps:15.2f}  {steps / full:5.2f}")


if __name__ == "__main__":
    main()
