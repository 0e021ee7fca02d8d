"""Installing the project adds one import package, ``carbon_aware``; nothing clashes with a team's.

- The wheel holds exactly one top-level import package, with every package folder in it.
- Nothing outside the bundled trainer imports it (benchmarks and tests excepted): it is one
  example program, not a library.
- ``carbon-aware compile`` and ``run-local`` work from a directory holding a team's own
  ``trainer``, ``pipelines`` and ``components`` packages, which fail loudly if imported.
"""

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Repository folder -> the import name it installs as (pyproject's package-dir).
MAPPED = {
    "components": "carbon_aware.kfp.components",
    "pipelines": "carbon_aware.kfp.pipelines",
    "trainer": "carbon_aware.trainer",
}
BUNDLED_TRAINER = "carbon_aware.trainer"
# Who may import the bundled trainer: itself, its tests, and the benchmarks measuring it.
MAY_IMPORT_TRAINER = ("trainer", "tests", "benchmarks")


def setuptools_major() -> int:
    from importlib.metadata import version

    return int(version("setuptools").split(".")[0])


def tracked_files() -> list[str]:
    done = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if (ROOT / line).is_file()]


def expected_packages() -> set[str]:
    """Every folder with an __init__.py, under the import name it installs as."""
    packages = set()
    for name in tracked_files():
        path = Path(name)
        if path.name != "__init__.py" or path.parts[0] not in ("carbon_aware", *MAPPED):
            continue
        parts = path.parent.parts
        top = MAPPED.get(parts[0], parts[0])
        packages.add(".".join([top, *parts[1:]]))
    return packages


@pytest.mark.slow
def test_the_wheel_installs_one_top_level_import_package(tmp_path):
    source = tmp_path / "src"
    for name in tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    # pyproject's SPDX `license` string needs setuptools >= 77: with an older one here (a fresh
    # venv has 65) the wheel is built as pip normally builds it, in an isolated environment.
    isolation = ["--no-build-isolation"] if setuptools_major() >= 77 else []
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *isolation]
    done = subprocess.run(
        [*command, "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [wheel] = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"carbon_aware"}
    [listed] = [name for name in names if name.endswith(".dist-info/top_level.txt")]
    assert zipfile.ZipFile(wheel).read(listed).decode().split() == ["carbon_aware"]
    packages = {
        name.rsplit("/", 1)[0].replace("/", ".") for name in names if name.endswith("/__init__.py")
    }
    assert packages == expected_packages()
    for data in (
        "carbon_aware/py.typed",
        "carbon_aware/kfp/pipelines/configs/dev.yaml",
        "carbon_aware/trainer/task.py",
        "carbon_aware/kfp/components/evaluate.py",
    ):
        assert data in names


def imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_nothing_outside_the_bundled_trainer_imports_it():
    offenders = []
    for name in tracked_files():
        path = Path(name)
        if path.suffix != ".py" or path.parts[0] in MAY_IMPORT_TRAINER:
            continue
        folder = path.parent.parts
        package = ".".join([MAPPED.get(folder[0], folder[0]), *folder[1:]]) if folder else ""
        bad = sorted(
            module
            for module in imported_modules(ROOT / path, package)
            if module == BUNDLED_TRAINER
            or module.startswith(BUNDLED_TRAINER + ".")
            or module == "trainer"
            or module.startswith("trainer.")
        )
        if bad:
            offenders.append(f"{name}: {', '.join(bad)}")
    assert offenders == []


def test_the_import_check_catches_an_import_of_the_trainer(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from ..trainer import evaluate\nimport carbon_aware.trainer.data\n")
    modules = imported_modules(sample, "carbon_aware.kfp")
    assert {"carbon_aware.trainer.evaluate", "carbon_aware.trainer.data"} <= modules


def a_team_repository(root: Path) -> Path:
    """A team's repository: its own trainer, pipelines and components packages, which fail."""
    for name in ("trainer", "pipelines", "components"):
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text(
            f"raise ImportError('the team\\'s own {name} package was imported')\n"
        )
    (root / "trainer" / "task.py").write_text("raise SystemExit('the team trainer ran')\n")
    return root


def in_team_repository(root: Path, *args: str, timeout: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}  # as if installed beside the team's code
    cli = Path(sys.executable).parent / "carbon-aware"
    return subprocess.run(
        [str(cli), *args], cwd=root, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_compile_works_in_a_repository_with_its_own_trainer_pipelines_components(tmp_path):
    repo = a_team_repository(tmp_path / "team")
    done = in_team_repository(
        repo,
        "compile",
        "--image",
        "europe-docker.pkg.dev/p/r/carbon:0123abc",
        "--output",
        "build/pipeline.yaml",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    text = (repo / "build" / "pipeline.yaml").read_text()
    assert "carbon_aware.kfp.components" not in text or "from components" not in text
    assert "import trainer" not in text and "from trainer" not in text


@pytest.mark.slow
def test_run_local_works_in_a_repository_with_its_own_trainer_pipelines_components(tmp_path):
    repo = a_team_repository(tmp_path / "team")
    done = in_team_repository(
        repo,
        "run-local",
        "--output-dir",
        "out",
        "--param",
        "epochs=2",
        "--param",
        "min_quality=0.5",
        "--param",
        "candidate_regions=europe-west1,us-central1",
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (repo / "out" / "report.html").is_file()
    assert "team" not in done.stderr
