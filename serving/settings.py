"""The model server's settings, defined once: `serving/commands.py` builds the `serve` options (for
`tfxpipe serve` and `python -m serving`) from these defaults. A module of its own, free of
TensorFlow, so the command line can read them without importing TensorFlow."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Optional

from serving.metrics import PATH as METRICS_PATH

if TYPE_CHECKING:  # serving.batching imports TensorFlow
    from serving.batching import Parameters


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"  # reachable from this machine only, unless told otherwise
    rest_port: int = 8501
    grpc_port: int = 8500
    poll_seconds: float = 1.0  # TF Serving's --file_system_poll_wait_seconds
    settle_seconds: float = 1.0  # a version folder must stay unchanged this long before loading
    max_request_bytes: int = 16 << 20
    workers: int = 16
    ready_file: Optional[str] = None  # JSON {"rest_port", "grpc_port", "pid"} once serving
    request_log_dir: Optional[str] = None
    request_log_sample_rate: float = 1.0
    request_log_max_bytes: int = 64 << 20
    metrics_path: Optional[str] = METRICS_PATH  # Prometheus, on the REST port; None: off
    shutdown_grace_seconds: float = 10.0  # SIGTERM/SIGINT: requests in progress may finish this long
    batching_parameters: Optional[Parameters] = None  # None: no server-side batching
    model_config_file: Optional[str] = None  # TF Serving's --model_config_file, re-read ...
    model_config_poll_seconds: float = 0.0  # ... this often (0: read once, as TF Serving's default)
    # a label may name a version not (yet) served (TF Serving's flag of that name); else refused
    allow_version_labels_for_unavailable_models: bool = False
    # serving/executor.py where the graph allows; off (`--default-executor`, hidden) only for
    # benchmarks/serving_latency.py, which measures what it buys
    single_threaded_executor: bool = True
    # uvloop (libuv) in place of asyncio's own event loop: the event loop is the server's bound under
    # load; off (`--asyncio-loop`, hidden) only for benchmarks/serving_latency.py, which measures it
    uvloop: bool = True
    # grpc.aio servers sharing the gRPC port (serving/grpc_api.py: why); 1 (`--grpc-acceptors 1`,
    # hidden) only for benchmarks/serving_latency.py, which measures what more of them buy
    grpc_acceptors: int = 8
    # `freeze_heap` once models are loaded; off (`--no-gc-freeze`, hidden) only for the benchmark
    gc_freeze: bool = True
    # With batching, TensorFlow's intra-op threads do not spin (`build`: why); TF's default
    # (`--tf-thread-spinning`, hidden) only for the benchmark, which measures it
    tf_thread_spinning: bool = False
