"""Every check matches the whole string: a trailing newline never slips through."""

import pytest
from carbon_aware.kfp.pipelines.compiler import validate_image

from carbon_aware.delivery import submit
from carbon_aware.delivery.deploy import validate_project
from carbon_aware.delivery.doctor import make_request
from carbon_aware.footprint.embodied import machine_vcpus
from carbon_aware.history.queries import validate_table
from carbon_aware.intensity.secrets import validate_secret_name
from carbon_aware.measurement.energy import machine_shape
from carbon_aware.training.contract import (
    ContractError,
    validate_quality_metric,
    validate_training_image,
)
from carbon_aware.vertex import validate_bucket_template, validate_machine_type

TEMPLATE = "gs://my-proj-carbon-{region}"


@pytest.mark.parametrize(
    "check",
    [
        lambda: validate_project("my-proj\n"),
        lambda: submit._check_target("my-proj\n", "europe-west4", None, None),
        lambda: submit._check_target("my-proj", "europe-west4\n", None, None),
        lambda: submit._check_target(
            "my-proj", "europe-west4", None, "sa@p.iam.gserviceaccount.com\n"
        ),
        lambda: submit.parse_labels(["team=ml\n"]),
        lambda: submit.parse_labels(["team\n=ml"]),
        lambda: submit.check_run_name("run-1\n"),
        lambda: validate_training_image("europe-docker.pkg.dev/p/r/train:v1\n"),
        lambda: validate_image("europe-docker.pkg.dev/p/r/train:v1\n"),
        lambda: validate_machine_type("n1-standard-4\n"),
        lambda: machine_shape("n1-standard-4\n"),
        lambda: validate_quality_metric("accuracy\n"),
        lambda: validate_secret_name("projects/my-proj/secrets/k/versions/1\n\x00"),
        lambda: validate_table("my-proj.carbon.export\n"),
        lambda: make_request(
            "my-proj", "europe-west4", TEMPLATE, image="europe-docker.pkg.dev/p/r/t:v1\n"
        ),
        lambda: make_request(
            "my-proj", "europe-west4", TEMPLATE, service_account="sa@p.iam.gserviceaccount.com\n"
        ),
    ],
)
def test_a_trailing_newline_is_refused(check):
    with pytest.raises((ValueError, ContractError)):
        check()


def test_upload_tags_and_versions_need_the_whole_string():
    assert submit.TAG.fullmatch("v1") and not submit.TAG.fullmatch("v1\n")
    assert not submit.REGISTRY_HOST.fullmatch("https://europe-west4-kfp.pkg.dev/p/r\n")


def test_embodied_refuses_a_machine_type_with_a_newline_inside():
    with pytest.raises(ValueError):
        machine_vcpus("n1-standard-4\nx")


@pytest.mark.parametrize(
    "template",
    [
        "gs://my-proj-carbon-{region}/../other",
        "gs://my-proj-carbon-{region}/./x",
        "gs://my-proj-carbon-{region}//x",
        "gs://my-proj-carbon-{region}/a\\..\\b",
        "gs://my-proj-carbon-{region}\n",
        "gs://my-proj-carbon-{region}/a b",
    ],
)
def test_bucket_templates_with_path_traversal_are_refused(template):
    with pytest.raises(ValueError, match="regional_bucket_template"):
        validate_bucket_template(template)


def test_a_plain_bucket_template_with_folders_passes():
    assert validate_bucket_template("gs://p-{region}/runs/") == "gs://p-{region}/runs/"
