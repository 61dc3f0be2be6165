"""Compile the pipeline for Kubeflow Pipelines v2 / Vertex AI Pipelines (a pipeline-spec JSON).

Works offline and without credentials: nothing is uploaded, and user code is referenced by dotted
names (`models.model.run_fn`), so TFX builds no wheel of it onto cloud storage at compile time; the
container image (see Dockerfile) has this package installed.
"""
import dataclasses
import os
import re
from typing import List, Optional, Tuple

from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

from pipeline import profiles
from pipeline.configs import IMAGE_PROJECT_ROOT, ConfigError, PipelineConfig, is_remote
from pipeline.pipeline import create_pipeline, is_one_file
from serving import deploy

# The pipeline names KFP v2 takes, as TFX checks them when compiling (kubeflow/v2/pipeline_builder.py).
PIPELINE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,127}")
IMAGE_LOCK = f"{IMAGE_PROJECT_ROOT}/requirements.lock"  # Dockerfile: WORKDIR /pipeline, COPY requirements.lock .
NAME_RULE = "Kubeflow takes lower-case letters, digits and '-', starting with a letter or digit, 128 at most"


def kubeflow_name(name: str) -> str:
    """`name` as Kubeflow takes it: lower case, each run of other characters one '-' (`wine_data`
    -> `wine-data`), cut to 128; '' where nothing is left."""
    return deploy.dashed(name)[:128].rstrip("-")


def with_kubeflow_name(config: PipelineConfig) -> Tuple[PipelineConfig, Optional[str]]:
    """`config` with a pipeline name Kubeflow takes, and a note when it was derived from the
    dataset's name (`init` names a dataset after its file: `wine_data`). A --pipeline-name Kubeflow
    refuses is a ConfigError that suggests a valid one: a name given is never changed unsaid."""
    name = config.pipeline_name or config.dataset().name
    if PIPELINE_NAME.fullmatch(name):
        return config, None
    valid = kubeflow_name(name)
    if config.pipeline_name or not valid:
        given = "--pipeline-name" if config.pipeline_name else "the dataset's name, the default pipeline name,"
        raise ConfigError(f"{given} {name!r} is not a valid Kubeflow pipeline name ({NAME_RULE}): "
                          f"give --pipeline-name {valid or 'my-pipeline'}")
    return dataclasses.replace(config, pipeline_name=valid), (
        f"pipeline name {valid!r}, from the dataset's name {name!r} ({NAME_RULE}); --pipeline-name sets another")


def local_settings(config: PipelineConfig) -> List[str]:
    """Settings of a resolved `config` that point at this machine: a pod sees such a path only where
    it is mounted (Vertex mounts Cloud Storage at /gcs/BUCKET), and a local Beam runner runs the
    data work inside one pod."""
    found = [f"{flag} {path} is a path on this machine: the cluster's pods see it only where it is "
             "mounted (Vertex: /gcs/BUCKET/...); give gs:// (or s3://, hdfs://) paths" for flag, path in (
        ("--work-dir", config.work_dir), ("--data", config.data_root),
        ("--serving-dir", config.serving_dir)) if not is_remote(path)]
    # A cluster folder is not listed from here: whether it holds span-N/ folders is for --spans to say.
    if is_remote(config.data_root) and config.spans is None and not is_one_file(config.data_root):
        found.append(f"--data {config.data_root} is read as one folder of CSV files, all of it every run: "
                     "if it holds span-N/ folders (a span per run), add --spans")
    if config.profile in profiles.LOCAL_PROFILES:
        found.append(f"Beam runs inside each component's pod (profile {config.profile}): name a "
                     "cluster profile (dataflow, flink, spark) for data beyond one machine")
    if config.profile == "flink":  # the defaults are `cluster up`'s, on the machine that runs it
        settings = {**dict(profiles.PROFILES["flink"].optional), **config.profile_settings}
        found += [f"Beam's {setting} {settings[setting]} is this machine's address: in a pod, localhost is the pod "
                  f"itself; give the address the pods reach (--profile-setting {setting}=HOST:PORT)"
                  for setting in ("flink_master", "job_endpoint", "worker_pool")
                  if profiles.is_loopback(settings[setting])]
    return found


def compile_pipeline(config: PipelineConfig, image: str, output: str) -> str:
    """Writes the pipeline spec of `config` for `image` to `output` and returns its path; ConfigError
    for local data that is not there, as `run` refuses it."""
    resolved = config.resolved()
    data_root = resolved.data_root
    if not is_remote(data_root) and not os.path.exists(data_root):
        raise ConfigError(f"data {data_root} does not exist: give a CSV file or a folder of CSV files "
                          "(--data, or `data` in the dataset's declaration)")
    output = os.path.abspath(output)
    if resolved.profile in profiles.LOCAL_PROFILES and profiles.REQUIREMENTS not in config.profile_settings:
        # the lock where the pods find it (Dockerfile), not where it is on this machine
        config = dataclasses.replace(config, profile_settings={
            **config.profile_settings, profiles.REQUIREMENTS: IMAGE_LOCK})
    config = dataclasses.replace(config, extra_beam_args=config.extra_beam_args + profiles.worker_image_args(
        resolved.profile, image, config.extra_beam_args))
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=os.path.dirname(output),
        output_filename=os.path.basename(output),
    )
    runner.run(create_pipeline(config, for_kubeflow=True), write_out=True)
    return output
