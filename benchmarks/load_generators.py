"""The clients of benchmarks/serving_latency.py: ghz (gRPC) and hey (HTTP), two widely used native
load generators, built once with Go into .cache/loadgen.

Why not Python clients: clients and server share this machine's cores, and a Python client spends
0.3-0.45 ms of CPU per request, about what the server's whole transport costs, so with Python
clients the benchmark measured its clients as much as the server. ghz spends ~0.14 ms and hey
~0.04 ms per request (measured with psutil under 16 clients), so the server gets the cores.
Each call runs `clients` concurrent connections, each sending `requests_each` requests back to back.
"""
import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
from typing import Dict, List, Sequence, Tuple

from google.protobuf import descriptor_pb2
from tensorflow_serving.apis import prediction_service_pb2

from serving import client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".cache", "loadgen")
TOOLS = {"ghz": "github.com/bojand/ghz/cmd/ghz@v0.120.0", "hey": "github.com/rakyll/hey@v0.1.4"}
PREDICT = "tensorflow.serving.PredictionService/Predict"

Block = Tuple[List[float], float, int]  # latencies (ms), wall seconds, failed requests


def tool(name: str) -> str:
    """The path of `name` (ghz or hey), built with `go install` on first use."""
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        go = shutil.which("go")
        if go is None:
            raise SystemExit(f"benchmarks.serving_latency builds its load generator {name} with Go: "
                             "install Go (https://go.dev/dl/, or Debian's golang package) and rerun")
        print(f"Building {name} ({TOOLS[name]}) into {BIN} ...", flush=True)
        subprocess.run([go, "install", TOOLS[name]], check=True,
                       env={**os.environ, "GOBIN": BIN, "GOFLAGS": "-mod=mod"})
    return path


def _protoset(path: str) -> None:
    """PredictionService and every proto it imports, as the FileDescriptorSet ghz reads."""
    files, seen = descriptor_pb2.FileDescriptorSet(), set()

    def add(file_descriptor) -> None:
        if file_descriptor.name in seen:
            return
        seen.add(file_descriptor.name)
        for dependency in file_descriptor.dependencies:
            add(dependency)
        file_descriptor.CopyToProto(files.file.add())

    add(prediction_service_pb2.DESCRIPTOR)
    with open(path, "wb") as f:
        f.write(files.SerializeToString())


class LoadGenerator:
    """Sends Predict requests of serialized examples to one server, over gRPC or REST."""

    def __init__(self, transport: str, address: str, model: str):
        """`address`: host:port for gRPC, the base URL for REST."""
        self._transport, self._address, self._model = transport, address, model
        self._scratch = tempfile.mkdtemp(prefix="loadgen-")
        self._bodies: Dict[int, str] = {}
        self._binary = tool("ghz" if transport == "gRPC" else "hey")
        if transport == "gRPC":
            _protoset(os.path.join(self._scratch, "predict.protoset"))

    def _body(self, batch: Sequence[bytes]) -> str:
        """The request for `batch` as a file: a serialized PredictRequest, or TF Serving's JSON."""
        if len(batch) not in self._bodies:
            path = os.path.join(self._scratch, f"request-{len(batch)}")
            if self._transport == "gRPC":
                payload = client.grpc_predict_request(self._model, batch).SerializeToString()
            else:
                payload = json.dumps(client.rest_predict_body(batch)).encode()
            with open(path, "wb") as f:
                f.write(payload)
            self._bodies[len(batch)] = path
        return self._bodies[len(batch)]

    def block(self, batch: Sequence[bytes], clients: int, requests_each: int) -> Block:
        send = self._ghz if self._transport == "gRPC" else self._hey
        return send(self._body(batch), clients, clients * requests_each)

    def _ghz(self, body: str, clients: int, total: int) -> Block:
        output = subprocess.run(
            [self._binary, "--insecure", "--protoset", os.path.join(self._scratch, "predict.protoset"),
             "--call", PREDICT, "--binary-file", body, "--concurrency", str(clients),
             "--connections", str(clients), "--total", str(total), "--timeout", "60s",
             "--format", "json", self._address],
            check=True, capture_output=True, text=True).stdout
        report = json.loads(output)
        latencies = [d["latency"] / 1e6 for d in report["details"] if d["status"] == "OK"]
        return latencies, report["total"] / 1e9, total - len(latencies)

    def _hey(self, body: str, clients: int, total: int) -> Block:
        output = subprocess.run(
            [self._binary, "-n", str(total), "-c", str(clients), "-m", "POST", "-t", "60",
             "-T", "application/json", "-D", body, "-o", "csv",
             f"{self._address}/v1/models/{self._model}:predict"],
            check=True, capture_output=True, text=True).stdout
        rows = list(csv.DictReader(io.StringIO(output)))
        answered = [row for row in rows if row["status-code"] == "200"]
        wall = max(float(row["offset"]) + float(row["response-time"]) for row in rows) if rows else 0.0
        return [float(row["response-time"]) * 1000 for row in answered], wall, total - len(answered)
