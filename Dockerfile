# syntax=docker/dockerfile:1
#
# The project's images: every pipeline component AND the Vertex AI training job run on them.
#
#   docker build --build-arg TF_EXTRA=cpu -t REGION-docker.pkg.dev/PROJECT/REPO/carbon-aware:SHA .
#   docker build --target steps -t REGION-docker.pkg.dev/PROJECT/REPO/carbon-aware-steps:SHA .
#
# Two targets from one Dockerfile, one compiled template (compile.py --image IMG [--steps-image IMG2]):
# - the default (last) target has TensorFlow: the custom job's replicas (the `train` component wrapped by
#   create_custom_training_job_from_component reuses the component's container and command) and
#   `evaluate` (it runs the bundled model on its held-out split) need it;
# - `steps` has everything but TensorFlow, for the light steps that never import it (fetch-intensity,
#   plan-start, choose-region, defer-run, collect-training, report-footprint): what those steps pull is
#   measured in benchmarks/image_cost.py.
# Without --steps-image every step runs on the default image, as before.
#
# TF_EXTRA selects the pyproject extra: cpu (tensorflow-cpu) or gpu (tensorflow[and-cuda], for
# accelerator_type runs; the NVIDIA driver comes from the Vertex AI machine).
# The compiled pipeline names the images by the commit tag Cloud Build gives them, never :latest,
# and no component pip-installs anything when it starts (install_kfp_package=False).
#
# PYTHON_IMAGE is the only thing `make image` changes: image registries are not reachable there, so it
# builds the same Debian bookworm Python 3.11 base from Debian's packages (mmdebstrap) and passes it here.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# Dependencies first, as requirement lists read from pyproject.toml: the slow layers (~2 GB of wheels)
# depend only on those lists, so they are reused from the build cache whatever else changes (the sources,
# pyproject.toml's other tables).
FROM ${PYTHON_IMAGE} AS requirements
ARG TF_EXTRA=cpu
COPY pyproject.toml /src/
RUN python -c "import sys, tomllib; print(*tomllib.load(open(sys.argv[1], 'rb'))['project']['dependencies'], sep='\n')" /src/pyproject.toml > /requirements.txt \
 && python -c "import sys, tomllib; print(*tomllib.load(open(sys.argv[1], 'rb'))['project']['optional-dependencies'][sys.argv[2]], sep='\n')" /src/pyproject.toml "${TF_EXTRA}" > /requirements-extra.txt

FROM ${PYTHON_IMAGE} AS deps-steps
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=requirements /requirements.txt /tmp/
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

FROM deps-steps AS deps-full
COPY --from=requirements /requirements-extra.txt /tmp/
RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt -r /tmp/requirements-extra.txt

# This package: what pyproject.toml's package discovery and metadata need, nothing more (.dockerignore
# agrees). pip resolves the whole set again, so a dependency missing above fails here, not at run time.
FROM deps-steps AS build-steps
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY carbon_aware ./carbon_aware
COPY components ./components
COPY pipelines ./pipelines
COPY trainer ./trainer
RUN /opt/venv/bin/pip install --no-cache-dir . \
 && /opt/venv/bin/pip check

FROM deps-full AS build
ARG TF_EXTRA=cpu
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY carbon_aware ./carbon_aware
COPY components ./components
COPY pipelines ./pipelines
COPY trainer ./trainer
RUN /opt/venv/bin/pip install --no-cache-dir ".[${TF_EXTRA}]" \
 && /opt/venv/bin/pip check

# The light image: the runtime stage below without TensorFlow.
FROM ${PYTHON_IMAGE} AS steps
LABEL org.opencontainers.image.title="carbon-aware-vertex-steps" \
      org.opencontainers.image.description="Carbon-aware training on Vertex AI Pipelines: the steps without TensorFlow"
COPY --from=build-steps /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# Root, as in the default image below (the reasons are there).
USER root
WORKDIR /root
RUN python -c "import carbon_aware.kfp.components, carbon_aware.kfp.pipelines, kfp.dsl.executor_main" \
 && carbon-aware --help > /dev/null \
 && python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('tensorflow') is not None)" \
 && command -v sh date hostname > /dev/null
CMD ["carbon-aware", "--help"]

FROM ${PYTHON_IMAGE} AS runtime
ARG TF_EXTRA=cpu
LABEL org.opencontainers.image.title="carbon-aware-vertex" \
      org.opencontainers.image.description="Carbon-aware training on Vertex AI Pipelines (${TF_EXTRA})"
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# Root, as Google's own pipeline images run. On Vertex AI every step writes its executor output and its
# artifacts under /gcs (Cloud Storage FUSE), and the custom job writes its model and replica records there
# too; nothing promises that mount is writable by any other uid. A non-root user there is a known trap:
# - kubeflow/pipelines#5673: the KFP v2 launcher's /gcs/... paths "are not accessible by non-Root users by
#   default", so a component on a non-root image fails preparing its input/output artifacts;
# - kubeflow/pipelines#6530 fixed that only in the open-source backend, by mounting an emptyDir at /gcs that
#   every user can write: a backend-side fix that Vertex's own mount does not promise;
# - GoogleCloudPlatform/cloudml-hypertune#6 ("ROOT user required to report metrics"): Vertex AI training
#   writes to root-only paths (/var/hypertune), and users had to build a second image, as root, for their
#   Vertex AI Pipelines.
# tests/vertex/test_in_image_run.py runs every step in this image under a /gcs mount owned by root and not
# world-writable (the conservative reading of Vertex's mount): as root every step writes its outputs there;
# as uid 10001 (this image's user until now) the first step fails with "Permission denied" under /gcs.
USER root
WORKDIR /root
# Fail the build, not a pipeline run, if a package or entry point the pipeline calls is missing.
RUN python -c "import carbon_aware.kfp.components, carbon_aware.kfp.pipelines, carbon_aware.trainer.task, kfp.dsl.executor_main" \
 && carbon-aware --help > /dev/null \
 && python -m carbon_aware.trainer.task --help > /dev/null \
 && python3 -m carbon_aware.training.job --help > /dev/null \
 && command -v sh date hostname > /dev/null
CMD ["carbon-aware", "--help"]
