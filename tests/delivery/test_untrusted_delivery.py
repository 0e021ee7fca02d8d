"""Careless and hostile input to run-local, submit and upload: one line, nothing written."""

import os
import time

import pytest

from carbon_aware.cli import main
from carbon_aware.inputs import output_dir, read_yaml

BOMB_LINES = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
for _prev, _name in zip("abcdefgh", "bcdefghi", strict=True):
    BOMB_LINES.append(f"{_name}: &{_name} [" + ",".join([f"*{_prev}"] * 9) + "]")
BOMB = "\n".join(BOMB_LINES) + "\nroot: *i\n"


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_yaml_alias_bomb_is_refused_quickly_by_every_command(tmp_path, capsys):
    assert len(BOMB) < 800
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    commands = [
        ["run-local", "--template", str(bomb), "--output-dir", str(tmp_path / "out")],
        [
            "submit",
            "--template",
            str(bomb),
            "--project",
            "my-proj-1",
            "--location",
            "europe-west4",
            "--dry-run",
        ],
        [
            "upload",
            "--template",
            str(bomb),
            "--host",
            "https://europe-west4-kfp.pkg.dev/p/r",
            "--tag",
            "v1",
            "--dry-run",
        ],
    ]
    for argv in commands:
        started = time.monotonic()
        assert main(argv) == 2
        # Before: submit and upload --dry-run hung expanding it (the machine may be busy).
        assert time.monotonic() - started < 60
        err = capsys.readouterr().err
        assert "aliases" in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


def test_an_81_kb_bomb_is_refused_before_any_memory_goes(tmp_path):
    lines = ['a: &a ["' + "x" * 60 + '"]']
    names = [f"n{i}" for i in range(2600)]
    previous = "a"
    for name in names:
        lines.append(f"{name}: &{name} [*{previous}, *{previous}]")
        previous = name
    text = "\n".join(lines) + "\n"
    assert 40_000 < len(text) < 90_000
    path = tmp_path / "big.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match="aliases"):
        read_yaml(path, "--template")


def test_an_ordinary_alias_still_loads(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("a: &x [1, 2]\nb: *x\n")
    assert read_yaml(path, "--params-file") == {"a": [1, 2], "b": [1, 2]}


def test_run_local_refuses_a_past_runs_logs_and_a_dangling_report_link(
    compiled_template, tmp_path, capsys
):
    out = tmp_path / "out"
    (out / "logs").mkdir(parents=True)
    (out / "logs" / "train.log").write_text("precious")
    argv = ["run-local", "--template", str(compiled_template), "--output-dir", str(out)]
    assert main(argv) == 2
    assert "logs" in capsys.readouterr().err
    assert (out / "logs" / "train.log").read_text() == "precious"

    linked = tmp_path / "linked"
    linked.mkdir()
    victim = tmp_path / "victim.html"
    (linked / "report.html").symlink_to(victim)
    argv = ["run-local", "--template", str(compiled_template), "--output-dir", str(linked)]
    assert main(argv) == 2
    assert "report.html" in capsys.readouterr().err
    assert not victim.exists() and _files(linked) == ["report.html"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_parent_is_refused_before_writing(tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="not writable"):
            output_dir(parent / "run", "--output-dir", products=[], overwrite=False)
    finally:
        parent.chmod(0o700)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda base: base / ("x" * 300), "longer than"),
        (lambda base: base / "a\x00b", "NUL"),
    ],
)
def test_output_dirs_that_cannot_be_made_get_one_line(tmp_path, make, message):
    with pytest.raises(ValueError, match=message):
        output_dir(make(tmp_path), "--output-dir", products=["logs"], overwrite=False)
    assert _files(tmp_path) == []


def test_a_file_named_logs_is_refused_even_with_overwrite(compiled_template, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "logs").write_text("not a folder")
    argv = ["run-local", "--template", str(compiled_template), "--output-dir", str(out)]
    assert main([*argv, "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "logs is a file" in err and err.count("\n") == 1
    assert _files(out) == ["logs"]


def test_a_template_kfp_cannot_load_is_refused_before_writing(tmp_path, capsys):
    template = tmp_path / "t.yaml"
    template.write_text("root: {dag: 5}\npipelineInfo: {name: x}\nunknownField: 1\n")
    out = tmp_path / "out"
    assert main(["run-local", "--template", str(template), "--output-dir", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not out.exists()


def test_from_run_in_another_location_is_refused(compiled_template, capsys):
    run = "projects/my-proj-1/locations/us-central1/pipelineJobs/carbon-aware-training-1"
    argv = [
        "submit",
        "--template",
        str(compiled_template),
        "--project",
        "my-proj-1",
        "--location",
        "europe-west4",
        "--from-run",
        run,
        "--dry-run",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "us-central1" in err and "--location" in err and err.count("\n") == 1


def test_from_run_without_credentials_is_one_line(compiled_template, capsys, monkeypatch):
    import google.auth
    import google.auth.exceptions
    from google.cloud import aiplatform

    def no_adc(*args, **kwargs):
        raise google.auth.exceptions.DefaultCredentialsError(
            "Your default credentials were not found."
        )

    # Application Default Credentials are looked up on this machine: none in a test.
    monkeypatch.setattr(google.auth, "default", no_adc)
    monkeypatch.setattr(aiplatform.PipelineJob, "get", lambda *a, **k: no_adc())
    run = "projects/my-proj-1/locations/europe-west4/pipelineJobs/carbon-aware-training-1"
    argv = [
        "submit",
        "--template",
        str(compiled_template),
        "--project",
        "my-proj-1",
        "--location",
        "europe-west4",
        "--from-run",
        run,
        "--dry-run",
        "--param",
        "regional_bucket_template=gs://my-proj-1-carbon-{region}",
    ]
    from carbon_aware.delivery.access import EXIT_NO_ACCESS

    assert main(argv) == EXIT_NO_ACCESS
    err = capsys.readouterr().err
    assert "credentials" in err and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ('["no-such-program-xyz", "--go"]', "is not on PATH"),
        ('["/no/such/dir/train"]', "not an executable file"),
        ('["python", "no/such/train.py"]', "not a file here"),
        ('["python", "a\\u0000b"]', "NUL"),
        ('{"program": "python"}', "expects list"),
    ],
)
def test_run_local_refuses_a_training_command_it_cannot_run(
    compiled_template, tmp_path, capsys, command, message
):
    out = tmp_path / "out"
    argv = ["run-local", "--template", str(compiled_template), "--output-dir", str(out)]
    assert main([*argv, "--param", f"training_command={command}"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists()
