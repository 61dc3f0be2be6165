# Pipeline image for Kubeflow Pipelines v2 / Vertex AI (`tfxpipe compile --image ...`).
# Same Python and the same pinned lock as local runs, so a cluster run uses exactly the tested versions.
# Build elsewhere (no Docker engine is needed to compile the pipeline spec):
#   docker build -t REGISTRY/tfxpipe:TAG .
FROM python:3.10-slim

WORKDIR /pipeline
COPY requirements.lock .
# A few pinned packages publish no wheel (pyfarmhash, which TFDV needs, and crcmod are built from
# source, as bootstrap.sh builds them locally): a compiler for the install, removed after it.
RUN apt-get update && apt-get install -y --no-install-recommends g++ \
 && pip install --no-cache-dir "pip==24.3.1" "setuptools==75.6.0" "wheel==0.45.1" \
 && pip install --no-cache-dir -r requirements.lock \
 && apt-get purge -y --auto-remove g++ && rm -rf /var/lib/apt/lists/*

COPY setup.py pyproject.toml ./
COPY cli cli
COPY datasets datasets
COPY pipeline pipeline
COPY models models
COPY schema schema
COPY serving serving
RUN pip install --no-cache-dir --no-deps --no-build-isolation .

# The same image runs the Beam workers of a compiled `dataflow` (or `spark`) profile
# (pipeline/profiles.py: --sdk_container_image), which import TFX and this project's code: Beam's
# worker boot, from the SDK image of the Beam version and Python in the lock, is its entry point.
COPY --from=apache/beam_python3.10_sdk:2.59.0 /opt/apache/beam /opt/apache/beam
ENTRYPOINT ["/opt/apache/beam/boot"]

# The compiled spec's steps set their own command, TFX's entry point in this image:
#   python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor ...
ENV TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=2
