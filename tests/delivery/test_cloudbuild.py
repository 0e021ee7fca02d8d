"""cloudbuild.yaml: named steps, a sound waitFor graph, every substitution defined and documented,
and the compile, upload and submit steps' own commands run here offline (with --dry-run).
"""

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "cloudbuild.yaml").read_text()
BUILD = yaml.safe_load(TEXT)
STEPS = {step["id"]: step for step in BUILD["steps"]}
BUILT_INS = {"PROJECT_ID", "SHORT_SHA"}
VALUES = {"PROJECT_ID": "test-proj-123", "SHORT_SHA": "0123abc"}
# $$ escapes a dollar for the shell; otherwise $NAME / ${NAME} is a Cloud Build substitution.
SUBSTITUTION = re.compile(r"\$(?:\{(?P<braced>[A-Z_][A-Z0-9_]*)\}|(?P<bare>[A-Z_][A-Z0-9_]*))")


def used_substitutions():
    body = {key: value for key, value in BUILD.items() if key != "substitutions"}
    text = json.dumps(body).replace("$$", "")
    names = {m.group("braced") or m.group("bare") for m in SUBSTITUTION.finditer(text)}
    stray = re.findall(r"\$(?![A-Z_{])", text)
    assert not stray, "a lone $ must be written $$ for the shell"
    return names


def substitute(value, overrides=None):
    values = {**VALUES, **BUILD["substitutions"], **(overrides or {})}
    return SUBSTITUTION.sub(lambda m: values[m.group("braced") or m.group("bare")], value)


def cli_main(argv, monkeypatch):
    """The console script's entry point, as the Cloud Build step calls it."""
    from carbon_aware import cli

    return cli.main(argv)


def step_argv(step_id, overrides=None):
    step = STEPS[step_id]
    assert step["entrypoint"] == "/workspace/.venv/bin/carbon-aware"  # the console script
    return [substitute(arg, overrides) for arg in step["args"]]


def test_steps_are_named_and_wait_for_what_they_need():
    assert list(STEPS) == [
        "test", "build-image", "build-steps-image", "push-image", "push-steps-image",
        "compile", "local-run", "upload", "submit",
    ]  # fmt: skip
    seen = set()
    for step in BUILD["steps"]:
        for dependency in step["waitFor"]:
            assert dependency == "-" or dependency in seen, (step["id"], dependency)
        seen.add(step["id"])
    assert STEPS["test"]["waitFor"] == ["-"] and STEPS["build-image"]["waitFor"] == ["-"]
    assert set(STEPS["push-image"]["waitFor"]) == {"test", "build-image"}
    assert set(STEPS["push-steps-image"]["waitFor"]) == {"test", "build-steps-image"}
    assert STEPS["compile"]["waitFor"] == ["test"]
    assert STEPS["local-run"]["waitFor"] == ["compile"]
    assert set(STEPS["upload"]["waitFor"]) == {"local-run", "push-image", "push-steps-image"}
    assert STEPS["submit"]["waitFor"] == ["upload"]


def test_tests_run_the_readme_command_in_a_pinned_python_image():
    step = STEPS["test"]
    assert step["entrypoint"] == "make" and step["args"] == ["test"]
    assert re.fullmatch(r"python:3\.11\.\d+(-\w+)?", step["name"])
    for step_id in ("compile", "upload", "submit"):
        assert STEPS[step_id]["name"] == step["name"]  # they reuse the venv make test left


def test_substitutions_are_defined_used_and_documented():
    used = used_substitutions()
    defined = set(BUILD["substitutions"])
    assert all(name.startswith("_") for name in defined)
    assert {n for n in used if n.startswith("_")} == defined
    assert {n for n in used if not n.startswith("_")} <= BUILT_INS
    header = TEXT.split("\nsteps:", 1)[0]
    for name in defined | BUILT_INS:
        assert re.search(rf"^#.*\$?{name}\b", header, re.MULTILINE), f"{name} is not documented"
    assert len(defined) <= 8


def test_both_images_tagged_with_the_commit_everywhere():
    image = substitute(BUILD["images"][0])
    assert image == "europe-west4-docker.pkg.dev/test-proj-123/carbon-aware/carbon-aware:0123abc"
    assert f"--tag={image}" in [substitute(a) for a in STEPS["build-image"]["args"]]
    assert image in [substitute(a) for a in STEPS["push-image"]["args"]]
    assert f"--image={image}" in step_argv("compile")
    steps_image = substitute(BUILD["images"][1])
    assert steps_image == image.replace("/carbon-aware:", "/carbon-aware-steps:")
    assert "--target=steps" in STEPS["build-steps-image"]["args"]
    assert f"--tag={steps_image}" in [substitute(a) for a in STEPS["build-steps-image"]["args"]]
    assert steps_image in [substitute(a) for a in STEPS["push-steps-image"]["args"]]
    assert f"--steps-image={steps_image}" in step_argv("compile")
    assert ":latest" not in TEXT


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A stand-in for /workspace: the params file the submit step names, nothing else."""
    params = BUILD["substitutions"]["_PARAMS_FILE"]
    (tmp_path / params).parent.mkdir(parents=True)
    shutil.copy(ROOT / params, tmp_path / params)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_steps(monkeypatch, capsys, overrides=None):
    assert cli_main(step_argv("compile"), monkeypatch) == 0
    capsys.readouterr()
    assert cli_main([*step_argv("upload"), "--dry-run"], monkeypatch) == 0
    upload = json.loads(capsys.readouterr().out)
    code = cli_main([*step_argv("submit", overrides), "--dry-run"], monkeypatch)
    out, err = capsys.readouterr()
    assert code == 0, err
    return upload, out


def test_compile_upload_and_submit_commands_run_offline(workspace, monkeypatch, capsys):
    upload, out = run_steps(monkeypatch, capsys, {"_SUBMIT": "true"})
    template = workspace / "build" / "pipeline.yaml"
    assert "carbon-aware:0123abc" in template.read_text()
    assert upload["url"] == "https://europe-west4-kfp.pkg.dev/test-proj-123/carbon-aware-pipelines"
    assert upload["tags"][0] == "0123abc" and upload["tags"][1].startswith("v")
    request = json.loads(out)
    assert "/projects/test-proj-123/locations/europe-west4/pipelineJobs" in request["url"]
    body = request["body"]
    assert body["serviceAccount"] == "carbon-pipelines@test-proj-123.iam.gserviceaccount.com"
    assert body["labels"] == {"commit": "0123abc"}
    values = body["runtimeConfig"]["parameterValues"]
    assert values["project"] == "test-proj-123"
    assert values["regional_bucket_template"] == "gs://test-proj-123-carbon-{region}"
    assert body["runtimeConfig"]["gcsOutputDirectory"] == (
        "gs://test-proj-123-carbon-europe-west4/pipeline-root"
    )


def test_start_within_plans_the_submission(workspace, monkeypatch, capsys):
    assert BUILD["substitutions"]["_START_WITHIN"] == ""  # default: submit at once
    _, out = run_steps(monkeypatch, capsys, {"_SUBMIT": "true", "_START_WITHIN": "12"})
    body = json.loads(out)["body"]
    # The dev parameters use the static provider: annual figures cannot choose a time.
    assert "/pipelineJobs" in json.loads(out)["url"]
    assert body["labels"]["commit"] == "0123abc" and "planned-start" in body["labels"]
    assert body["runtimeConfig"]["parameterValues"]["planned_start_utc"].endswith(":00:00Z")


def test_submit_step_is_off_by_default(workspace, monkeypatch, capsys):
    assert BUILD["substitutions"]["_SUBMIT"] == "false"
    _, out = run_steps(monkeypatch, capsys)
    assert "skipped" in out


@pytest.mark.slow
def test_local_run_step_executes_the_compiled_file_it_uploads(workspace, monkeypatch, capsys):
    assert cli_main(step_argv("compile"), monkeypatch) == 0
    argv = step_argv("local-run")
    assert "--template=build/pipeline.yaml" in argv
    assert cli_main(argv, monkeypatch) == 0, capsys.readouterr().err
    assert (workspace / "build" / "local-run" / "footprint.json").is_file()
