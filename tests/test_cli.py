import pytest

from carbon_aware.cli import main


def test_compile_subcommand_writes_yaml(tmp_path, capsys):
    target = tmp_path / "p.yaml"
    assert main(["compile", "--image", "r.example/p/img:abc1234", "--output", str(target)]) == 0
    assert str(target) in capsys.readouterr().out
    assert "r.example/p/img:abc1234" in target.read_text()


def test_run_local_refuses_bad_region_with_the_valid_list(compiled_template, tmp_path, capsys):
    code = main(
        [
            "run-local",
            "--template",
            str(compiled_template),
            "--output-dir",
            str(tmp_path),
            "--param",
            "candidate_regions=europe-west1,europe-west99",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "europe-west99" in err and "valid regions" in err and "us-central1" in err
    assert not (tmp_path / "report.md").exists()


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("epochs=many", "parameter epochs expects integer"),
        ("nonsense=1", "unknown pipeline parameter"),
        ("quality_metric=", "quality_metric must be a key of metrics.json"),
        ("novalue", "must look like name=value"),
    ],
)
def test_run_local_bad_params_exit_2(compiled_template, tmp_path, capsys, param, message):
    code = main(["run-local", "--template", str(compiled_template), "--param", param])
    assert code == 2
    assert message in capsys.readouterr().err


# Issue 15: careless input never costs a file, a fetch or a run.
def test_run_local_never_compiles_into_build_and_writes_nothing_when_refused(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    code = main(["run-local", "--output-dir", "out", "--param", "epochs=0"])
    assert code == 2 and "epochs must be an integer" in capsys.readouterr().err
    assert not (tmp_path / "build").exists()  # the README's path for the Vertex template
    assert not (tmp_path / "out").exists()


def test_run_local_refuses_an_output_dir_that_holds_a_report(compiled_template, tmp_path, capsys):
    (tmp_path / "report.md").write_text("last week's report")
    argv = ["run-local", "--template", str(compiled_template), "--output-dir", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "already holds a past run's files (report.md); pass --overwrite" in err
    assert (tmp_path / "report.md").read_text() == "last week's report"
    # --overwrite lets the run go on to its next check (here: a refused parameter).
    assert main([*argv, "--overwrite", "--param", "epochs=0"]) == 2
    assert "epochs must be an integer" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--output-dir", "{tmp}/a-file"], "--output-dir '{tmp}/a-file' is a file, not a dir"),
        (["--output-dir", "{tmp}/a-file/run"], "is inside '{tmp}/a-file', a file"),
        (["--template", "{tmp}/missing.yaml"], "--template '{tmp}/missing.yaml': no such file"),
        (["--template", "{tmp}"], "--template '{tmp}' is a directory, not a file"),
        (["--output-dir", ""], "--output-dir is empty"),
    ],
    ids=["output-file", "output-under-file", "missing-template", "dir-template", "empty-output"],
)
def test_run_local_careless_paths_get_one_line_and_exit_2(
    compiled_template, tmp_path, capsys, args, expected
):
    (tmp_path / "a-file").write_text("x")
    argv = ["run-local", *[a.format(tmp=tmp_path) for a in args]]
    if "--template" not in argv:
        argv += ["--template", str(compiled_template)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected.format(tmp=tmp_path) in err and err.count("\n") == 1, err
    assert (tmp_path / "a-file").read_text() == "x"


def test_run_local_refuses_a_missing_intensity_csv(compiled_template, tmp_path, capsys):
    code = main(
        [
            "run-local",
            "--template",
            str(compiled_template),
            "--output-dir",
            str(tmp_path / "out"),
            "--param",
            "intensity_provider=csv",
            "--param",
            f"intensity_csv={tmp_path}/none.csv",
        ]
    )
    assert code == 2
    assert f"intensity_csv '{tmp_path}/none.csv': no such file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("provider", "variables"),
    [("electricitymaps", "ELECTRICITY_MAPS_API_KEY"), ("watttime", "WATTTIME_USERNAME")],
)
def test_run_local_refuses_a_live_provider_without_a_key(
    compiled_template, tmp_path, monkeypatch, capsys, provider, variables
):
    for name in ("ELECTRICITY_MAPS_API_KEY", "WATTTIME_USERNAME", "WATTTIME_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    argv = ["run-local", "--template", str(compiled_template), "--output-dir", str(tmp_path)]
    assert main([*argv, "--param", f"intensity_provider={provider}"]) == 2
    err = capsys.readouterr().err
    assert f"intensity_provider '{provider}' needs a key: set {variables}" in err
    assert "api_key_secret" in err
    assert not (tmp_path / "pipeline.yaml").exists()


@pytest.mark.slow
def test_run_local_compiles_into_the_runs_output_dir(tmp_path, monkeypatch, capsys):
    from carbon_aware.cli import LOCAL_IMAGE

    monkeypatch.chdir(tmp_path)
    argv = ["run-local", "--output-dir", "out", "--param", "epochs=2"]
    # The path is the subject, not the model: a run stopped by the quality floor still counts.
    assert main([*argv, "--param", "candidate_regions=europe-west1"]) in (0, 1)
    assert LOCAL_IMAGE in (tmp_path / "out" / "pipeline.yaml").read_text()
    assert list((tmp_path / "out" / "pipeline_root").glob("*/fetch-intensity"))
    assert not (tmp_path / "build").exists()
