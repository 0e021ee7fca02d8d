import pytest

from carbon_aware.parameters import ParameterError, validate_run_parameters

GOOD = {
    "candidate_regions": ["europe-west1", "us-central1"],
    "baseline_region": "us-central1",
    "backend": "local",
    "intensity_provider": "static",
    "epochs": 5,
    "min_quality": 0.8,
    "pue": 0.0,
    "machine_type": "n1-standard-4",
    "accelerator_type": "",
    "accelerator_count": 0,
    "label_column": "target",
}


def test_good_parameters_pass():
    validate_run_parameters(GOOD)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"candidate_regions": ["europe-west1", "mars-north1"]}, "mars-north1"),
        ({"candidate_regions": "europe-west1"}, "must be a list of GCP region names"),
        ({"baseline_region": "us-centrl1"}, "us-centrl1"),
        ({"backend": "kubernetes"}, "backend 'kubernetes' is not allowed; allowed: local, vertex"),
        ({"intensity_provider": "nope"}, "intensity_provider 'nope' is not allowed"),
        ({"epochs": 0}, "epochs must be an integer from 1 to 1000, got 0"),
        ({"min_quality": "high"}, "min_quality must be a number"),
        ({"pue": 0.5}, "pue must be 0"),
        ({"label_column": " "}, "label_column"),
        ({"accelerator_type": "TPU_V9", "accelerator_count": 1}, "TPU_V9"),
        ({"backend": "vertex", "project": ""}, "project is empty"),
        ({"residency": "gdpr"}, "residency 'gdpr' is not allowed; allowed: empty"),
        ({"intensity_provider": "csv"}, "intensity_provider 'csv' needs intensity_csv"),
        ({"dedupe": "key:"}, "dedupe 'key:' is not allowed; allowed: none, exact, key:COLUMN"),
        ({"functional_unit": "per_epoch"}, "functional_unit 'per_epoch' is not allowed"),
        ({"predictions_served": 0}, "predictions_served must be a positive integer"),
        ({"carbon_footprint_table": "x; DROP TABLE y"}, "is not a BigQuery table name"),
        ({"max_carbon_intensity": -5}, "max_carbon_intensity must be 0"),
        ({"planned_start_utc": "tomorrow"}, "planned_start_utc 'tomorrow' must be empty or ISO"),
        ({"planned_start_utc": "2030-01-01T02:00"}, "planned_start_utc .* UTC offset"),
        ({"planned_carbon_intensity": -1.0}, "planned_carbon_intensity must be 0 \\(no plan\\)"),
        (
            {"backend": "vertex", "project": "p", "regional_bucket_template": "gs://b"},
            "no {region} placeholder",
        ),
    ],
)
def test_bad_values_are_named_with_what_is_allowed(override, message):
    with pytest.raises(ParameterError, match=message):
        validate_run_parameters({**GOOD, **override})


def test_unknown_region_error_lists_valid_regions():
    with pytest.raises(ParameterError) as err:
        validate_run_parameters({"candidate_regions": ["europe-west99"]})
    assert "europe-west1" in str(err.value) and "us-central1" in str(err.value)


def test_vertex_backend_with_project_and_template_passes():
    validate_run_parameters(
        {**GOOD, "backend": "vertex", "project": "p", "regional_bucket_template": "gs://p-{region}"}
    )


# Issue 15: refused up front, naming the parameter, instead of failing a later step.
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"seed": -1}, r"seed must be an integer from 0 to 4294967295, got -1"),
        (
            {"machine_type": "n9-giant-4"},
            r"machine_type 'n9-giant-4' is not a machine type Vertex AI .*families: n1, e2",
        ),
        (
            {"candidate_regions": ["europe-west1", "europe-west99"]},
            r"^candidate_regions: unknown region 'europe-west99'",
        ),
        ({"candidate_regions": ["europe-west1", " "]}, r"^candidate_regions: blank region id"),
        ({"baseline_region": "us-centrl1"}, r"^baseline_region: unknown region 'us-centrl1'"),
        ({"baseline_region": " "}, r"^baseline_region must be one GCP region id, got ' '"),
        (
            {"candidate_regions": ["us-central1", "us-east4"], "residency": "eu"},
            r"residency='eu' excluded us-central1, us-east4",
        ),
        (
            {
                "candidate_regions": ["europe-north1"],
                "machine_type": "a3-highgpu-1g",
                "accelerator_type": "NVIDIA_H100_80GB",
                "accelerator_count": 1,
            },
            r"accelerator='1 x NVIDIA_H100_80GB' excluded europe-north1",
        ),
    ],
)
def test_values_refused_before_any_fetch_name_their_parameter(override, message):
    with pytest.raises(ParameterError, match=message):
        validate_run_parameters({**GOOD, **override})
