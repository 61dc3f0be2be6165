"""TF Serving's Prometheus metrics, under its names and labels, with prometheus-client.

Served on the REST port at `/monitoring/prometheus/metrics` (TF Serving's path, on by default here;
`--monitoring-config-file` takes TF Serving's monitoring.config). Latencies are in microseconds, as
TF Serving's are. `:tensorflow:serving:request_count` is written as TF Serving writes it, a counter without the
`_total` suffix that prometheus-client adds to every counter's name (so dashboards built for TF
Serving work unchanged): those few lines are rendered here, as are those of
`:tensorflow:serving:batching_session:wrapped_run_count` (model calls made by batching). The
histograms are counted by `_Histogram` (why: there) and rendered by prometheus-client.
"""
import bisect
import itertools
import threading
import time
from collections import Counter
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import prometheus_client
from google.protobuf import descriptor_pb2
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from serving import config_protos

PATH = "/monitoring/prometheus/metrics"
PREFIX = ":tensorflow:serving:"
def _as_tf_serving_prints(bounds):
    """Bucket bounds as TF Serving's exporter prints them (absl::StrCat: six significant digits):
    `le="32.4"`, not `le="32.400000000000006"`, so a dashboard summing by `le` over both servers
    sees one series per bucket."""
    return tuple(float(f"{bound:.6g}") for bound in bounds)


# TF Serving's buckets: 10 us growing by 1.8x, 33 of them (about 3.3 hours at the top).
LATENCY_BUCKETS = _as_tf_serving_prints(10 * 1.8 ** i for i in range(33))
EXAMPLE_BUCKETS = tuple(2 ** i for i in range(15))  # TF Serving's: 1 to 16,384 examples
QUEUING_BUCKETS = _as_tf_serving_prints(100 * 1.2 ** i for i in range(52))  # TF Serving's: 100 us to about 1 s

prometheus_client.disable_created_metrics()  # no `_created` series: TF Serving exposes none


class ServingMetrics:
    def __init__(self):
        self.registry = prometheus_client.CollectorRegistry(auto_describe=False)
        self._lock = threading.Lock()
        self._requests: Counter = Counter()  # (model name, status) -> requests
        self._batched_runs = 0  # model calls made by the batching layer
        registry = self.registry
        self.request_latency = _Histogram(
            registry, f"{PREFIX}request_latency",
            "Distribution of wall time (in microseconds) for requests.",
            ("model_name", "API", "entrypoint"), LATENCY_BUCKETS)
        self.runtime_latency = _Histogram(
            registry, f"{PREFIX}runtime_latency",
            "Distribution of wall time (in microseconds) for the model run of a request.",
            ("model_name", "API", "runtime"), LATENCY_BUCKETS)
        self._examples: Counter = Counter()  # model name -> tf.Examples received (Classify, Regress, MultiInference)
        self.example_counts = _Histogram(
            registry, f"{PREFIX}request_example_counts",
            "The number of tensorflow.Examples per request.", ("model",), EXAMPLE_BUCKETS)
        self.warmup_latency = _Histogram(
            registry, f"{PREFIX}model_warmup_latency",
            "Distribution of wall time (in microseconds) for warming up a model version.",
            ("model_path", "status"), LATENCY_BUCKETS)
        self.queuing_latency = _Histogram(
            registry, f"{PREFIX}batching_session:queuing_latency",
            "Distribution of wall time spent (in microseconds) in queuing", ("thread_pool_name",),
            QUEUING_BUCKETS)

    def _request_count_lines(self) -> str:
        name = f"{PREFIX}request_count"
        lines = [f"# HELP {name} The total number of requests.", f"# TYPE {name} counter"]
        with self._lock:
            for (model_name, status), count in sorted(self._requests.items()):
                lines.append(f'{name}{{model_name="{_escaped(model_name)}",status="{status}"}} '
                             f"{float(count)}")
            if self._examples:
                total = f"{PREFIX}request_example_count_total"
                lines += [f"# HELP {total} The total number of tensorflow.Examples.", f"# TYPE {total} counter"]
                lines += [f'{total}{{model="{_escaped(model)}"}} {float(count)}'
                          for model, count in sorted(self._examples.items())]
            if self._batched_runs:
                name = f"{PREFIX}batching_session:wrapped_run_count"
                lines += [f"# HELP {name} Total count of run calls on the wrapped session",
                          f"# TYPE {name} counter", f"{name} {float(self._batched_runs)}"]
        return "\n".join(lines) + "\n"

    def request(self, model_name: str, api: str, entrypoint: str, status: str,
                seconds: float) -> None:
        """A request answered with `status`: counted whatever it is; its latency, as in TF Serving,
        only when OK."""
        with self._lock:
            self._requests[(model_name, status)] += 1
        if status == "OK":
            self.request_latency.observe((model_name, api, entrypoint), seconds * 1e6)

    def model_run(self, model_name: str, api: str, seconds: float) -> None:
        """A request's model run. As in TF Serving, whose session-based runtime is labelled "TF1" and
        times `session->Run` on the BatchingSession when batching is on, this includes the time the
        request waited in the batch queue (that wait alone: `queuing_latency`)."""
        self.runtime_latency.observe((model_name, api, "TF1"), seconds * 1e6)

    def examples(self, model_name: str, count: int) -> None:
        """The tf.Examples of a Classify, Regress or MultiInference request, which TF Serving counts
        (RecordRequestExampleCount; a Predict request's tensors are not counted)."""
        with self._lock:
            self._examples[model_name] += count
        self.example_counts.observe((model_name,), count)

    def batched_run(self, thread_pool_name: str, queued_seconds: List[float]) -> None:
        """One model call of the batching layer, for requests that waited `queued_seconds`."""
        with self._lock:
            self._batched_runs += 1
        for seconds in queued_seconds:
            self.queuing_latency.observe((thread_pool_name,), seconds * 1e6)

    def exposition(self) -> Tuple[bytes, str]:
        text = self._request_count_lines().encode() + prometheus_client.generate_latest(self.registry)
        # The classic text format, what TF Serving answers and every Prometheus version scrapes.
        return text, prometheus_client.CONTENT_TYPE_PLAIN_0_0_4


class _Histogram:
    """A histogram by label values, scraped from the registry like prometheus-client's own.

    prometheus-client's `Histogram` takes a lock for its sum and another for its bucket, and walks
    the bucket bounds in Python, at each observation. A request makes three or four of them on the
    event loop's thread, the server's bound under load, and there they cost ~0.025 ms per gRPC
    request (about a tenth of gRPC's requests/s with batching; metrics on vs off). Here an
    observation is a bisect and two additions under one lock; prometheus-client renders the
    exposition (`HistogramMetricFamily`, its interface for custom collectors)."""

    def __init__(self, registry: prometheus_client.CollectorRegistry, name: str,
                 documentation: str, labelnames: Sequence[str], buckets: Sequence[float]):
        self._name, self._documentation, self._labelnames = name, documentation, list(labelnames)
        self._bounds = list(buckets)  # upper bounds, increasing; +Inf is the last bucket's
        self._lock = threading.Lock()
        # label values -> [observations per bucket (not cumulative) ..., +Inf bucket, sum]
        self._series: Dict[Tuple[str, ...], List[float]] = {}
        registry.register(self)

    def observe(self, labelvalues: Tuple[str, ...], value: float) -> None:
        bucket = bisect.bisect_left(self._bounds, value)  # the first bound >= value ("le")
        with self._lock:
            series = self._series.get(labelvalues)
            if series is None:
                series = self._series[labelvalues] = [0] * (len(self._bounds) + 2)
            series[bucket] += 1
            series[-1] += value

    def collect(self) -> Iterator[HistogramMetricFamily]:
        """What the registry scrapes: cumulative buckets, count and sum per label values."""
        family = HistogramMetricFamily(self._name, self._documentation, labels=self._labelnames)
        with self._lock:
            snapshot = sorted((labels, list(series)) for labels, series in self._series.items())
        upper_bounds = [floatToGoString(bound) for bound in self._bounds] + ["+Inf"]
        for labels, series in snapshot:
            family.add_metric(list(labels), list(zip(upper_bounds, itertools.accumulate(series[:-1]))),
                              sum_value=series[-1])
        yield family


def _escaped(label_value: str) -> str:
    """The exposition format's escaping of a label value (model names come from requests)."""
    return label_value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Stopwatch:
    def __init__(self):
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


def _monitoring_config_file() -> descriptor_pb2.FileDescriptorProto:
    """monitoring_config.proto's two messages."""
    file = config_protos.new_file("tfxpipe_monitoring_config.proto")
    prometheus = file.message_type.add(name="PrometheusConfig")
    prometheus.field.add(name="enable", number=1, type=8, label=1)  # bool
    prometheus.field.add(name="path", number=2, type=9, label=1)  # string
    monitoring = file.message_type.add(name="MonitoringConfig")
    monitoring.field.add(name="prometheus_config", number=1, type=11, label=1,
                         type_name=".tensorflow.serving.PrometheusConfig")
    return file


def read_monitoring_config(path: Optional[str]) -> Optional[str]:
    """The metrics path from TF Serving's monitoring.config (None: metrics off); without a file,
    metrics are on at TF Serving's path. ValueError names a malformed file."""
    if path is None:
        return PATH
    config = config_protos.read_text_file(path, _monitoring_config_file(), "MonitoringConfig",
                                          "a TF Serving monitoring config")
    prometheus = config.prometheus_config
    return (prometheus.path or PATH) if prometheus.enable else None
