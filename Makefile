# Two commands on a fresh machine: `make run` and `make test`. Both create or reuse .venv/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
IMAGE ?= carbon-aware-vertex:local
ARGS ?=

.PHONY: run test lint typecheck unit compile bench clean

# pip's own output (and the build backend's warnings) goes to $(VENV)/install.log, not the console;
# on failure the log's tail is printed.
PIP := $(BIN)/python -m pip install --disable-pip-version-check --no-input
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the project and its dependencies into $(VENV)/ (log: $(VENV)/install.log)"
	@{ $(PIP) --upgrade pip && $(PIP) -e ".[cpu,dev]"; } > $(VENV)/install.log 2>&1 \
	  || { tail -n 25 $(VENV)/install.log; echo "install failed; full log: $(VENV)/install.log"; exit 1; }
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

## browser-deps: headless Chromium from Debian for tests/test_report_browser.py (skipped without it)
BROWSER_APT := chromium
.PHONY: browser-deps
browser-deps:
	apt-get install -y --no-install-recommends $(BROWSER_APT)
