"""Deployment artefacts for the real TensorFlow Serving on the pushed model directory.

`models.config` is built with TF Serving's own `ModelServerConfig` proto (tensorflow-serving-api).
The monitoring and batching configs are written as text: their protos are not part of
tensorflow-serving-api, and both are a handful of documented fields. The compose file and the
Kubernetes manifest run the official `tensorflow/serving` image (gRPC 8500, REST 8501).
"""
import dataclasses
import os
import re
from typing import Dict, List, Optional, Sequence

import yaml
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2


SERVING_IMAGE = "tensorflow/serving:2.16.1"  # same minor version as the TF that trains the model
GRPC_PORT, REST_PORT = 8500, 8501
CONTAINER_MODELS = "/models"
PROMETHEUS_PATH = "/monitoring/prometheus/metrics"
POLICIES = ("latest", "all", "specific")


@dataclasses.dataclass(frozen=True)
class DeploySettings:
    model_name: str
    serving_dir: str  # host folder holding <model name>/<version>/
    policy: str = "latest"
    versions: Sequence[int] = ()  # for policy "specific"
    labels: Optional[Dict[str, int]] = None  # e.g. {"stable": 1700000000, "canary": 1700000100}
    batching: bool = True


def model_server_config(settings: DeploySettings) -> model_server_config_pb2.ModelServerConfig:
    if settings.policy not in POLICIES:
        raise ValueError(f"version policy {settings.policy!r} is not one of {', '.join(POLICIES)}")
    # pylint: disable=import-outside-toplevel  (tfx's file I/O loads TensorFlow: not for every command)
    from serving import model_dir

    if settings.versions and settings.policy != "specific":
        raise ValueError(f"--version names versions to serve, which only policy 'specific' does "
                         f"(policy {settings.policy!r} chooses its own): add --policy specific")
    available = set(model_dir.versions(os.path.join(settings.serving_dir, settings.model_name)))
    if not available:  # TF Serving would start and serve nothing, its readiness probe never passing
        raise ValueError(f"no pushed version of model {settings.model_name!r} in {settings.serving_dir}: "
                         "run the pipeline first, or give --model-name / --serving-dir of a pushed model")
    wanted = set(settings.versions) | set((settings.labels or {}).values())
    missing = sorted(wanted - available)
    if missing:
        raise ValueError(f"version(s) {missing} of model {settings.model_name!r} are not in "
                         f"{settings.serving_dir} (available: {sorted(available) or 'none'})")
    if settings.policy == "latest" and settings.labels and set(settings.labels.values()) != {max(available)}:
        raise ValueError("policy 'latest' loads only the newest version, so labels can name only "
                         f"{max(available)}; use policy 'specific' (or 'all') for stable/canary")
    config = model_server_config_pb2.ModelServerConfig()
    model = config.model_config_list.config.add(
        name=settings.model_name,
        base_path=f"{CONTAINER_MODELS}/{settings.model_name}",
        model_platform="tensorflow",
    )
    policy = model.model_version_policy
    if settings.policy == "latest":
        policy.latest.num_versions = 1
    elif settings.policy == "all":
        policy.all.SetInParent()
    else:
        if not settings.versions:
            raise ValueError("version policy 'specific' needs at least one version")
        policy.specific.versions.extend(sorted(settings.versions))
    for label, version in sorted((settings.labels or {}).items()):
        model.version_labels[label] = version
    return config


def monitoring_config() -> str:
    return f'prometheus_config {{\n  enable: true\n  path: "{PROMETHEUS_PATH}"\n}}\n'


def batching_config() -> str:
    """TF Serving's starting point for batching on CPU (its batching guide, "CPU-only: One
    Approach"): no timeout, so requests merge while the batch threads are busy and a lone request
    waits for nothing; one batch thread per core of the serving host."""
    return ("# TF Serving batching parameters (text format), written by `tfxpipe deploy-config`.\n"
            "# num_batch_threads: one per CPU core of the serving host. A batch_timeout_micros of\n"
            "# 1000-10000 can make batches larger; every lone request then waits that long.\n"
            "max_batch_size { value: 1024 }\nbatch_timeout_micros { value: 0 }\n"
            "max_enqueued_batches { value: 100 }\nnum_batch_threads { value: 4 }\n")


def server_args(settings: DeploySettings) -> List[str]:
    args = [f"--port={GRPC_PORT}", f"--rest_api_port={REST_PORT}",
            f"--model_config_file={CONTAINER_MODELS}/models.config",
            "--model_config_file_poll_wait_seconds=60",
            f"--monitoring_config_file={CONTAINER_MODELS}/monitoring.config"]
    if settings.batching:
        args += ["--enable_batching", f"--batching_parameters_file={CONTAINER_MODELS}/batching.config"]
    if settings.labels:  # at start-up no version is loaded yet: without it, TF Serving refuses to start
        args.append("--allow_version_labels_for_unavailable_models=true")  # (server_core.cc, FAILED_PRECONDITION)
    return args


def compose_file(settings: DeploySettings) -> dict:
    return {"services": {"tf-serving": {
        "image": SERVING_IMAGE,
        "ports": [f"{GRPC_PORT}:{GRPC_PORT}", f"{REST_PORT}:{REST_PORT}"],
        "volumes": [f"{os.path.abspath(settings.serving_dir)}:{CONTAINER_MODELS}:ro"],
        "command": server_args(settings),
        "restart": "unless-stopped",
    }}}


CLAIM = "tf-serving-models"


class _Plain(yaml.SafeDumper):
    """Each repeated mapping written out (the labels), not as a YAML anchor and alias."""

    def ignore_aliases(self, data):
        return True


def dashed(name: str) -> str:
    """`name` in lower case, each run of other characters than letters and digits one '-', none at
    either end (`Wine_Data` -> `wine-data`): what Kubernetes and Kubeflow take as names."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def kubernetes_name(model_name: str) -> str:
    """The Deployment's and Service's name, and their `app` label, for `model_name`: Kubernetes takes
    DNS-1035 labels there (lower-case letters, digits and '-', starting with a letter, 63 at most),
    so model `wine_data` is served by `tf-serving-wine-data`. TF Serving's model name stays as it is."""
    return f"tf-serving-{dashed(model_name)}"[:63].rstrip("-")


def kubernetes_manifest(settings: DeploySettings, claim: str = CLAIM) -> List[dict]:
    labels = {"app": kubernetes_name(settings.model_name)}
    container = {
        "name": "tf-serving", "image": SERVING_IMAGE, "args": server_args(settings),
        "ports": [{"name": "grpc", "containerPort": GRPC_PORT}, {"name": "rest", "containerPort": REST_PORT}],
        "volumeMounts": [{"name": "models", "mountPath": CONTAINER_MODELS, "readOnly": True}],
        "readinessProbe": {"httpGet": {"path": f"/v1/models/{settings.model_name}", "port": REST_PORT}},
    }
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": labels["app"], "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [container], "volumes": [
                {"name": "models", "persistentVolumeClaim": {"claimName": claim}}]},
        }},
    }
    service = {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": labels["app"], "labels": labels},
        "spec": {"selector": labels, "ports": [
            {"name": "grpc", "port": GRPC_PORT, "targetPort": GRPC_PORT},
            {"name": "rest", "port": REST_PORT, "targetPort": REST_PORT}]},
    }
    return [deployment, service]


def write_all(settings: DeploySettings, out_dir: str) -> Dict[str, str]:
    """Writes every artefact into `out_dir` (models.config etc. also belong in the serving dir,
    which the containers mount as /models) and returns name -> path."""
    os.makedirs(out_dir, exist_ok=True)
    contents = {
        "models.config": text_format.MessageToString(model_server_config(settings)),
        "monitoring.config": monitoring_config(),
        "docker-compose.yaml": yaml.safe_dump(compose_file(settings), sort_keys=False),
        "kubernetes.yaml": (
            f"# Mounts the PersistentVolumeClaim {CLAIM!r} (create it) at {CONTAINER_MODELS}: it must hold\n"
            f"# {settings.model_name}/<version>/ from {settings.serving_dir}, and beside it models.config,\n"
            f"# monitoring.config{', batching.config' if settings.batching else ''} (written with this file).\n"
            + yaml.dump_all(kubernetes_manifest(settings), Dumper=_Plain, sort_keys=False)),
    }
    if settings.batching:
        contents["batching.config"] = batching_config()
    paths = {}
    for name, text in contents.items():
        paths[name] = os.path.join(out_dir, name)
        with open(paths[name], "w", encoding="utf-8") as f:
            f.write(text)
    return paths
