"""Compile the pipeline for Kubeflow Pipelines v2 / Vertex AI Pipelines (a pipeline-spec JSON).

Works offline and without credentials: nothing is uploaded, and user code is referenced by dotted
names (`models.model.run_fn`), so TFX builds no wheel of it onto cloud storage at compile time; the
container image (see Dockerfile) has this package installed.
"""
import os

from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

from pipeline.configs import PipelineConfig
from pipeline.pipeline import create_pipeline


def compile_pipeline(config: PipelineConfig, image: str, output: str) -> str:
    """Writes the pipeline spec of `config` for `image` to `output` and returns its path."""
    output = os.path.abspath(output)
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=os.path.dirname(output),
        output_filename=os.path.basename(output),
    )
    runner.run(create_pipeline(config, for_kubeflow=True), write_out=True)
    return output
