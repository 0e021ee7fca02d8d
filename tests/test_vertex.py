import pytest

from carbon_aware.vertex import (
    NO_ACCELERATOR,
    base_output_directory,
    normalise_accelerator,
    regional_bucket,
    validate_bucket_template,
    validate_machine_type,
)


def test_no_accelerator_maps_to_vertex_unspecified():
    spec = normalise_accelerator("", 0)
    assert (spec.accelerator_type, spec.accelerator_count) == (NO_ACCELERATOR, 0)


def test_accelerator_with_count_passes_through():
    spec = normalise_accelerator("NVIDIA_TESLA_T4", 2)
    assert (spec.accelerator_type, spec.accelerator_count) == ("NVIDIA_TESLA_T4", 2)


@pytest.mark.parametrize(
    ("kind", "count", "message"),
    [
        ("", 1, "accelerator_count is 1 but accelerator_type is empty"),
        ("NVIDIA_TESLA_T5", 1, "unknown accelerator_type 'NVIDIA_TESLA_T5'"),
        ("NVIDIA_TESLA_T4", 0, "accelerator_count 0 is not valid with NVIDIA_TESLA_T4"),
        ("NVIDIA_TESLA_T4", 3, "accelerator_count 3 is not valid"),
    ],
)
def test_bad_accelerator_requests_are_named(kind, count, message):
    with pytest.raises(ValueError, match=message):
        normalise_accelerator(kind, count)


def test_bucket_per_region_and_run_directory():
    template = "gs://my-proj-carbon-{region}"
    assert regional_bucket(template, "europe-north1") == "gs://my-proj-carbon-europe-north1"
    assert (
        base_output_directory(template + "/", "us-west1", "job/123 x")
        == "gs://my-proj-carbon-us-west1/carbon-aware-runs/job-123-x"
    )


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("my-bucket-{region}", "must start with gs://"),
        ("gs://one-bucket", "no {region} placeholder"),
        ("gs://b-{region}-{project}", "may only contain the {region} placeholder"),
    ],
)
def test_bad_bucket_templates_are_refused(template, message):
    with pytest.raises(ValueError, match=message):
        validate_bucket_template(template)


def test_invalid_bucket_name_is_refused():
    with pytest.raises(ValueError, match="not a valid Cloud Storage bucket name"):
        regional_bucket("gs://UPPER_{region}", "us-west1")


def test_machine_type_names():
    assert validate_machine_type("n1-standard-4") == "n1-standard-4"
    with pytest.raises(ValueError, match="'n1 standard' is not a Compute Engine machine type"):
        validate_machine_type("n1 standard")


@pytest.mark.parametrize(
    "template",
    ["gs://b-{region}-{region.__class__}", "gs://b-{region}-{region[0]}", "gs://b-{region!r}"],
)
def test_bucket_template_allows_only_the_bare_region_field(template):
    # str.format would evaluate attribute and index lookups on the region string.
    with pytest.raises(ValueError, match=r"may only contain the \{region\} placeholder"):
        validate_bucket_template(template)
