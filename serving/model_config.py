"""A running server's models.config, changed as TF Serving changes it: the file polled every
`--model_config_file_poll_wait_seconds`, or a config sent with ModelService's
HandleReloadConfigRequest. What users change there is which versions to serve (policy) and which
version a label names (a canary promoted to `stable`); a restart would drop every loaded model.

As TF Serving's ServerCore does: a model added is loaded before the new config answers; one removed
stops being served; one whose base path changed is loaded from the new path. A label must name a
version being served (else the whole config is refused, FAILED_PRECONDITION, and the one in force
stays), unless `--allow_version_labels_for_unavailable_models`.
"""
import threading
from typing import Callable, List, Tuple

import grpc
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from serving.loaded_version import ServingError
from serving.servables import ModelVersions


def read(path: str) -> model_server_config_pb2.ModelServerConfig:
    """`models.config` (ModelServerConfig text proto), as `tfxpipe deploy-config` writes it; a
    ValueError naming the file when it cannot be read or parsed."""
    try:
        with tf.io.gfile.GFile(path) as f:
            config = text_format.Parse(f.read(), model_server_config_pb2.ModelServerConfig())
    except (tf.errors.OpError, text_format.ParseError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: {getattr(error, 'message', None) or error}") from None
    if not config.model_config_list.config:
        raise ValueError(f"{path}: no model_config_list entries")
    return config


def unavailable_labels(configured: List[Tuple[ModelVersions, model_server_config_pb2.ModelConfig]]) -> List[str]:
    """TF Serving's refusal of each label of a model's `config` naming a version it does not serve."""
    return [f"Request to assign label to version {version} of model {config.name}, which is not currently "
            "available for inference" for model, config in configured
            for version in config.version_labels.values() if version not in model.available_versions()]


class Reloader:
    """Applies a new ModelServerConfig to the server's models (its dict replaced as a whole, so a
    request never sees it half-changed), one config at a time. `load(model)`: a model's first
    polls (server.load_now), for one added, moved, or given another version policy."""

    def __init__(self, server, make_model: Callable[[model_server_config_pb2.ModelConfig], ModelVersions],
                 load: Callable[[ModelVersions], None], allow_unavailable_labels: bool):
        self._server, self._make_model, self._load = server, make_model, load
        self._allow_unavailable_labels = allow_unavailable_labels
        self._lock = threading.Lock()

    def apply(self, config: model_server_config_pb2.ModelServerConfig) -> None:
        """ServingError (INVALID_ARGUMENT, FAILED_PRECONDITION) when refused: the config in force stays."""
        if config.WhichOneof("config") != "model_config_list" or not config.model_config_list.config:
            raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                               "the new config must be a model_config_list naming at least one model")
        with self._lock:
            current, configured = self._server.models, []
            previous = {name: model.config for name, model in current.items()}
            for model_config in config.model_config_list.config:
                model = current.get(model_config.name)
                if model is None or model.config.base_path != model_config.base_path:
                    model = self._make_model(model_config)  # loaded before it is served
                    self._load(model)
                elif model.config.model_version_policy != model_config.model_version_policy:
                    model.config = model_config
                    self._load(model)  # the versions the new policy wants, before labels are checked
                configured.append((model, model_config))
            refused = [] if self._allow_unavailable_labels else unavailable_labels(configured)
            if refused:
                for name, model in current.items():  # a policy changed above: back as it was
                    model.config = previous[name]
                raise ServingError(grpc.StatusCode.FAILED_PRECONDITION, "; ".join(refused))
            for model, model_config in configured:
                model.config = model_config
            self._server.models = {model.name: model for model, _ in configured}
