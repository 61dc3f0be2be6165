"""Serving latency and throughput: `tfxpipe serve` over REST and gRPC vs the in-process call.

    .venv/bin/python -m benchmarks.serving_latency [--model-base serving/models/taxi] [--update-docs]

Serves the newest pushed version of the taxi model (with no pushed model, the pipeline first runs
into a scratch folder with 300 train steps), then for batches of 1 and 100 raw examples and 1 and 16
concurrent clients, measures each request's latency: the SavedModel's `serving_default` called in
this process (`tf.saved_model.load(...).signatures`) is the reference, measured in the same run,
taking turns with the transports in blocks of requests (see `measure`).
"in-process, Session" is the same signature run the way the server runs it (serving/servables.py),
shown for what the transport itself adds. Clients and server share this machine.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from typing import Callable, Dict, List, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_data_validation as tfdv

from benchmarks.compare_with_tfx_example import DOCS, RESULTS, machine
from benchmarks.measure import replace_between_markers
from models import dataset as dataset_module
from pipeline.configs import DEFAULT_DATASET, PipelineConfig
from serving import client, examples, model_dir, process, servables

MARKERS = ("<!-- serving:start -->", "<!-- serving:end -->")
BATCHES = (1, 100)
CLIENTS = (1, 16)
REQUESTS_PER_CLIENT = {1: 480, 16: 48}
ROUNDS = 8
WARMUP_REQUESTS = 10
TARGET_OVERHEAD_MS = {"REST": 2.0, "gRPC": 1.0}  # single example, one client, p50 vs in-process


def pushed_model(model_base: str, scratch: str) -> str:
    if model_dir.versions(model_base):
        return model_base
    print(f"No model in {model_base}: running the pipeline (300 train steps) to push one ...")
    import subprocess  # pylint: disable=import-outside-toplevel

    subprocess.run([sys.executable, "-m", "cli", "run", "--work-dir", scratch, "--serving-dir",
                    os.path.join(scratch, "serving"), "--train-steps", "300", "--eval-steps", "50"],
                   check=True)
    return os.path.join(scratch, "serving", os.path.basename(model_base))


def measure(transports: Dict[str, Callable[[], Callable]], batch: List[bytes], clients: int
            ) -> Dict[str, Dict[str, float]]:
    """Each transport's latencies and throughput at `clients` concurrent clients. The transports
    take turns in ROUNDS blocks of requests, so a slow spell of this shared machine falls on all of
    them alike rather than on whichever ran then; within a block requests go back to back."""
    calls = {name: [make_call() for _ in range(clients)] for name, make_call in transports.items()}
    latencies = {name: [] for name in transports}
    walls = {name: 0.0 for name in transports}
    per_block = REQUESTS_PER_CLIENT[clients] // ROUNDS
    for round_number in range(ROUNDS):
        for name, client_calls in calls.items():
            warmup = WARMUP_REQUESTS if round_number == 0 else 0
            block, wall = _block(client_calls, batch, warmup, per_block)
            latencies[name].extend(block)
            walls[name] += wall
    results = {}
    for name, values in latencies.items():
        values.sort()
        results[name] = {"p50_ms": statistics.median(values),
                         "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))],
                         "requests_per_s": len(values) / walls[name],
                         "examples_per_s": len(values) * len(batch) / walls[name]}
    return results


def _block(client_calls: List[Callable], batch: List[bytes], warmup: int, requests: int
           ) -> Tuple[List[float], float]:
    """`requests` timed calls from each client at once (after `warmup` untimed ones): latencies in
    ms and the wall seconds the timed calls took."""
    latencies, lock = [], threading.Lock()
    ready = threading.Barrier(len(client_calls) + 1)

    def client_loop(call):
        for _ in range(warmup):
            call(batch)
        ready.wait()
        mine = []
        for _ in range(requests):
            started = time.perf_counter()
            call(batch)
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client_loop, args=(call,)) for call in client_calls]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-base", default=os.path.join(
        PipelineConfig.serving_dir, dataset_module.load(DEFAULT_DATASET).name))
    parser.add_argument("--update-docs", action="store_true")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="tfx-serving-bench-")
    model_base = pushed_model(args.model_base, scratch)
    version_dir = os.path.join(model_base, str(model_dir.versions(model_base)[-1]))
    dataset = dataset_module.load(DEFAULT_DATASET)
    rows = examples.read_csv_rows(os.path.join(dataset.data_root(), "data.csv"))[:max(BATCHES)]
    rows = [{k: v for k, v in row.items() if k in dataset.feature_names()} for row in rows]
    serialized = examples.serialize_rows(rows, tfdv.load_schema_text(dataset.schema_file))
    signature = tf.saved_model.load(version_dir).signatures["serving_default"]
    session_version = servables.LoadedVersion(0, version_dir)  # how `tfxpipe serve` runs it

    results = []
    with process.running(["--serving-dir", os.path.dirname(model_base), "--model-name",
                          os.path.basename(model_base)]) as server:
        transports = {
            "in-process": lambda: (lambda b: signature(examples=tf.constant(b))["probabilities"].numpy()),
            "in-process, Session": lambda: (lambda b: session_version.run(
                "serving_default", {"examples": np.array(b, dtype=object)})["probabilities"]),
            "REST": lambda: client.RestClient(server.rest_url, os.path.basename(model_base)).predict,
            "gRPC": lambda: client.GrpcClient(server.grpc_target, os.path.basename(model_base)).predict,
        }
        for batch_size in BATCHES:
            for clients in CLIENTS:
                measured = measure(transports, serialized[:batch_size], clients)
                results.extend({"transport": transport, "batch": batch_size, "clients": clients,
                                **result} for transport, result in measured.items())
    table = render(results)
    print(table)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "serving_latency.md"), "w", encoding="utf-8") as f:
        f.write(table)
    with open(os.path.join(RESULTS, "serving_latency.json"), "w", encoding="utf-8") as f:
        json.dump({"machine": machine(), "results": results}, f, indent=2)
    if args.update_docs:
        replace_between_markers(DOCS, MARKERS, table)
    return 0 if all(verdicts(results).values()) else 1


def verdicts(results: List[dict]) -> Dict[str, bool]:
    single = {r["transport"]: r for r in results if r["batch"] == 1 and r["clients"] == 1}
    return {transport: single[transport]["p50_ms"] - single["in-process"]["p50_ms"] <= target
            for transport, target in TARGET_OVERHEAD_MS.items()}


def render(results: List[dict]) -> str:
    info = machine()
    reference = {(r["batch"], r["clients"]): r["p50_ms"] for r in results
                 if r["transport"] == "in-process"}
    lines = [f"{info['cores']} cores, {info['memory_gib']} GiB; {info['date']}; clients and server on "
             "the same machine.", "",
             "| transport | batch | clients | p50 ms | p99 ms | p50 over in-process | requests/s | examples/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        overhead = r["p50_ms"] - reference[(r["batch"], r["clients"])]
        lines.append(f"| {r['transport']} | {r['batch']} | {r['clients']} | {r['p50_ms']:.2f} | "
                     f"{r['p99_ms']:.2f} | {'' if r['transport'] == 'in-process' else f'{overhead:+.2f} ms'}"
                     f" | {r['requests_per_s']:.0f} | {r['examples_per_s']:.0f} |")
    single = {r["transport"]: r for r in results if r["batch"] == 1 and r["clients"] == 1}
    lines.append("")
    for transport, passed in verdicts(results).items():
        overhead = single[transport]["p50_ms"] - single["in-process"]["p50_ms"]
        lines.append(f"- {transport}, single example, 1 client: p50 {overhead:+.2f} ms over in-process "
                     f"(target <= +{TARGET_OVERHEAD_MS[transport]:.0f} ms): "
                     f"{'met' if passed else 'MISSED'}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
