# Two commands on a fresh machine: `make run` and `make test`. Both create or reuse .venv/.
# The images and the in-image Vertex run: `make image` and `make test-image` (root; podman from apt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
IMAGE ?= carbon-aware-vertex:local
ARGS ?=

.PHONY: run test lint typecheck unit compile bench clean image test-image

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

# -- the images, built with podman here (no Docker engine, no image registry) -------------------
# Only the base differs from `docker build` on a workstation or in Cloud Build: the same Debian
# bookworm Python 3.11 is made from Debian's packages (mmdebstrap) instead of pulled from Docker Hub.
# podman's settings for this kind of machine (runc, cgroupfs, no default ulimits): .ci/containers.conf.
LOCAL_IMAGE ?= localhost/carbon-aware-vertex:dev
LOCAL_STEPS_IMAGE ?= localhost/carbon-aware-vertex-steps:dev
BASE_IMAGE ?= localhost/carbon-aware-vertex-base:bookworm
TF_EXTRA ?= cpu
PODMAN := CONTAINERS_CONF=$(CURDIR)/.ci/containers.conf podman
# pip inside the build reaches the package registry as this machine's pip does: its network, its CA
# certificates and its pip.conf (podman passes the proxy variables on by itself).
BUILD_FLAGS := --network=host --volume=/etc/ssl/certs:/etc/ssl/certs:ro \
  $(if $(wildcard /etc/pip.conf),--volume=/etc/pip.conf:/etc/pip.conf:ro) \
  --build-arg PYTHON_IMAGE=$(BASE_IMAGE) --build-arg TF_EXTRA=$(TF_EXTRA)

## image: build LOCAL_IMAGE and LOCAL_STEPS_IMAGE with podman (installs podman, runc, mmdebstrap)
image:
	@command -v podman >/dev/null && command -v runc >/dev/null && command -v mmdebstrap >/dev/null \
	  || { echo "Installing podman, runc and mmdebstrap with apt-get"; apt-get update -q \
	       && DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc mmdebstrap uidmap; }
	@$(PODMAN) image exists $(BASE_IMAGE) || { \
	  echo "Making $(BASE_IMAGE) from Debian bookworm's packages (mmdebstrap)"; mkdir -p build \
	  && mmdebstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
	       bookworm build/base.tar \
	  && $(PODMAN) import build/base.tar $(BASE_IMAGE) && rm -f build/base.tar; }
	$(PODMAN) build $(BUILD_FLAGS) --tag $(LOCAL_IMAGE) .
	$(PODMAN) build $(BUILD_FLAGS) --target steps --tag $(LOCAL_STEPS_IMAGE) .

## test-image: `make image`, then the emulated Vertex run with every step inside those images
test-image: $(STAMP) image
	CARBON_AWARE_IN_IMAGE=1 CARBON_AWARE_TEST_IMAGE=$(LOCAL_IMAGE) \
	  CARBON_AWARE_TEST_STEPS_IMAGE=$(LOCAL_STEPS_IMAGE) CARBON_AWARE_TEST_BASE_IMAGE=$(BASE_IMAGE) \
	  $(BIN)/pytest -m image tests/vertex/test_in_image_run.py

## browser-deps: headless Chromium from Debian for tests/test_report_browser.py (skipped without it)
BROWSER_APT := chromium
.PHONY: browser-deps
browser-deps:
	@command -v chromium >/dev/null || { apt-get update -q \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(BROWSER_APT); }
