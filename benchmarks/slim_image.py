"""Does an image without TensorFlow pay for the light steps? Size and start-up, measured here.

Run: .venv/bin/python benchmarks/slim_image.py [--repeats N]

No Docker here, so the image is estimated from this environment: the installed size of every
distribution the project needs (its dependencies, followed transitively through the installed
metadata), with the ``cpu`` extra (tensorflow-cpu) against without it. Packages both images
need are counted in both.

Start-up: for every component, a fresh interpreter imports what KFP's executor imports (kfp.dsl
and the component's module) and then runs the import statements of the component's own body,
the imports a step pays before doing anything. Each step is timed with TensorFlow importable
(the baseline, today's image) and with TensorFlow blocked (``sys.modules['tensorflow'] = None``,
as an image without it). A step that fails with TensorFlow blocked needs it. Runs alternate
between the two settings, ``--repeats`` each; the median is shown. Ratios are against the
baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata as metadata
import inspect
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from carbon_aware.kfp.components import build_components

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "carbon-aware-vertex"
TF_EXTRA = "cpu"
BLOCK_TF = "import sys; sys.modules['tensorflow'] = None\n"
_NAME = re.compile(r"^[A-Za-z0-9._-]+")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed() -> dict[str, metadata.Distribution]:
    return {_canonical(d.metadata["Name"]): d for d in metadata.distributions()}


def _requirements(dist: metadata.Distribution, extras: set[str]) -> list[str]:
    names = []
    for req in dist.requires or []:
        spec, _, marker = req.partition(";")
        wanted_extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if wanted_extra and wanted_extra.group(1) not in extras:
            continue
        if "sys_platform" in marker and "win32" in marker and "!=" not in marker:
            continue
        match = _NAME.match(spec.strip())
        if match:
            names.append(_canonical(match.group(0)))
    return names


def closure(extras: set[str]) -> set[str]:
    """Distributions the project needs with ``extras``, as installed here."""
    installed = _installed()
    seen: set[str] = set()
    todo = [(PROJECT, extras)]
    while todo:
        name, wanted = todo.pop()
        if name in seen or name not in installed:
            continue
        seen.add(name)
        todo += [(dep, set()) for dep in _requirements(installed[name], wanted)]
    return seen


def size_bytes(names: set[str]) -> int:
    """Installed size of the distributions' files."""
    installed = _installed()
    total = 0
    for name in names:
        for file in installed[name].files or []:
            path = Path(str(file.locate()))
            if path.is_file():
                total += path.stat().st_size
    return total


def body_imports(func: object) -> str:
    """The import statements in a component function's body."""
    tree = ast.parse(inspect.getsource(func))  # type: ignore[arg-type]
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    return "\n".join(ast.unparse(n) for n in nodes)


def start_up_s(module: str, imports: str, block_tf: bool) -> float | None:
    """Seconds for a fresh interpreter to import a step; None if it fails."""
    code = (BLOCK_TF if block_tf else "") + f"import kfp.dsl\nimport {module}\n{imports}\n"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    return elapsed if done.returncode == 0 else None


def main() -> None:
    """Prints the image estimate and each step's start-up with and without TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    full, slim = closure({TF_EXTRA}), closure(set())
    full_b, slim_b = size_bytes(full), size_bytes(slim)
    print(
        f"image estimate (installed packages): with TensorFlow {full_b / 1e6:,.0f} MB "
        f"({len(full)} dists), without {slim_b / 1e6:,.0f} MB ({len(slim)} dists): "
        f"ratio {slim_b / full_b:.2f} (saves {(full_b - slim_b) / 1e6:,.0f} MB per pull)"
    )
    ops = build_components("unused:tag")
    print("\nstep              with TF (s)  without TF (s)  ratio")
    for name in (
        "fetch_intensity",
        "choose_region",
        "collect_training",
        "train",
        "evaluate",
        "report_footprint",
    ):
        func = getattr(ops, name).python_func
        module, imports = func.__module__, body_imports(func)
        timed: dict[bool, list[float]] = {False: [], True: []}
        failed = False
        for _ in range(args.repeats):
            for block in (False, True):
                seconds = start_up_s(module, imports, block)
                if seconds is None:
                    failed = failed or block
                else:
                    timed[block].append(seconds)
        with_tf = statistics.median(timed[False])
        if failed or not timed[True]:
            print(f"{name:17} {with_tf:11.2f}  needs TensorFlow")
            continue
        without = statistics.median(timed[True])
        print(f"{name:17} {with_tf:11.2f}  {without:14.2f}  {without / with_tf:5.2f}")


if __name__ == "__main__":
    main()
