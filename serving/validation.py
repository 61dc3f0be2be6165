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


def _check_answers(probabilities: np.ndarray, count: int, transport: str) -> Optional[str]:
    if probabilities.shape != (count, 1):
        return f"{transport} predict returned shape {probabilities.shape}, expected ({count}, 1)"
    if not np.all(np.isfinite(probabilities)) or np.any((probabilities < 0) | (probabilities > 1)):
        return f"{transport} predict returned values outside [0, 1]: {probabilities[:, 0].tolist()}"
    return None


def _query(server: process.ServerProcess, model_name: str, serialized: Sequence[bytes]
           ) -> Optional[str]:
    grpc_client = client.GrpcClient(server.grpc_target, model_name, timeout=60)
    rest_client = client.RestClient(server.rest_url, model_name, timeout=60)
    try:
        status = grpc_client.status().model_version_status
        if not status or status[0].state != status[0].AVAILABLE:
            errors = "; ".join(s.status.error_message for s in status if s.status.error_message)
            return f"the model did not load: {errors or 'no version became available'}"
        by_grpc = grpc_client.predict(serialized)
        problem = _check_answers(by_grpc, len(serialized), "gRPC")
        if problem:
            return problem
        by_rest = rest_client.predict(serialized)
        problem = _check_answers(by_rest, len(serialized), "REST")
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
                   timeout_seconds: float = 180.0) -> Optional[str]:
    """None when the model loads in a model server and answers `serialized` examples over gRPC and
    REST with probabilities; else what went wrong."""
    with tempfile.TemporaryDirectory(prefix="infra-validation-") as scratch:
        model_base = os.path.join(scratch, model_name)
        shutil.copytree(saved_model_dir, os.path.join(model_base, str(VERSION)))
        args = ["--serving-dir", scratch, "--model-name", model_name, "--settle-seconds", "0"]
        try:
            with process.running(args, timeout=timeout_seconds) as server:
                return _query(server, model_name, serialized)
        except process.ServerNotReady as error:
            return str(error)
