"""The README is part of the product: its commands and parameter table must stay true."""

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
    for target in re.findall(r"`make (\w+)", README):
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
