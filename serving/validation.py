"""Is a SavedModel servable? Load it in a model server in a separate process and send it real requests.

TFX's InfraValidator does this with TF Serving in Docker or Kubernetes, neither of which exists on
every machine. Here the server is `tfxpipe serve` (same directory layout, warmup replay and APIs) in
a child process, so a model that crashes or hangs the loader cannot take the pipeline down with it.
"""
import os
import shutil
import tempfile
from typing import Optional, Sequence

import numpy as np
import urllib3

from serving import client, process

VERSION = 1


def check_answers(answers: np.ndarray, count: int, task: str, transport: str) -> Optional[str]:
    """What is wrong with a predict answer for `count` examples of a `task` model, or None:
    one row per example; finite; classification: probabilities (each row sums to 1 when there is
    one column per class)."""
    if answers.ndim != 2 or answers.shape[0] != count:
        return f"{transport} predict returned shape {answers.shape}, expected ({count}, k)"
    if not np.all(np.isfinite(answers)):
        return f"{transport} predict returned values that are not finite: {answers[:3].tolist()}"
    if task == "regression":
        return None
    if np.any((answers < 0) | (answers > 1)):
        return f"{transport} predict returned values outside [0, 1]: {answers[:3].tolist()}"
    if answers.shape[1] > 1 and not np.allclose(answers.sum(axis=1), 1.0, atol=1e-4):
        return f"{transport} predict returned class probabilities that do not sum to 1"
    return None


def _query(server: process.ServerProcess, model_name: str, serialized: Sequence[bytes], task: str
           ) -> Optional[str]:
    grpc_client = client.GrpcClient(server.grpc_target, model_name, timeout=60)
    rest_client = client.RestClient(server.rest_url, model_name, timeout=60)
    try:
        status = grpc_client.status().model_version_status
        if not status or status[0].state != status[0].AVAILABLE:
            errors = "; ".join(s.status.error_message for s in status if s.status.error_message)
            return f"the model did not load: {errors or 'no version became available'}"
        by_grpc = grpc_client.predict(serialized)
        problem = check_answers(by_grpc, len(serialized), task, "gRPC")
        if problem:
            return problem
        by_rest = rest_client.predict(serialized)
        problem = check_answers(by_rest, len(serialized), task, "REST")
        if problem is None and not np.allclose(by_grpc, by_rest, atol=1e-6):
            problem = "REST and gRPC answers differ"
        return problem
    except client.ServerError as error:
        return f"the server refused a request: {error}"
    except urllib3.exceptions.HTTPError as error:  # the server died or hung mid-request
        return f"the REST request failed: {type(error).__name__}: {error}"
    finally:
        grpc_client.close()
        rest_client.close()


def check_servable(saved_model_dir: str, model_name: str, serialized: Sequence[bytes],
                   task: str = "binary", timeout_seconds: float = 180.0) -> Optional[str]:
    """None when the model loads in a model server and answers `serialized` examples over gRPC and
    REST as a `task` model should; else what went wrong."""
    with tempfile.TemporaryDirectory(prefix="infra-validation-") as scratch:
        model_base = os.path.join(scratch, model_name)
        shutil.copytree(saved_model_dir, os.path.join(model_base, str(VERSION)))
        args = ["--serving-dir", scratch, "--model-name", model_name, "--settle-seconds", "0"]
        try:
            with process.running(args, timeout=timeout_seconds) as server:
                return _query(server, model_name, serialized, task)
        except process.ServerNotReady as error:  # a refusal: its versions failed to load
            return f"the model did not load: {error.refusal}" if error.refusal else str(error)
