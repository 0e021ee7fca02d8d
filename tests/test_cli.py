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
