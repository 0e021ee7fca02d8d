"""Shared fixtures: a compiled template, and an offline environment for every test."""

from __future__ import annotations

from pathlib import Path

import pytest

TEST_IMAGE = "europe-docker.pkg.dev/test-proj/carbon/carbon-aware:0123abc"


@pytest.fixture(scope="session")
def compiled_image() -> str:
    """The image the session's template is compiled with."""
    return TEST_IMAGE


@pytest.fixture(scope="session")
def compiled_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pipeline compiled by compile.py's code path, once per test session."""
    from carbon_aware.kfp.pipelines.compiler import compile_pipeline

    return compile_pipeline(TEST_IMAGE, tmp_path_factory.mktemp("build") / "pipeline.yaml")
