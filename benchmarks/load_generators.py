"""The clients of benchmarks/serving_latency.py: h2load (gRPC) and hey (REST), two widely used native
load generators.

Why not Python clients: clients and server share this machine's cores, and a Python client spends
0.3-0.45 ms of CPU per request, about what the server's whole transport costs, so with Python
clients the benchmark measured its clients as much as the server. A client library is no better:
ghz (grpc-go) spent ~0.14 ms per one-example Predict and ~0.3 ms per 100-example one. hey spends
~0.04 ms per request, h2load ~0.03 ms (measured with psutil and time(1) under 16 clients), so the
server gets the cores.

h2load (nghttp2's HTTP/2 load generator, Debian's nghttp2-client; `make bench-serving` installs it)
sends a pre-framed gRPC message as the body of each POST, which is all a unary gRPC call is. It reads
HTTP statuses, not gRPC's, which come in trailers, so a gRPC block's failures are counted by the
server itself: the requests its `:tensorflow:serving:request_count` did not count OK.
hey is built with Go into .cache/loadgen on first use.
Each call runs `clients` concurrent connections, each sending `requests_each` requests back to back.
"""
import csv
import io
import json
import os
import shutil
import struct
import subprocess
import tempfile
from typing import Dict, List, Sequence, Tuple

import requests
from prometheus_client.parser import text_string_to_metric_families

from serving import client, metrics, process

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".cache", "loadgen")
HEY = "github.com/rakyll/hey@v0.1.4"
PREDICT_PATH = "/tensorflow.serving.PredictionService/Predict"

Block = Tuple[List[float], float, int]  # latencies (ms), wall seconds, failed requests


def hey() -> str:
    """The path of hey, built with `go install` on first use."""
    path = os.path.join(BIN, "hey")
    if not os.path.exists(path):
        go = shutil.which("go")
        if go is None:
            raise SystemExit("benchmarks.serving_latency builds its REST load generator hey with Go: "
                             "install Go (https://go.dev/dl/, or Debian's golang package) and rerun")
        print(f"Building hey ({HEY}) into {BIN} ...", flush=True)
        subprocess.run([go, "install", HEY], check=True,
                       env={**os.environ, "GOBIN": BIN, "GOFLAGS": "-mod=mod"})
    return path


def h2load() -> str:
    path = shutil.which("h2load")
    if path is None:
        raise SystemExit("benchmarks.serving_latency sends gRPC load with h2load: install Debian's "
                         "nghttp2-client (`make bench-serving` does) and rerun")
    return path


class LoadGenerator:
    """Sends Predict requests of serialized examples to one server, over gRPC or REST."""

    def __init__(self, transport: str, server: process.ServerProcess, model: str):
        self._transport, self._server, self._model = transport, server, model
        self._scratch = tempfile.TemporaryDirectory(prefix="loadgen-")  # gone with this object
        self._bodies: Dict[int, str] = {}
        self._binary = h2load() if transport == "gRPC" else hey()

    def _body(self, batch: Sequence[bytes]) -> str:
        """The request for `batch` as a file: a gRPC message (a serialized PredictRequest behind
        gRPC's 5-byte frame header: not compressed, length), or TF Serving's JSON."""
        if len(batch) not in self._bodies:
            path = os.path.join(self._scratch.name, f"request-{len(batch)}")
            if self._transport == "gRPC":
                message = client.grpc_predict_request(self._model, batch).SerializeToString()
                payload = struct.pack(">BI", 0, len(message)) + message
            else:
                payload = json.dumps(client.rest_predict_body(batch)).encode()
            with open(path, "wb") as f:
                f.write(payload)
            self._bodies[len(batch)] = path
        return self._bodies[len(batch)]

    def block(self, batch: Sequence[bytes], clients: int, requests_each: int) -> Block:
        send = self._h2load if self._transport == "gRPC" else self._hey
        return send(self._body(batch), clients, clients * requests_each)

    def _h2load(self, body: str, clients: int, total: int) -> Block:
        log = os.path.join(self._scratch.name, "requests.tsv")
        if os.path.exists(log):
            os.remove(log)  # h2load appends to it
        answered_before = self._answered_ok()
        subprocess.run(
            [self._binary, "--requests", str(total), "--clients", str(clients),
             "--max-concurrent-streams", "1", "--data", body,
             "--header", "content-type: application/grpc", "--header", "te: trailers",
             "--log-file", log, f"http://{self._server.grpc_target}{PREDICT_PATH}"],
            check=True, capture_output=True)
        with open(log, encoding="utf-8") as f:  # start (us since the epoch), HTTP status, us taken
            rows = [(int(start), int(status), int(took))
                    for start, status, took, *_ in csv.reader(f, delimiter="\t")]
        answered = [row for row in rows if row[1] == 200]
        wall = (max(start + took for start, _, took in rows) - min(start for start, _, _ in rows)
                ) / 1e6 if rows else 0.0
        failed = total - (self._answered_ok() - answered_before)
        return [took / 1000 for _, _, took in answered], wall, failed

    def _answered_ok(self) -> int:
        """The requests for this model the server has answered OK so far, over any transport."""
        text = requests.get(f"{self._server.rest_url}{metrics.PATH}", timeout=30).text
        return int(sum(sample.value for family in text_string_to_metric_families(text)
                       if family.name == f"{metrics.PREFIX}request_count"
                       for sample in family.samples
                       if sample.labels == {"model_name": self._model, "status": "OK"}))

    def _hey(self, body: str, clients: int, total: int) -> Block:
        output = subprocess.run(
            [self._binary, "-n", str(total), "-c", str(clients), "-m", "POST", "-t", "60",
             "-T", "application/json", "-D", body, "-o", "csv",
             f"{self._server.rest_url}/v1/models/{self._model}:predict"],
            check=True, capture_output=True, text=True).stdout
        rows = list(csv.DictReader(io.StringIO(output)))
        answered = [row for row in rows if row["status-code"] == "200"]
        wall = max(float(row["offset"]) + float(row["response-time"]) for row in rows) if rows else 0.0
        return [float(row["response-time"]) * 1000 for row in answered], wall, total - len(answered)
