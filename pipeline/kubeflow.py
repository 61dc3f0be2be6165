"""Compile the pipeline for Kubeflow Pipelines v2 / Vertex AI Pipelines (a pipeline-spec JSON).

Works offline and without credentials: nothing is uploaded, and user code is referenced by dotted
names (`models.model.run_fn`), so TFX builds no wheel of it onto cloud storage at compile time; the
container image (see Dockerfile) has this package installed.
"""
import os
from typing import List

from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

from pipeline import profiles
from pipeline.configs import PipelineConfig, is_remote
from pipeline.pipeline import create_pipeline


def local_settings(config: PipelineConfig) -> List[str]:
    """Settings of a resolved `config` that point at this machine: a pod sees such a path only where
    it is mounted (Vertex mounts Cloud Storage at /gcs/BUCKET), and a local Beam runner runs the
    data work inside one pod."""
    found = [f"{flag} {path} is a path on this machine: the cluster's pods see it only where it is "
             "mounted (Vertex: /gcs/BUCKET/...); give gs:// (or s3://, hdfs://) paths" for flag, path in (
        ("--work-dir", config.work_dir), ("--data", config.data_root),
        ("--serving-dir", config.serving_dir)) if not is_remote(path)]
    if is_remote(config.data_root) and config.spans is None:  # a cluster path's folders are not listed here
        found.append(f"--data {config.data_root} is read as one folder of CSV files, all of it every run: "
                     "if it holds span-N/ folders (a span per run), add --spans")
    if config.profile in profiles.LOCAL_PROFILES:
        found.append(f"Beam runs inside each component's pod (profile {config.profile}): name a "
                     "cluster profile (dataflow, flink, spark) for data beyond one machine")
    return found


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
