"""Serving under load: `tfxpipe serve` over REST and gRPC, with and without server-side batching,
against the same model called in this process.

    .venv/bin/python -m benchmarks.serving_latency [--model-base serving/models/taxi] [--update-docs]

Serves the newest pushed version of the taxi model (with no pushed model, the pipeline first runs
into a scratch folder with 300 train steps) and sends it batches of 1 and 100 raw examples from 1,
16 and 64 concurrent clients: h2load (gRPC) and hey (REST), native load generators that leave the
shared cores to the server (benchmarks/load_generators.py). The
reference is "in-process, Session": the signature run the way the server runs it
(serving/loaded_version.py), called from the same number of threads in this process, so the ratios
show what the transport costs; "in-process, TF2" is the SavedModel's `serving_default` function.
Everything takes turns in blocks of requests (see `measure`), so a slow spell of this shared machine
falls on all alike.

Then: a mixed load from Python clients (64 clients, 1-32 examples, one request in five malformed)
with the server's memory before and after, also on the batching server without its frozen heap
(what `gc.freeze` buys shows under sustained load), and what the other latency measures buy
(`ABLATIONS` in benchmarks/serving_report.py): the single-threaded executor (serving/executor.py)
against TF's default one, uvloop against asyncio's own event loop, several gRPC acceptors
(serving/grpc_api.py) against one, TF's intra-op threads without spinning (serving/server.py) against
TF's default.
"""
import argparse
import contextlib
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from typing import Callable, Dict, List, Union

import numpy as np
import psutil
import requests
import tensorflow as tf
import tensorflow_data_validation as tfdv

from benchmarks.compare_with_tfx_example import DOCS, RESULTS, machine
from benchmarks.load_generators import Block, LoadGenerator
from benchmarks.measure import replace_between_markers
from benchmarks.serving_report import ABLATIONS, BASES, REFERENCE, UNFROZEN, render, verdicts
from models import dataset as dataset_module
from pipeline.configs import DEFAULT_DATASET, PipelineConfig
from serving import client, examples, loaded_version, model_dir, process

MARKERS = ("<!-- serving:start -->", "<!-- serving:end -->")
CASES = ((1, 1), (1, 16), (1, 64), (100, 1), (100, 16))  # (examples per request, clients)
REQUESTS_PER_CLIENT = {1: 600, 16: 320, 64: 80}
ROUNDS = 4
WARMUP_REQUESTS = 10
NESTING_BOMB = '{"instances": ' + "[" * 5000 + "]" * 5000 + "}"


def pushed_model(model_base: str, scratch: str) -> str:
    if model_dir.versions(model_base):
        return model_base
    print(f"No model in {model_base}: running the pipeline (300 train steps) to push one ...")
    import subprocess  # pylint: disable=import-outside-toplevel

    subprocess.run([sys.executable, "-m", "cli", "run", "--work-dir", scratch, "--serving-dir",
                    os.path.join(scratch, "serving"), "--train-steps", "300", "--eval-steps", "50"],
                   check=True)
    return os.path.join(scratch, "serving", os.path.basename(model_base))


# A server (its load generator), or in-process: a factory of one callable per client thread.
Transport = Union[LoadGenerator, Callable[[], Callable]]


def measure(transports: Dict[str, Transport], batch: List[bytes], clients: int
            ) -> Dict[str, Dict[str, float]]:
    """Each transport's latencies, throughput and errors at `clients` concurrent clients. The
    transports take turns in ROUNDS blocks of requests; within a block requests go back to back."""
    runners = {name: _runner(transport, clients) for name, transport in transports.items()}
    latencies = {name: [] for name in transports}
    walls, errors = dict.fromkeys(transports, 0.0), dict.fromkeys(transports, 0)
    per_block = REQUESTS_PER_CLIENT[clients] // ROUNDS
    for round_number in range(ROUNDS):
        for name, run in runners.items():
            warmup = WARMUP_REQUESTS if round_number == 0 else 0
            block, wall, failed = run(batch, warmup, per_block)
            latencies[name].extend(block)
            walls[name] += wall
            errors[name] += failed
    results = {}
    for name, values in latencies.items():
        values.sort()
        results[name] = {"p50_ms": statistics.median(values),
                         "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))],
                         "requests_per_s": len(values) / walls[name],
                         "examples_per_s": len(values) * len(batch) / walls[name],
                         "errors": errors[name]}
    return results


def _runner(transport: Transport, clients: int) -> Callable[[List[bytes], int, int], Block]:
    """(batch, warmup, requests_each) -> a timed block of `requests_each` requests per client,
    after `warmup` untimed ones."""
    if isinstance(transport, LoadGenerator):
        def run(batch, warmup, requests_each):
            if warmup:
                transport.block(batch, clients, warmup)
            return transport.block(batch, clients, requests_each)
        return run
    calls = [transport() for _ in range(clients)]
    return lambda batch, warmup, requests_each: _threads(calls, batch, warmup, requests_each)


def _threads(client_calls: List[Callable], batch: List[bytes], warmup: int, requests_each: int
             ) -> Block:
    """`requests_each` timed calls from each thread at once (after `warmup` untimed ones)."""
    latencies, failures, lock = [], [], threading.Lock()
    ready = threading.Barrier(len(client_calls) + 1)

    def client_loop(call):
        for _ in range(warmup):
            call(batch)
        ready.wait()
        mine, failed = [], 0
        for _ in range(requests_each):
            started = time.perf_counter()
            try:
                call(batch)
            except Exception:  # pylint: disable=broad-except  (counted: the load must not fail)
                failed += 1
                continue
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)
            failures.append(failed)

    threads = [threading.Thread(target=client_loop, args=(call,)) for call in client_calls]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started, sum(failures)


def mixed_load(server: process.ServerProcess, model: str, serialized: List[bytes],
               seconds: float = 20.0, clients: int = 64) -> Dict[str, float]:
    """64 REST clients for `seconds`: 1-32 examples per request, one request in five malformed
    (a body nested 5,000 deep, or broken JSON). Valid requests must all succeed, malformed ones get 400,
    and the server's memory must not grow (after a first round: the first round of a batching
    server grows it ~60 MiB as TensorFlow's and malloc's caches fill, the next ones 2-5 MiB)."""
    rss_before = psutil.Process(server.process.pid).memory_info().rss
    valid, wrong, malformed_not_400 = [], [0], [0]
    lock, stop = threading.Lock(), time.monotonic() + seconds
    url = f"{server.rest_url}/v1/models/{model}:predict"

    def client_loop(seed):
        rest, draw, mine = client.RestClient(server.rest_url, model), random.Random(seed), []
        while time.monotonic() < stop:
            if draw.random() < 0.2:
                body = NESTING_BOMB if draw.random() < 0.5 else '{"instances": [1, 2'
                if requests.post(url, data=body, timeout=60).status_code != 400:
                    with lock:
                        malformed_not_400[0] += 1
                continue
            size = draw.randint(1, 32)
            started = time.perf_counter()
            try:
                rest.predict(serialized[:size])
                mine.append((time.perf_counter() - started) * 1000)
            except Exception:  # pylint: disable=broad-except
                with lock:
                    wrong[0] += 1
        with lock:
            valid.extend(mine)

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    valid.sort()
    rss_after = psutil.Process(server.process.pid).memory_info().rss
    return {"valid": len(valid), "valid_failed": wrong[0], "malformed_not_400": malformed_not_400[0],
            "p50_ms": statistics.median(valid), "p99_ms": valid[int(len(valid) * 0.99)],
            "rss_before_mib": rss_before / 2**20, "rss_after_mib": rss_after / 2**20}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-base", default=os.path.join(
        PipelineConfig.serving_dir, dataset_module.load(DEFAULT_DATASET).name))
    parser.add_argument("--update-docs", action="store_true")
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory(prefix="tfx-serving-bench-")  # gone at exit
    model_base = pushed_model(args.model_base, scratch.name)
    model = os.path.basename(model_base)
    version_dir = os.path.join(model_base, str(model_dir.versions(model_base)[-1]))
    dataset = dataset_module.load(DEFAULT_DATASET)
    rows = examples.read_csv_rows(os.path.join(dataset.data_root(), "data.csv"))[:100]
    rows = [{k: v for k, v in row.items() if k in dataset.feature_names()} for row in rows]
    serialized = examples.serialize_rows(rows, tfdv.load_schema_text(dataset.schema_file))
    signature = tf.saved_model.load(version_dir).signatures["serving_default"]
    session_version = loaded_version.LoadedVersion(0, version_dir)  # how `tfxpipe serve` runs it
    serve_args = ["--serving-dir", os.path.dirname(model_base), "--model-name", model]
    gc.freeze()  # as the server does: this process's full collections must not stall the clients

    def transports_of(name: str, server: process.ServerProcess) -> Dict[str, LoadGenerator]:
        return {f"REST{name}": LoadGenerator("REST", server, model),
                f"gRPC{name}": LoadGenerator("gRPC", server, model)}

    in_process = {
        "in-process, TF2": lambda: (lambda b: signature(examples=tf.constant(b))["probabilities"].numpy()),
        REFERENCE: lambda: (lambda b: session_version.run(
            "serving_default", {"examples": np.array(b, dtype=object)})["probabilities"]),
    }
    results, ablation = [], []
    with process.running(serve_args) as plain, \
            process.running(serve_args + BASES["batching"]) as batched, \
            process.running(serve_args + UNFROZEN[1]) as unfrozen:
        transports = {**in_process, **transports_of("", plain), **transports_of(", batching", batched)}
        for batch_size, clients in CASES:
            measured = measure(transports, serialized[:batch_size], clients)
            results.extend({"transport": transport, "batch": batch_size, "clients": clients,
                            **result} for transport, result in measured.items())
        mixed = {}
        for name, server in (("plain", plain), ("batching", batched), (UNFROZEN[0], unfrozen)):
            mixed_load(server, model, serialized, seconds=10)  # allocators and caches fill first
            mixed[name] = mixed_load(server, model, serialized)
    with contextlib.ExitStack() as servers:  # each measure off in turn, against all of them on
        variants = {f"{base}, all on": options for base, options in BASES.items()
                    if base in {base_of for _, base_of, _ in ABLATIONS.values()}}
        variants.update({f"{base}, without {measure}": BASES[base] + off
                         for measure, (off, base, _) in ABLATIONS.items()})
        transports = {}
        for name, extra in variants.items():
            server = servers.enter_context(process.running(serve_args + extra))
            transports.update(transports_of(f", {name}", server))
        for batch_size, clients in ((1, 1), (1, 16)):
            measured = measure(transports, serialized[:batch_size], clients)
            ablation.extend({"transport": transport, "batch": batch_size, "clients": clients,
                             **result} for transport, result in measured.items())
    table = render(results, mixed, ablation)
    print(table)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "serving_latency.md"), "w", encoding="utf-8") as f:
        f.write(table)
    with open(os.path.join(RESULTS, "serving_latency.json"), "w", encoding="utf-8") as f:
        json.dump({"machine": machine(), "results": results, "mixed": mixed,
                   "ablation": ablation}, f, indent=2)
    if args.update_docs:
        replace_between_markers(DOCS, MARKERS, table)
    return 0 if all(passed for _, passed in verdicts(results, mixed)) else 1


if __name__ == "__main__":
    sys.exit(main())
