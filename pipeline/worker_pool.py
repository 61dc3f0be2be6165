"""Beam's external worker pool for a Flink cluster on this machine: Python SDK workers from this
project's own environment, started by the TaskManagers on demand (`--environment_type=EXTERNAL`),
so no Docker is needed.

    python -m pipeline.worker_pool --port 50000 --log-dir DIR

Beam ships one (`apache_beam.runners.worker.worker_pool_main`), written for a sidecar beside each
TaskManager, and it fails with two TaskManagers on one machine: each TaskManager numbers its workers
from "1-1", the pool keys its processes by that id, and one TaskManager's StopWorker kills the other
one's running worker (the job fails with "FnApiControlClient received an error"). It also starts
`python` from PATH and pipes the workers' stdout without reading it. Here a worker is this
interpreter, writes to a log file, and is never killed by id: an SDK worker exits by itself when
its TaskManager closes the control channel; what is left when the pool stops is stopped with it.

Every Beam job starts SDK workers of its own (some 45 in a run of the taxi sample), and each
imported TensorFlow, TFX, TFDV, TFT and TFMA before its first bundle: seconds of a core per worker,
most of a cluster run's time on a small machine. So workers are forks of one process that imported
them once (multiprocessing's forkserver, started with the pool: it imports gRPC's module but never
starts gRPC, which a fork could not carry over); once it has imported them (the first workers wait
for that), workers start at once and share those pages until they write them.
"""
import argparse
import itertools
import multiprocessing
import os
import signal
import sys
import threading
from concurrent import futures
from multiprocessing import forkserver
from typing import List

import grpc
from apache_beam.portability.api import beam_fn_api_pb2, beam_fn_api_pb2_grpc

# What the TFX components' DoFns import on a worker before their first bundle.
PRELOADED = ("apache_beam.runners.worker.sdk_worker", "tensorflow", "tensorflow_data_validation",
             "tensorflow_transform.beam", "tensorflow_model_analysis", "tfx.components")


def _run_worker(control_url: str, worker_id: str, log_path: str) -> None:
    """An SDK worker (a fork of the preloaded server) writing to its own log file, removed if it
    stayed empty (most do: some 45 files a run)."""
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    from apache_beam.runners.worker.sdk_worker import SdkHarness  # pylint: disable=import-outside-toplevel
    SdkHarness(control_url, worker_id=worker_id, state_cache_size=0, data_buffer_time_limit_ms=-1).run()
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fstat(log).st_size == 0:
        os.remove(log_path)


class WorkerPool(beam_fn_api_pb2_grpc.BeamFnExternalWorkerPoolServicer):
    def __init__(self, log_dir: str):
        self._log_dir = log_dir
        self._lock = threading.Lock()
        self._workers: List[multiprocessing.Process] = []
        self._started = itertools.count()  # names each worker's log file
        self._forks = multiprocessing.get_context("forkserver")
        self._forks.set_forkserver_preload(list(PRELOADED))
        forkserver.ensure_running()  # the imports begin now, not at the first job's first worker

    def StartWorker(self, request, context):
        with self._lock:
            self._workers = [w for w in self._workers if w.is_alive()]  # reap the finished
            log_path = os.path.join(self._log_dir, f"worker-{os.getpid()}-{next(self._started)}.log")
            worker = self._forks.Process(target=_run_worker,
                                         args=(request.control_endpoint.url, request.worker_id, log_path))
            worker.start()
            self._workers.append(worker)
        return beam_fn_api_pb2.StartWorkerResponse()

    def StopWorker(self, request, context):
        return beam_fn_api_pb2.StopWorkerResponse()  # the worker exits when its runner hangs up

    def stop_all(self) -> None:
        with self._lock:
            for worker in self._workers:
                if worker.is_alive():
                    worker.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=50000)
    parser.add_argument("--log-dir", default=".")
    args = parser.parse_args()
    pool = WorkerPool(args.log_dir)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    beam_fn_api_pb2_grpc.add_BeamFnExternalWorkerPoolServicer_to_server(pool, server)
    if not server.add_insecure_port(f"localhost:{args.port}"):
        sys.exit(f"cannot bind the worker pool to localhost:{args.port}")
    server.start()
    stopped = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stopped.set())
    stopped.wait()
    server.stop(grace=None)
    pool.stop_all()


if __name__ == "__main__":
    main()
