# Two commands on a fresh machine: `make run` and `make test`. Both create or reuse .venv/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
IMAGE ?= carbon-aware-vertex:local
ARGS ?=

.PHONY: run test lint typecheck unit compile bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[cpu,dev]"
	@touch $(STAMP)

## run: install, compile the pipeline and run it end to end with kfp.local (offline)
run: $(STAMP)
	$(BIN)/carbon-aware run-local $(ARGS)

## test: install, then ruff (lint + format), mypy and pytest
test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

## compile: write build/pipeline.yaml for IMAGE (an immutable tag)
compile: $(STAMP)
	$(BIN)/python compile.py --image $(IMAGE) --output build/pipeline.yaml

clean:
	rm -rf build local_outputs .pytest_cache .mypy_cache .ruff_cache
