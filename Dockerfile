# Pipeline image for Kubeflow Pipelines v2 / Vertex AI (`tfxpipe compile --image ...`).
# Same Python and the same pinned lock as local runs, so a cluster run uses exactly the tested versions.
# Build elsewhere (no Docker engine is needed to compile the pipeline spec):
#   docker build -t REGISTRY/tfxpipe:TAG .
FROM python:3.10-slim

WORKDIR /pipeline
COPY requirements.lock .
RUN pip install --no-cache-dir "pip==24.3.1" "setuptools==75.6.0" "wheel==0.45.1" \
 && pip install --no-cache-dir -r requirements.lock

COPY setup.py pyproject.toml ./
COPY cli cli
COPY datasets datasets
COPY pipeline pipeline
COPY models models
COPY schema schema
COPY serving serving
RUN pip install --no-cache-dir --no-deps --no-build-isolation .

# The compiled spec starts TFX's own entry point in this image:
#   python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor ...
ENV TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=2
