"""Deployment artefacts for the real TensorFlow Serving on the pushed model directory.

`models.config` is built with TF Serving's own `ModelServerConfig` proto (tensorflow-serving-api).
The monitoring and batching configs are written as text: their protos are not part of
tensorflow-serving-api, and both are a handful of documented fields. The compose file and the
Kubernetes manifest run the official `tensorflow/serving` image (gRPC 8500, REST 8501).
"""
import dataclasses
import math
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
    if settings.policy == "specific" and not settings.versions:
        raise ValueError("version policy 'specific' needs at least one version")
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
        policy.specific.versions.extend(sorted(settings.versions))
    for label, version in sorted((settings.labels or {}).items()):
        model.version_labels[label] = version
    return config


def monitoring_config() -> str:
    return f'prometheus_config {{\n  enable: true\n  path: "{PROMETHEUS_PATH}"\n}}\n'


# batching.config's num_batch_threads: TF Serving's guide sets it to the serving host's CPU cores,
# which deploy-config cannot know (it runs elsewhere), so a fixed 4-core value the file says to change.
BATCH_THREADS = 4


def batching_config() -> str:
    """TF Serving's starting point for batching on CPU (its batching guide, "CPU-only: One
    Approach"): no timeout, so requests merge while the batch threads are busy and a lone request
    waits for nothing; one batch thread per core of the serving host (set for 4 cores: the file says so)."""
    return ("# TF Serving batching parameters (text format), written by `tfxpipe deploy-config`.\n"
            f"# num_batch_threads is {BATCH_THREADS}, for a {BATCH_THREADS}-core serving host, whichever machine\n"
            "# wrote this file: set it to the number of CPU cores of the host (or pod) running TF Serving.\n"
            "# A batch_timeout_micros of 1000-10000 can make batches larger; every lone request then\n"
            "# waits that long.\n"
            "max_batch_size { value: 1024 }\nbatch_timeout_micros { value: 0 }\n"
            f"max_enqueued_batches {{ value: 100 }}\nnum_batch_threads {{ value: {BATCH_THREADS} }}\n")


def served_versions(settings: DeploySettings) -> List[int]:
    """The versions TF Serving loads under `settings` (checked by model_server_config)."""
    from serving import model_dir  # pylint: disable=import-outside-toplevel

    available = model_dir.versions(os.path.join(settings.serving_dir, settings.model_name))
    if settings.policy == "specific":
        return sorted(settings.versions)
    return sorted(available) if settings.policy == "all" else sorted(available)[-1:]


def _served_bytes(settings: DeploySettings) -> int:
    """Size on disk of the versions TF Serving loads from a folder of this machine."""
    folders = [os.path.join(settings.serving_dir, settings.model_name, str(v)) for v in served_versions(settings)]
    return sum(os.path.getsize(os.path.join(parent, name))
               for folder in folders for parent, _, names in os.walk(folder) for name in names)


# The pod's memory: TF Serving's own (~200 MiB) plus twice the SavedModel versions it loads, as
# their variables are read into memory and, on a new push, the new version loads before the old one
# is unloaded. Where the folder is not on this machine (gs://...), a default to adjust.
MEMORY_BASE_MIB, DEFAULT_MEMORY_MIB = 256, 1024


def memory_request_mib(settings: DeploySettings) -> int:
    if "://" in settings.serving_dir:
        return DEFAULT_MEMORY_MIB
    return math.ceil((MEMORY_BASE_MIB + 2 * _served_bytes(settings) / 2**20) / 64) * 64  # rounded up to 64 MiB


def memory_note(settings: DeploySettings) -> str:
    """kubernetes.yaml's comment lines on its resources."""
    if "://" in settings.serving_dir:
        memory = f"requests {DEFAULT_MEMORY_MIB} MiB, a default (the model folder is not on this machine)"
    else:
        memory = (f"requests {memory_request_mib(settings)} MiB ({MEMORY_BASE_MIB} MiB for TF Serving, plus twice "
                  f"the {_served_bytes(settings) / 2**20:.1f} MiB\n# on disk of the version(s) it loads: a new version loads "
                  "before the old one is unloaded)")
    threads = (f"; batching.config's num_batch_threads is set for {BATCH_THREADS} cores"
               if settings.batching else "")
    return (f"# Memory: {memory}, limit twice that;\n# raise both if the pod is OOMKilled. CPU: 1 core "
            f"requested, no limit (it would throttle\n# TensorFlow's thread pools){threads}.\n")


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
    model_status = {"path": f"/v1/models/{settings.model_name}", "port": REST_PORT}
    memory = memory_request_mib(settings)
    container = {
        "name": "tf-serving", "image": SERVING_IMAGE, "args": server_args(settings),
        "ports": [{"name": "grpc", "containerPort": GRPC_PORT}, {"name": "rest", "containerPort": REST_PORT}],
        "volumeMounts": [{"name": "models", "mountPath": CONTAINER_MODELS, "readOnly": True}],
        # TF Serving opens its ports once the model has loaded: up to 5 minutes for that, then
        # ready while REST answers for the model, restarted when gRPC takes no connection.
        "startupProbe": {"httpGet": model_status, "initialDelaySeconds": 5, "periodSeconds": 5,
                         "failureThreshold": 60},
        "readinessProbe": {"httpGet": model_status, "periodSeconds": 10, "timeoutSeconds": 5,
                           "failureThreshold": 3},
        "livenessProbe": {"tcpSocket": {"port": GRPC_PORT}, "periodSeconds": 20, "timeoutSeconds": 5,
                          "failureThreshold": 3},
        # Memory: memory_request_mib (limit twice it). One core requested; no CPU limit, which would
        # throttle TF's thread pools (batching.config's num_batch_threads is set for 4 cores).
        "resources": {"requests": {"cpu": "1", "memory": f"{memory}Mi"},
                      "limits": {"memory": f"{2 * memory}Mi"}},
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
            + memory_note(settings)
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
