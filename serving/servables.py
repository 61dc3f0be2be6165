"""Model versions under a TF Serving model base path, loaded, swapped and retired as TF Serving does.

- Only integer-named folders are versions; the version policy (latest N / all / specific) picks the
  ones to serve, as in `models.config`.
- A version is loaded only once it looks complete: `saved_model.pb` is present and the folder's
  listing (names, sizes, modification times) has not changed for `settle_seconds`. A folder still
  being copied is never loaded half-way.
- A new version is served only after it has loaded and replayed its warmup requests; a version that
  leaves the policy is retired only once some wanted version is available (TF Serving's
  availability-preserving policy), so swaps never leave a gap. A version that fails to load is
  reported with its error and retried only when its files change.
"""
import dataclasses
import logging
import os
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple

import grpc
import tensorflow as tf
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.config import model_server_config_pb2

from serving import deploy
from serving.loaded_version import LoadedVersion, ServingError

State = get_model_status_pb2.ModelVersionStatus.State


@dataclasses.dataclass
class VersionState:
    state: int
    error: str = ""


def _listing(path: str) -> Tuple:
    """Names, sizes and modification times of every file below `path`: changes while a copy runs."""
    entries = []
    for root, _, files in tf.io.gfile.walk(path):
        for name in files:
            stat = tf.io.gfile.stat(os.path.join(root, name))
            entries.append((os.path.relpath(os.path.join(root, name), path), stat.length,
                            stat.mtime_nsec))
    return tuple(sorted(entries))


class ModelVersions:
    """The versions of one model (one `ModelConfig` of models.config)."""

    def __init__(self, config: model_server_config_pb2.ModelConfig,
                 on_loaded: Callable[[LoadedVersion], int] = lambda loaded: 0,
                 settle_seconds: float = 1.0, announce: Callable[[str], None] = logging.info):
        self.config = config
        self.name = config.name
        self._on_loaded = on_loaded  # warmup replay (returns the request count): before serving
        self._announce = announce
        self._settle_seconds = settle_seconds
        self._available: Dict[int, LoadedVersion] = {}  # replaced as a whole: readers never lock
        self._states: Dict[int, VersionState] = {}
        self._seen: Dict[int, Tuple[Tuple, float]] = {}  # version -> (listing, first seen unchanged)
        self._failed_listing: Dict[int, Tuple] = {}
        self._lock = threading.Lock()  # one poll at a time

    def _on_disk(self) -> List[int]:
        base = self.config.base_path
        if not tf.io.gfile.isdir(base):
            return []
        return sorted(int(n.rstrip("/")) for n in tf.io.gfile.listdir(base) if n.rstrip("/").isdigit())

    def _wanted(self, on_disk: List[int]) -> List[int]:
        policy = self.config.model_version_policy
        kind = policy.WhichOneof("policy_choice")
        if kind == "all":
            return on_disk
        if kind == "specific":
            return [v for v in on_disk if v in set(policy.specific.versions)]
        return on_disk[-max(1, policy.latest.num_versions):]

    def _settled(self, version: int, now: float) -> bool:
        path = os.path.join(self.config.base_path, str(version))
        if not tf.io.gfile.exists(os.path.join(path, "saved_model.pb")):
            self._seen.pop(version, None)
            return False
        try:
            listing = _listing(path)
        except tf.errors.NotFoundError:  # a file renamed away while listed: a copy is running
            self._seen.pop(version, None)
            return False
        seen = self._seen.get(version)
        if seen is None or seen[0] != listing:  # new, or still being written
            self._seen[version] = (listing, now)
            return False
        if self._failed_listing.get(version) == listing:
            return False  # failed to load as it is: retried only once its files change
        return now - seen[1] >= self._settle_seconds

    def poll(self) -> bool:
        """One pass of TF Serving's file system poll: load wanted versions, then retire others.
        True when a version was loaded, retired or failed to load."""
        with self._lock:
            before = dict(self._states)
            now = time.monotonic()
            wanted = self._wanted(self._on_disk())
            for version in wanted:
                if version not in self._available and self._settled(version, now):
                    self._load(version)
            if any(v in self._available for v in wanted):
                for version in [v for v in self._available if v not in wanted]:
                    self._retire(version)
            return self._states != before

    def available_versions(self) -> List[int]:
        return sorted(self._available)

    def unavailable(self) -> Optional[str]:
        """Why no version is served although one was tried (each failed to load), as TF Serving
        says it when a model does not become available at start-up; None when one is served or
        none was found (an empty folder waits for its first version)."""
        if self._available:
            return None
        failed = {v: s.error for v, s in self._states.items() if s.error}
        return ", ".join(f"{{name: {self.name} version: {v}}} due to error: {error}"
                         for v, error in sorted(failed.items())) or None

    def announce_if_empty(self) -> None:
        """Says so when no version is served (after start-up's polls, as TF Serving logs it), so a
        wrong --serving-dir or --model-name shows at start, not as 404s later."""
        if not self._available:
            base = self.config.base_path
            missing = "" if tf.io.gfile.isdir(base) else (
                f"; there is no folder {base}" + ("" if "://" in base else " on this machine") + (
                    f" ({deploy.CONTAINER_MODELS}/ is where `tfxpipe deploy-config` mounts the models in TF "
                    "Serving's container: here, give base_path the pushed folder, or serve without "
                    "--model-config-file)" if base.startswith(deploy.CONTAINER_MODELS + "/") else ""))
            self._announce(f"model {self.name}: no version available under {base} "
                           f"(a folder per version, named by an integer, holding saved_model.pb){missing}; "
                           "it is served once one loads")

    def _load(self, version: int) -> None:
        path = os.path.join(self.config.base_path, str(version))
        self._states[version] = VersionState(State.LOADING)
        try:
            loaded = LoadedVersion(version, path)
            warmed = self._on_loaded(loaded)
        except Exception as error:  # pylint: disable=broad-except  (any load failure is reported)
            message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            self._announce(f"model {self.name} version {version} failed to load: {message}")
            self._states[version] = VersionState(State.END, message)
            self._failed_listing[version] = self._seen[version][0]
            return
        self._failed_listing.pop(version, None)
        self._available = {**self._available, version: loaded}
        self._states[version] = VersionState(State.AVAILABLE)
        self._announce(f"model {self.name} version {version} available "
                       f"({warmed} warmup requests replayed)")

    def _retire(self, version: int) -> None:
        self._states[version] = VersionState(State.UNLOADING)
        self._available = {v: m for v, m in self._available.items() if v != version}
        self._states[version] = VersionState(State.END)  # in-flight requests keep their reference
        self._announce(f"model {self.name} version {version} retired")

    def resolve(self, version: Optional[int] = None, label: str = "") -> LoadedVersion:
        """The version a request names (by number or label), else the newest available one."""
        available = self._available
        if label:
            labels = self.config.version_labels
            if label not in labels:
                raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                                   f"Unrecognized servable version label: {label}")
            version = labels[label]
        if version is None:
            if not available:
                raise ServingError(grpc.StatusCode.NOT_FOUND,
                                   f"Servable not found for request: Latest({self.name})")
            return available[max(available)]
        if version not in available:
            raise ServingError(grpc.StatusCode.NOT_FOUND,
                               f"Servable not found for request: Specific({self.name}, {version})")
        return available[version]

    def states(self, version: Optional[int] = None) -> Dict[int, VersionState]:
        states = dict(self._states)
        if version is None:
            if not states:
                raise ServingError(grpc.StatusCode.NOT_FOUND,
                                   f"Could not find any versions of model {self.name}")
            return states
        if version not in states:
            raise ServingError(grpc.StatusCode.NOT_FOUND,
                               f"Could not find version {version} of model {self.name}")
        return {version: states[version]}


def single_model_config(name: str, base_path: str) -> model_server_config_pb2.ModelServerConfig:
    """What TF Serving's --model_name/--model_base_path mean: one model, latest version."""
    config = model_server_config_pb2.ModelServerConfig()
    entry = config.model_config_list.config.add(name=name, base_path=os.path.abspath(base_path)
                                                 if "://" not in base_path else base_path)
    entry.model_platform = "tensorflow"
    return config
