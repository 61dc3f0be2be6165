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
"""
import argparse
import itertools
import os
import signal
import subprocess
import sys
import threading
from concurrent import futures
from typing import List

import grpc
from apache_beam.portability.api import beam_fn_api_pb2, beam_fn_api_pb2_grpc

_HARNESS = ("from apache_beam.runners.worker.sdk_worker import SdkHarness; "
            "SdkHarness({url!r}, worker_id={worker!r}, state_cache_size=0, "
            "data_buffer_time_limit_ms=-1).run()")


class WorkerPool(beam_fn_api_pb2_grpc.BeamFnExternalWorkerPoolServicer):
    def __init__(self, log_dir: str):
        self._log_dir = log_dir
        self._lock = threading.Lock()
        self._workers: List[subprocess.Popen] = []
        self._started = itertools.count()  # names each worker's log file

    def StartWorker(self, request, context):
        command = [sys.executable, "-c", _HARNESS.format(url=request.control_endpoint.url,
                                                          worker=request.worker_id)]
        with self._lock:
            self._workers = [w for w in self._workers if w.poll() is None]  # reap the finished
            log_path = os.path.join(self._log_dir, f"worker-{os.getpid()}-{next(self._started)}.log")
            with open(log_path, "ab") as log:
                self._workers.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
        return beam_fn_api_pb2.StartWorkerResponse()

    def StopWorker(self, request, context):
        return beam_fn_api_pb2.StopWorkerResponse()  # the worker exits when its runner hangs up

    def stop_all(self) -> None:
        with self._lock:
            for worker in self._workers:
                if worker.poll() is None:
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
