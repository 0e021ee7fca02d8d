# syntax=docker/dockerfile:1
#
# The project's image: every pipeline component AND the Vertex AI training job run on it.
#
# One image, not two: the training job is the `train` component wrapped by
# create_custom_training_job_from_component, which reuses the component's container (same image,
# same KFP executor command), so components and trainer must share it. `python -m carbon_aware.trainer.task`
# runs on it too, for a hand-made custom job.
#
#   docker build --build-arg TF_EXTRA=cpu -t REGION-docker.pkg.dev/PROJECT/REPO/carbon-aware:SHA .
#
# TF_EXTRA selects the pyproject extra: cpu (tensorflow-cpu) or gpu (tensorflow[and-cuda], for
# accelerator_type runs; the NVIDIA driver comes from the Vertex AI machine).
# The compiled pipeline names this image by the commit tag Cloud Build gives it, never :latest,
# and no component pip-installs anything when it starts (install_kfp_package=False).

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG TF_EXTRA=cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# What pyproject.toml's package discovery and metadata need, nothing more (.dockerignore agrees).
COPY pyproject.toml README.md LICENSE ./
COPY carbon_aware ./carbon_aware
COPY components ./components
COPY pipelines ./pipelines
COPY trainer ./trainer
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir ".[${TF_EXTRA}]"

FROM ${PYTHON_IMAGE}
ARG TF_EXTRA=cpu
LABEL org.opencontainers.image.title="carbon-aware-vertex" \
      org.opencontainers.image.description="Carbon-aware training on Vertex AI Pipelines (${TF_EXTRA})"
# Unprivileged user (numeric, so runAsNonRoot policies can verify it).
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin carbon
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001
WORKDIR /home/carbon
# Fail the build, not a pipeline run, if a package or entry point the pipeline calls is missing.
RUN python -c "import carbon_aware.kfp.components, carbon_aware.kfp.pipelines, carbon_aware.trainer.task, kfp.dsl.executor_main" \
 && carbon-aware --help > /dev/null \
 && python -m carbon_aware.trainer.task --help > /dev/null \
 && python3 -m carbon_aware.training.job --help > /dev/null \
 && command -v sh date hostname > /dev/null
CMD ["carbon-aware", "--help"]
