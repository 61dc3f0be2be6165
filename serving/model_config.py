"""A running server's models.config, changed as TF Serving's ServerCore::ReloadConfig changes it:
the file polled every `--model_config_file_poll_wait_seconds`, or a config sent with ModelService's
HandleReloadConfigRequest. What users change there is which versions to serve (policy) and which
version a label names (a canary promoted to `stable`); a restart would drop every loaded model.

In TF Serving's order: the config is validated, then every label is checked against the versions
being served now (a label must name one, unless `--allow_version_labels_for_unavailable_models`
and it is new or unchanged), and only then are models added (loaded before they are served),
removed, re-pointed at another base path or given another policy. A refused config changes nothing.
"""
import collections
import logging
import threading
from typing import Callable, List, Optional

import grpc
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from serving.loaded_version import ServingError
from serving.servables import ModelVersions

_FAILED = grpc.StatusCode.FAILED_PRECONDITION


def parse(text: bytes, path: str) -> model_server_config_pb2.ModelServerConfig:
    """`models.config` (ModelServerConfig text proto), as `tfxpipe deploy-config` writes it; a
    ValueError naming the file when it cannot be parsed."""
    try:
        return text_format.Parse(text.decode("utf-8"), model_server_config_pb2.ModelServerConfig())
    except (text_format.ParseError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None


def read(path: str) -> model_server_config_pb2.ModelServerConfig:
    """The file at `path` parsed (`parse`); a ValueError naming it when it cannot be read or holds
    no model."""
    try:
        with tf.io.gfile.GFile(path, "rb") as f:
            config = parse(f.read(), path)
    except tf.errors.OpError as error:
        raise ValueError(f"{path}: {error.message}") from None
    if not config.model_config_list.config:
        raise ValueError(f"{path}: no model_config_list entries")
    return config


def refused_labels(configs: List[model_server_config_pb2.ModelConfig], served: Callable[[str], List[int]],
                   labels_now: Callable[[str], dict], allow_unavailable: bool) -> List[str]:
    """TF Serving's refusal (UpdateModelVersionLabelMap) of each label naming a version not served
    now (`served(model name)`), unless allowed: the flag lets a label through that is new or names
    the version it named (`labels_now(model name)`)."""
    return [f"Request to assign label to version {version} of model {config.name}, which is not currently "
            "available for inference" for config in configs for label, version in config.version_labels.items()
            if version not in served(config.name)
            and not (allow_unavailable and labels_now(config.name).get(label, version) == version)]


class Reloader:
    """Applies a new ModelServerConfig to the server's models (its dict replaced as a whole, so a
    request never sees it half-changed), one config at a time. `load(model)`: a model's first
    polls (server.load_now), for one added, moved, or given another version policy."""

    def __init__(self, server, make_model: Callable[[model_server_config_pb2.ModelConfig], ModelVersions],
                 load: Callable[[ModelVersions], None], allow_unavailable_labels: bool):
        self._server, self._make_model, self._load = server, make_model, load
        self._allow_unavailable_labels = allow_unavailable_labels
        self._lock = threading.Lock()

    def served(self) -> List[str]:
        return sorted(self._server.models)

    def apply(self, config: model_server_config_pb2.ModelServerConfig) -> None:
        """ServingError (FAILED_PRECONDITION, INVALID_ARGUMENT) when refused: nothing changes."""
        kind = config.WhichOneof("config")
        if kind is None:
            return  # TF Serving: "Taking no action for empty config"
        if kind != "model_config_list":
            raise ServingError(_FAILED, "Cannot transition to requested config. It is only legal to transition "
                               "from one ModelConfigList to another.")
        entries = list(config.model_config_list.config)
        twice = [name for name, count in collections.Counter(e.name for e in entries).items() if count > 1]
        if twice:
            raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                               f"Illegal to list model {twice[0]} multiple times in config list")
        with self._lock:
            current = self._server.models

            def served(name: str) -> List[int]:
                return current[name].available_versions() if name in current else []

            def labels_now(name: str) -> dict:
                return dict(current[name].config.version_labels) if name in current else {}

            refused = refused_labels(entries, served, labels_now, self._allow_unavailable_labels)
            if refused:
                raise ServingError(_FAILED, "; ".join(refused))
            models, previous = {}, {name: model.config for name, model in current.items()}
            try:
                for entry in entries:
                    model = current.get(entry.name)
                    if model is None or model.config.base_path != entry.base_path:
                        model = self._make_model(entry)  # loaded before it is served
                        self._load(model)
                    else:
                        policy_changed = model.config.model_version_policy != entry.model_version_policy
                        model.config = entry
                        if policy_changed:
                            self._load(model)  # the versions it now wants
                    models[entry.name] = model
            except Exception:
                for name, model in current.items():
                    model.config = previous[name]
                raise
            self._server.models = models


class ConfigFile:
    """The `--model_config_file` a server polls: applied when its bytes change; a config that cannot
    be read or is refused is said once and tried again at each poll, as TF Serving re-applies its
    file each time (a label naming a version that loads a little later then takes effect)."""

    def __init__(self, path: str, reloader: Reloader, announce: Callable[[str], None]):
        self._path, self._reloader, self._announce = path, reloader, announce
        self._applied, self._said = self._bytes(), None

    def _bytes(self) -> Optional[bytes]:
        try:
            with tf.io.gfile.GFile(self._path, "rb") as f:
                return f.read()
        except tf.errors.OpError:
            return None

    def poll(self) -> None:
        text = self._bytes()
        if text is None or text == self._applied:
            return
        try:
            self._reloader.apply(parse(text, self._path))
        except (ValueError, ServingError) as error:
            if text != self._said:
                self._announce(f"model config {self._path} not applied, the one in force stays: "
                               f"{getattr(error, 'message', error)}")
                self._said = text
            return
        except Exception:  # pylint: disable=broad-except  (polling goes on, versions included)
            logging.exception("applying model config %s failed", self._path)
            return
        self._applied, self._said = text, None
        self._announce(f"model config {self._path} applied: serving {', '.join(self._reloader.served())}")
