"""Is a SavedModel servable? Load it in a model server in a separate process and send it real requests.

TFX's InfraValidator does this with TF Serving in Docker or Kubernetes, neither of which exists on
every machine. Here the server is `tfxpipe serve` (same directory layout, warmup replay and APIs) in
a child process, so a model that crashes or hangs the loader cannot take the pipeline down with it.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Optional, Sequence

import numpy as np

from serving import client

VERSION = 1


def _wait_ready(process: subprocess.Popen, ready_file: str, deadline: float) -> Optional[dict]:
    while time.monotonic() < deadline:
        if os.path.exists(ready_file):
            with open(ready_file, encoding="utf-8") as f:
                return json.load(f)
        if process.poll() is not None:
            return None
        time.sleep(0.1)
    return None


def _check_answers(probabilities: np.ndarray, count: int, transport: str) -> Optional[str]:
    if probabilities.shape != (count, 1):
        return f"{transport} predict returned shape {probabilities.shape}, expected ({count}, 1)"
    if not np.all(np.isfinite(probabilities)) or np.any((probabilities < 0) | (probabilities > 1)):
        return f"{transport} predict returned values outside [0, 1]: {probabilities[:, 0].tolist()}"
    return None


def _query(ports: dict, model_name: str, serialized: Sequence[bytes]) -> Optional[str]:
    grpc_client = client.GrpcClient(f"127.0.0.1:{ports['grpc_port']}", model_name, timeout=60)
    rest_client = client.RestClient(f"http://127.0.0.1:{ports['rest_port']}", model_name, timeout=60)
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
    finally:
        grpc_client.close()
        rest_client.close()


def check_servable(saved_model_dir: str, model_name: str, serialized: Sequence[bytes],
                   timeout_seconds: float = 180.0) -> Optional[str]:
    """None when the model loads in a model server and answers `serialized` examples over gRPC and
    REST with probabilities; else what went wrong."""
    with tempfile.TemporaryDirectory(prefix="infra-validation-") as scratch:
        model_base = os.path.join(scratch, "models", model_name)
        os.makedirs(model_base)
        shutil.copytree(saved_model_dir, os.path.join(model_base, str(VERSION)))
        ready_file = os.path.join(scratch, "ready.json")
        log_path = os.path.join(scratch, "server.log")
        command = [sys.executable, "-m", "pipeline", "serve", "--serving-dir",
                   os.path.dirname(model_base), "--model-name", model_name, "--rest-port", "0",
                   "--grpc-port", "0", "--settle-seconds", "0", "--ready-file", ready_file]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            ports = _wait_ready(process, ready_file, time.monotonic() + timeout_seconds)
            if ports is None:
                with open(log_path, encoding="utf-8", errors="replace") as f:
                    tail = f.read()[-2000:]
                return f"the model server did not start within {timeout_seconds:.0f} s:\n{tail}"
            return _query(ports, model_name, serialized)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
