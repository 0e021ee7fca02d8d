"""The README is part of the product: its commands and parameter table must stay true."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from carbon_aware.cli import build_parser
from carbon_aware.delivery.template import load_template, template_inputs

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def parameter_table():
    """Rows of the README's 'Pipeline parameters' table: name -> (type, default)."""
    section = README.split("## Pipeline parameters", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `([a-z_]+)` \| (\w+) \| `?(.*?)`? \| .+ \|$", line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def fenced_commands():
    return re.findall(r"```bash\n(.+?)\n```", README, flags=re.S)


def test_the_two_commands_come_first_and_ci_runs_the_test_command():
    commands = fenced_commands()
    assert commands[:2] == ["make run", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, flags=re.M)


def test_make_targets_named_in_the_readme_exist():
    for target in re.findall(r"`make ([\w-]+)", README):
        result = subprocess.run(
            ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"make {target}: {result.stderr}"


def test_parameter_table_matches_the_compiled_template(compiled_template):
    inputs = template_inputs(load_template(compiled_template))
    table = parameter_table()
    assert sorted(table) == sorted(inputs), "README table and pipeline parameters differ"
    for name, declared in inputs.items():
        type_name, default = table[name]
        assert type_name == declared.type_name, name
        documented = yaml.safe_load(default) if default else ""
        expected = declared.default
        if declared.parameter_type == "NUMBER_INTEGER":
            expected = int(expected)
        assert documented == expected, f"{name}: README says {default!r}, pipeline {expected!r}"


@pytest.mark.parametrize(
    "command",
    re.findall(r"`carbon-aware ([a-z-]+)((?: \[?--[a-z-]+[^`|]*)*)`", README),
)
def test_documented_cli_commands_and_flags_exist(command, capsys):
    name, rest = command
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([name, "--help"])
    assert exit_info.value.code == 0, f"carbon-aware {name} is documented but does not exist"
    help_text = capsys.readouterr().out
    for flag in re.findall(r"--[a-z-]+", rest):
        assert flag in help_text, f"carbon-aware {name} has no {flag}"


def test_readme_documents_commands():
    assert len(re.findall(r"`carbon-aware ([a-z-]+)", README)) >= 2


def test_compile_py_flags_in_the_readme_exist():
    help_text = subprocess.run(
        [sys.executable, "compile.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for flag in set(re.findall(r"python compile\.py ((?:--[a-z]+ \S+ ?)+)", README)[0].split()):
        if flag.startswith("--"):
            assert flag in help_text


# --- The README runs as written -------------------------------------------------------------
# Every shell command in README.md's code blocks is run here (offline) or listed below with the
# reason it is not. Placeholders are replaced by values of the real form, from this table:
PLACEHOLDERS = {
    "MY_PROJ": "my-proj",  # a Google Cloud project id
    "europe-docker.pkg.dev/P/": "europe-docker.pkg.dev/my-proj/",  # P: the project, in a host path
    "--project P ": "--project my-proj ",
    ":SHA": ":0123abc",  # an image tag: the commit's short SHA
    "$(git rev-parse --short HEAD)": "0123abc",
}
# Commands that need Google Cloud, a provider key or a container runtime: never run here.
NEEDS_THE_CLOUD = {
    "carbon-aware submit --template build/pipeline.yaml --project P ": "submits to Vertex AI",
    "carbon-aware intensity --regions europe-west1,us-central1 --provider electricitymaps": (
        "Electricity Maps API key and network"
    ),
    "carbon-aware intensity --regions us-west1 --provider watttime": "WattTime key and network",
    "carbon-aware doctor": "calls the Google Cloud APIs",
    "CARBON_AWARE_GCP_PROJECT=": "the real smoke test on a Google Cloud project (pytest -m gcp)",
    "gcloud builds submit": "Cloud Build",
    "carbon-aware plan --provider electricitymaps": "Electricity Maps API key and network",
}
# Commands this test does not run because they are the suite's own entry points.
ENTRY_POINTS = {
    "make test": "runs this suite (CI runs it)",
    "make run": "installs into .venv/ first; its command, carbon-aware run-local, is run below",
    "make image": "builds the images with podman as root (CI runs it through make test-image)",
    "make test-image": "the in-image Vertex run; CI runs it after make test",
}
# Commands that run the whole pipeline with kfp.local (about a minute each): marked slow.
SLOW = ("carbon-aware run-local",)
COMMAND_WORDS = ("make", "carbon-aware", "python", "gcloud", ".venv/bin/pytest")


def readme_shell_commands() -> list[str]:
    """Every command in the README's code blocks, continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r"^ *```(?:bash)?\n(.*?)^ *```", README, flags=re.S | re.M):
        text = re.sub(r"\\\n\s*", "", block)
        for line in text.splitlines():
            line = line.strip()
            first = line.split(" ", 1)[0] if line else ""
            if not line or line.startswith("#") or first.endswith(":"):
                continue
            if first in COMMAND_WORDS or re.match(r"^[A-Z_]+=", first):
                commands.append(line)
    # The one command the prose gives for options: `make run ARGS="..."` is run-local's.
    for args in re.findall(r'`make run ARGS="([^"]+)"`', README):
        commands.append(f"carbon-aware run-local {args}")
    return commands


def skip_reason(command: str) -> str:
    for table in (NEEDS_THE_CLOUD, ENTRY_POINTS):
        for prefix, reason in table.items():
            exact = prefix.startswith("make ")  # `make test` is not `make test-image`
            if (
                command == prefix
                or (not exact and command.startswith(prefix))
                or (exact and command.startswith(prefix + " "))
            ):
                return reason
    return ""


def substituted(command: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value)
    return command


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A directory that looks like a checkout (the README's paths resolve) with fresh outputs."""
    root = tmp_path_factory.mktemp("readme")
    for name in ("carbon_aware", "examples", "pipelines", "compile.py"):
        (root / name).symlink_to(ROOT / name)
    return root


def run_shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def test_every_readme_command_is_run_or_listed_with_a_reason():
    commands = readme_shell_commands()
    assert len(commands) >= 15
    for command in commands:
        assert command.split(" ", 1)[0] in COMMAND_WORDS or "=" in command.split(" ", 1)[0]
    # Every reason still names a command the README has (no stale entries).
    for prefix in [*NEEDS_THE_CLOUD, *ENTRY_POINTS]:
        assert any(c.startswith(prefix) for c in commands), f"no README command {prefix!r}"


def runnable(slow: bool) -> list[str]:
    return [c for c in readme_shell_commands() if not skip_reason(c) and c.startswith(SLOW) == slow]


@pytest.mark.parametrize("command", runnable(slow=False))
def test_readme_command_runs_offline(command, workspace):
    done = run_shell(substituted(command), workspace)
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("command", runnable(slow=True))
def test_readme_pipeline_run_runs_offline(command, workspace):
    # What earlier commands make (a compiled template), made again if this runs alone.
    commands = readme_shell_commands()
    for earlier in commands[: commands.index(command)]:
        made = re.search(r"--output (build/\S+)", earlier)
        if made and not skip_reason(earlier) and not (workspace / made.group(1)).exists():
            test_readme_command_runs_offline(earlier, workspace)
    test_readme_command_runs_offline(command, workspace)


@pytest.mark.parametrize("command", [c for c in runnable(slow=False) if substituted(c) != c])
def test_a_placeholder_left_in_gets_a_message_with_a_real_example(command, workspace):
    done = run_shell(command, workspace)
    assert done.returncode != 0
    [message] = [line for line in done.stderr.splitlines() if "error" in line]
    assert "e.g." in message, message
    assert "Traceback" not in done.stderr


def python_api_snippets() -> list[str]:
    section = README.split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.+?)\n```", section, flags=re.S)


def test_the_python_api_section_has_the_four_snippets():
    snippets = python_api_snippets()
    assert len(snippets) == 4
    for name in ("plan_job", "choose_region", "compute_footprint", "carbon_aware_training"):
        assert any(name in snippet for snippet in snippets), name


@pytest.mark.parametrize("snippet", python_api_snippets())
def test_python_api_snippet_runs(snippet, workspace):
    # A file, not `python -c`: KFP reads a lightweight component's source from its file.
    script = workspace / "snippet.py"
    script.write_text(snippet + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{snippet}\n{done.stderr[-2000:]}"
    assert done.stdout.strip() or (workspace / "team-pipeline.yaml").is_file()
