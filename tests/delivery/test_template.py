import re

import pytest

from carbon_aware.delivery.template import (
    coerce_value,
    effective_parameters,
    load_template,
    parse_param_assignments,
    resolve_parameters,
    template_inputs,
)


def test_declared_inputs_come_from_the_compiled_yaml(compiled_template):
    inputs = template_inputs(load_template(compiled_template))
    assert inputs["candidate_regions"].parameter_type == "LIST"
    assert inputs["epochs"].parameter_type == "NUMBER_INTEGER"
    assert inputs["min_quality"].parameter_type == "NUMBER_DOUBLE"
    assert inputs["backend"].default == "vertex"


def test_cli_strings_are_coerced_to_declared_types(compiled_template):
    inputs = template_inputs(load_template(compiled_template))
    values = resolve_parameters(
        inputs,
        parse_param_assignments(
            ["candidate_regions=europe-west1, us-east4", "epochs=3", "min_quality=0.5"]
        ),
    )
    assert values == {
        "candidate_regions": ["europe-west1", "us-east4"],
        "epochs": 3,
        "min_quality": 0.5,
    }
    assert resolve_parameters(inputs, {"candidate_regions": '["a","b"]'}) == {
        "candidate_regions": ["a", "b"]
    }


def test_integer_defaults_stay_integers(compiled_template):
    values = effective_parameters(template_inputs(load_template(compiled_template)), {})
    assert values["epochs"] == 20 and isinstance(values["epochs"], int)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("epochs=three", "parameter epochs expects integer, got 'three'"),
        ("epochs=2.5", "parameter epochs expects integer"),
        ("min_quality=high", "parameter min_quality expects number"),
        ("candidate_regions=[1,", "parameter candidate_regions expects list"),
    ],
)
def test_wrong_types_name_the_parameter_and_type(compiled_template, assignment, message):
    inputs = template_inputs(load_template(compiled_template))
    with pytest.raises(ValueError, match=re.escape(message)):
        resolve_parameters(inputs, parse_param_assignments([assignment]))


def test_unknown_parameter_lists_the_declared_ones(compiled_template):
    inputs = template_inputs(load_template(compiled_template))
    with pytest.raises(
        ValueError, match=r"unknown pipeline parameter.*epoch; the template declares"
    ):
        resolve_parameters(inputs, {"epoch": "3"})


@pytest.mark.parametrize("bad", [["noequals"], ["=x"], ["a=1", "a=2"]])
def test_malformed_assignments(bad):
    with pytest.raises(ValueError, match="--param"):
        parse_param_assignments(bad)


def test_not_a_pipeline(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\n")
    with pytest.raises(ValueError, match="not a compiled KFP pipeline"):
        load_template(path)


def test_boolean_coercion():
    from carbon_aware.delivery.template import TemplateInput

    flag = TemplateInput("flag", "BOOLEAN", False, True, "")
    assert coerce_value(flag, "true") is True
    with pytest.raises(ValueError, match="expects boolean"):
        coerce_value(flag, "yes")
