import pytest
from prometheus_client.parser import text_string_to_metric_families

from serving import deploy, metrics


def families(serving_metrics):
    text, content_type = serving_metrics.exposition()
    assert content_type.startswith("text/plain; version=0.0.4")
    return {f.name: f for f in text_string_to_metric_families(text.decode())}


def test_request_count_is_tf_servings_counter_without_a_total_suffix():
    recorded = metrics.ServingMetrics()
    recorded.request("taxi", "Predict", "GRPC", "OK", 0.002)
    recorded.request("taxi", "Predict", "REST", "OK", 0.004)
    recorded.request('odd "name"\\', "Classify", "REST", "NOT_FOUND", 0.0001)
    text = recorded.exposition()[0].decode()
    assert "# TYPE :tensorflow:serving:request_count counter" in text and "_total" not in text
    counted = families(recorded)[":tensorflow:serving:request_count"]
    assert {(s.labels["model_name"], s.labels["status"]): s.value for s in counted.samples} == {
        ("taxi", "OK"): 2.0, ('odd "name"\\', "NOT_FOUND"): 1.0}


def test_latencies_are_in_microseconds_by_api_and_entrypoint():
    recorded = metrics.ServingMetrics()
    recorded.request("taxi", "Predict", "GRPC", "OK", 0.002)
    recorded.model_run("taxi", "Classify", 0.001)
    recorded.examples("taxi", 32)
    found = families(recorded)
    latency = {s.name: s.value for s in found[":tensorflow:serving:request_latency"].samples
               if s.labels.get("entrypoint") == "GRPC" and "le" not in s.labels}
    assert latency[":tensorflow:serving:request_latency_sum"] == pytest.approx(2000)
    examples = {s.name: s.value for s in found[":tensorflow:serving:request_example_counts"].samples
                if "le" not in s.labels}
    assert examples[":tensorflow:serving:request_example_counts_sum"] == 32


def test_monitoring_config_turns_metrics_on_off_or_moves_them(tmp_path):
    assert metrics.read_monitoring_config(None) == metrics.PATH
    written = tmp_path / "monitoring.config"
    written.write_text(deploy.monitoring_config())  # what deploy-config writes for TF Serving
    assert metrics.read_monitoring_config(str(written)) == deploy.PROMETHEUS_PATH == metrics.PATH
    written.write_text('prometheus_config { enable: true, path: "/metrics" }')
    assert metrics.read_monitoring_config(str(written)) == "/metrics"
    written.write_text("prometheus_config { enable: false }")
    assert metrics.read_monitoring_config(str(written)) is None
    written.write_text("prometheus { on: yes }")
    with pytest.raises(ValueError, match="not a TF Serving monitoring config"):
        metrics.read_monitoring_config(str(written))


def test_histogram_buckets_are_cumulative_and_a_value_on_a_bound_counts_in_that_bucket():
    recorded = metrics.ServingMetrics()
    first, second = metrics.EXAMPLE_BUCKETS[:2]  # 1, 2 examples
    for examples in (first, second, second, metrics.EXAMPLE_BUCKETS[-1] + 1):
        recorded.examples("taxi", examples)
    samples = {(s.name, s.labels.get("le")): s.value
               for s in families(recorded)[":tensorflow:serving:request_example_counts"].samples}
    name = ":tensorflow:serving:request_example_counts"
    assert samples[(f"{name}_bucket", "1.0")] == 1
    assert samples[(f"{name}_bucket", "2.0")] == 3, "cumulative, and 2 counts in le=2"
    assert samples[(f"{name}_bucket", "+Inf")] == samples[(f"{name}_count", None)] == 4
    assert samples[(f"{name}_sum", None)] == first + 2 * second + metrics.EXAMPLE_BUCKETS[-1] + 1
    assert metrics.EXAMPLE_BUCKETS[-1] == 16384, "TF Serving's 15 buckets"
    [total] = families(recorded)[":tensorflow:serving:request_example_count"].samples  # its counter, *_total
    assert (total.name, total.labels, total.value) == (":tensorflow:serving:request_example_count_total",
                                                       {"model": "taxi"}, samples[(f"{name}_sum", None)])


def test_request_latency_is_recorded_for_ok_requests_only_as_in_tf_serving():
    recorded = metrics.ServingMetrics()
    recorded.request("taxi", "predict", "REST", "OK", 0.002)
    recorded.request("taxi", "predict", "REST", "INVALID_ARGUMENT", 0.5)
    recorded.request("taxi", "Predict", "GRPC", "NOT_FOUND", 0.5)
    found = families(recorded)
    counts = {(s.labels["API"], s.labels["entrypoint"]): s.value
              for s in found[":tensorflow:serving:request_latency"].samples if s.name.endswith("_count")}
    assert counts == {("predict", "REST"): 1}
    counted = found[":tensorflow:serving:request_count"]
    assert sum(s.value for s in counted.samples) == 3  # every request is counted, whatever its status


def test_latency_bucket_bounds_are_printed_as_tf_serving_prints_them():
    """absl::StrCat's six significant digits: a dashboard summing by `le` over TF Serving and this
    server once saw two series for `le="32.4"` and `le="32.400000000000006"`."""
    recorded = metrics.ServingMetrics()
    recorded.request("taxi", "Predict", "GRPC", "OK", 0.002)
    bounds = [s.labels["le"] for s in families(recorded)[":tensorflow:serving:request_latency"].samples
              if "le" in s.labels]
    assert bounds[:6] == ["10.0", "18.0", "32.4", "58.32", "104.976", "188.957"]
    assert bounds[20] == "1.27482e+06"  # absl's exponent form from a million on, as prometheus-client writes Go's
