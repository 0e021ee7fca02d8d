"""Keeps the Dockerfile honest without Docker: it installs this package, with what the pipeline
calls, from what pyproject.toml's package discovery needs, as root (the /gcs mount), on a pinned
base; the dependencies are cached apart from the sources; a `steps` target leaves TensorFlow out.
(tests/vertex/test_in_image_run.py runs the built images.)
"""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def instructions():
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), " ".join(rest.split())))
    return result


def stages():
    """The instructions of each stage, the global ARGs first."""
    found = [[]]
    for keyword, rest in instructions():
        if keyword == "FROM":
            found.append([])
        found[-1].append((keyword, rest))
    return found


def arg_defaults():
    defaults = {}
    for keyword, rest in instructions():
        if keyword == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            defaults.setdefault(name, value)
    return defaults


def expand(text):
    defaults = arg_defaults()
    return re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), text)


def project_packages():
    """Import name -> source folder of every package pyproject installs at the top of a mapping."""
    setuptools = PYPROJECT["tool"]["setuptools"]
    mapped = setuptools["package-dir"]
    return {"carbon_aware": "carbon_aware", **mapped}


def stage_names():
    return [rest.split()[-1] for rest in (s[0][1] for s in stages()[1:]) if " AS " in rest.upper()]


def stage(name):
    """The instructions of the stage called ``name``."""
    for found in stages()[1:]:
        if found[0][1].split()[-1] == name:
            return found
    raise AssertionError(f"no stage {name}")


def copied_sources():
    sources = set()
    for keyword, rest in instructions():
        if keyword == "COPY" and "--from" not in rest:
            *paths, _dest = rest.split()
            sources.update(p.rstrip("/") for p in paths)
    return sources


def test_base_image_is_pinned():
    bases = [expand(rest.split()[0]) for kw, rest in instructions() if kw == "FROM"]
    bases = [base for base in bases if base not in stage_names()]
    assert len(bases) >= 2, "multi-stage: a build stage and a slim runtime stage"
    for base in bases:
        pinned = "@sha256:" in base or re.match(r"^python:3\.11\.\d+-slim(-\w+)?$", base)
        assert pinned, f"base image {base!r} is not pinned to an exact version or digest"


def test_copies_what_package_discovery_and_metadata_need():
    sources = copied_sources()
    packages = project_packages()
    assert set(packages.values()) == {"carbon_aware", "components", "pipelines", "trainer"}
    missing = set(packages.values()) - sources
    assert not missing, f"Dockerfile does not COPY {missing}"
    assert "pyproject.toml" in sources
    assert PYPROJECT["project"]["readme"] in sources  # setuptools reads it to build


def test_installs_this_project_with_a_tensorflow_extra_and_no_pip_cache():
    build = " ".join(rest for kw, rest in stage("build") if kw in ("RUN", "ENV"))
    assert re.search(r"pip install --no-cache-dir \"\.\[\$\{TF_EXTRA\}\]\"", build)
    assert arg_defaults()["TF_EXTRA"] in PYPROJECT["project"]["optional-dependencies"]
    assert {"cpu", "gpu"} <= set(PYPROJECT["project"]["optional-dependencies"])
    assert "pip check" in build


def test_dependencies_are_installed_before_any_source_is_copied():
    """The slow layers depend on the requirement lists alone, so other changes reuse them."""
    lists = " ".join(rest for kw, rest in stage("requirements") if kw == "RUN")
    assert "['project']['dependencies']" in lists and "> /requirements.txt" in lists
    assert "['optional-dependencies'][sys.argv[2]]" in lists and '"${TF_EXTRA}"' in lists
    for name, copied in (
        ("deps-steps", ["--from=requirements /requirements.txt /tmp/"]),
        ("deps-full", ["--from=requirements /requirements-extra.txt /tmp/"]),
    ):
        assert [rest for kw, rest in stage(name) if kw == "COPY"] == copied, name
        assert "pip install --no-cache-dir -r /tmp/requirements.txt" in " ".join(
            rest for kw, rest in stage(name) if kw == "RUN"
        )


def test_the_steps_target_is_the_runtime_without_tensorflow():
    steps = stage("steps")
    assert [rest for kw, rest in steps if kw == "COPY"] == [
        "--from=build-steps /opt/venv /opt/venv"
    ]
    build_steps = " ".join(rest for kw, rest in stage("build-steps") if kw == "RUN")
    assert "pip install --no-cache-dir ." in build_steps and "TF_EXTRA" not in build_steps
    smoke = " ".join(rest for kw, rest in steps if kw == "RUN")
    assert "find_spec('tensorflow') is not None" in smoke  # the build fails if TF crept in
    assert ("USER", "root") in steps


def test_runtime_stage_is_small_and_runs_as_root_for_the_gcs_mount():
    runtime = stages()[-1]
    copies = [rest for kw, rest in runtime if kw == "COPY"]
    assert copies and all(rest.startswith("--from=build") for rest in copies), (
        "the runtime stage takes only the built environment, not the sources"
    )
    users = [rest for kw, rest in runtime if kw == "USER"]
    assert users and users[-1] in ("root", "0", "0:0")
    # The decision cites its evidence (tests/vertex/test_in_image_run.py shows it here).
    text = (ROOT / "Dockerfile").read_text()
    for evidence in (
        "kubeflow/pipelines#5673",
        "kubeflow/pipelines#6530",
        "GoogleCloudPlatform/cloudml-hypertune#6",
        "tests/vertex/test_in_image_run.py",
    ):
        assert evidence in text, evidence


def test_build_checks_every_entry_point_the_pipeline_calls():
    smoke = " ".join(rest for kw, rest in stages()[-1] if kw == "RUN")
    for package in project_packages():
        assert re.search(rf"import [\w., ]*\b{re.escape(package)}\b", smoke), package
    scripts = PYPROJECT["project"]["scripts"]
    assert scripts == {"carbon-aware": "carbon_aware.cli:main"}
    assert "carbon-aware --help" in smoke
    assert "python -m carbon_aware.trainer.task --help" in smoke
    assert (ROOT / "trainer" / "task.py").exists()
    assert "kfp.dsl.executor_main" in smoke  # what every component's command runs
    # What the custom job's entrypoint script hands over to, and the tools the script uses.
    from carbon_aware.training.job_spec import ENTRYPOINT_SCRIPT

    assert "python3 -m carbon_aware.training.job" in ENTRYPOINT_SCRIPT
    assert "python3 -m carbon_aware.training.job --help" in smoke
    assert "command -v sh date hostname" in smoke


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    from carbon_aware.kfp.pipelines.compiler import compile_pipeline

    path = compile_pipeline(
        "r.example/p/carbon-aware:0123abc", tmp_path_factory.mktemp("c") / "p.yaml"
    )
    return path.read_text()


def test_pipeline_only_calls_what_the_image_has(compiled):
    spec = yaml.safe_load(compiled)
    executors = spec["deploymentSpec"]["executors"]
    ours = [e["container"] for e in executors.values() if "carbon-aware:0123abc" in str(e)]
    assert len(ours) >= 5
    modules = set()
    for container in ours:
        text = "\n".join(container.get("command", []) + container.get("args", []))
        assert "pip install" not in text, "no run-time pip install"
        modules.update(re.findall(r"python3? -m ([\w.]+)", text))
        modules.update(re.findall(r"^\s*from (\w+)[\w.]* import", text, re.MULTILINE))
    assert "kfp.dsl.executor_main" in modules
    dependencies = {re.split(r"[=<>\[ ]", d)[0] for d in PYPROJECT["project"]["dependencies"]}
    for module in modules:
        top = module.split(".")[0]
        stdlib = top in ("typing", "json", "os", "pathlib", "dataclasses", "datetime")
        assert stdlib or top in project_packages() or top in dependencies, module


def dockerignore_excludes(path):
    """Docker's rule: the last matching pattern wins; '!' re-includes."""
    excluded = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            excluded = not negate
    return excluded


def test_dockerignore_keeps_the_sources_and_drops_the_clutter():
    for source in copied_sources():
        assert not dockerignore_excludes(source), source
    for package in project_packages():
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if "__pycache__" not in rel:
                assert not dockerignore_excludes(rel), rel
    for data in (ROOT / "carbon_aware" / "data").glob("*.csv"):
        assert not dockerignore_excludes(data.relative_to(ROOT).as_posix())
    for clutter in (
        ".venv/bin/python",
        ".git/HEAD",
        "build/pipeline.yaml",
        "local_outputs/x/report.md",
        "tests/test_cli.py",
        "carbon_aware/__pycache__/cli.cpython-311.pyc",
        "cloudbuild.yaml",
    ):
        assert dockerignore_excludes(clutter), clutter
