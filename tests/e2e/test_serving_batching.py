"""`tfxpipe serve --enable-batching` with the model the pipeline pushed, under concurrent REST and
gRPC clients: every answer is the in-process answer for that request's own rows, the batching layer
made fewer model calls than it got requests, and the metrics count what was sent."""
import base64
import threading

import numpy as np
import pytest
import requests
import tensorflow as tf
import tensorflow_data_validation as tfdv
from prometheus_client.parser import text_string_to_metric_families

from serving import client, examples, warmup
from serving import process as serving_server
from tests import serving_models
from tests.conftest import TAXI, TAXI_CSV, TAXI_SCHEMA

CLIENTS = 16
ROUNDS = 6
QUEUE_FULL = "The batch scheduling queue to which this task was submitted is full"


@pytest.fixture(scope="module")
def serialized_rows():
    rows = examples.read_csv_rows(TAXI_CSV)[:CLIENTS * 8]
    kept = [{k: v for k, v in row.items() if k in TAXI.feature_names()} for row in rows]
    return examples.serialize_rows(kept, tfdv.load_schema_text(TAXI_SCHEMA))


def metric_samples(server):
    text = requests.get(f"{server.rest_url}/monitoring/prometheus/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_concurrent_batched_answers_equal_the_in_process_answers_row_for_row(
        workspace, cold_run, serialized_rows, tmp_path):
    expected = tf.saved_model.load(cold_run.summary.pushed_destination).signatures[
        "serving_default"](examples=tf.constant(serialized_rows))["probabilities"].numpy()
    parameters = tmp_path / "batching.config"
    parameters.write_text("max_batch_size { value: 64 }\nbatch_timeout_micros { value: 5000 }\n"
                          "num_batch_threads { value: 1 }\n")
    with serving_server.running(["--serving-dir", workspace.serving_dir, "--model-name", TAXI.name,
                                 "--batching_parameters_file", str(parameters)]) as server:
        mismatches, errors = [], []
        start = threading.Barrier(CLIENTS)

        def client_loop(index):
            # Each client sends its own rows, 1 to 8 of them, so rows of different requests differ.
            rows = slice(index * 8, index * 8 + 1 + index % 8)
            call = (client.RestClient(server.rest_url, TAXI.name) if index % 2 else
                    client.GrpcClient(server.grpc_target, TAXI.name)).predict
            start.wait()
            for _ in range(ROUNDS):
                try:
                    answer = call(serialized_rows[rows])
                except Exception as error:  # pylint: disable=broad-except
                    errors.append(repr(error))
                    continue
                if not np.allclose(answer, expected[rows], rtol=1e-5, atol=1e-6):
                    mismatches.append(index)

        threads = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors and not mismatches
        samples = metric_samples(server)
    sent = CLIENTS * ROUNDS
    warmup_requests = len(warmup.read(cold_run.summary.pushed_destination))
    queued = samples[(":tensorflow:serving:batching_session:queuing_latency_count",
                      (("thread_pool_name", "batch_threads"),))]
    assert queued == sent + warmup_requests, "every model request went through the batching queue"
    runs = samples[(":tensorflow:serving:batching_session:wrapped_run_count_total", ())]
    assert runs < queued, "concurrent requests were merged into fewer model calls"
    assert samples[(":tensorflow:serving:request_count_total",
                    (("model_name", TAXI.name), ("status", "OK")))] == sent


@pytest.mark.serial  # timed: requests sent while a batch waits 3 s (run alone, Makefile)
def test_a_full_batch_queue_answers_unavailable_and_503_with_tf_servings_message(tmp_path):
    serving_models.build(str(tmp_path / "toy" / "1"), 1.0)
    parameters = tmp_path / "batching.config"
    # One open batch at a time that waits 3 s to fill: a request that does not fit in it is refused.
    parameters.write_text("max_batch_size { value: 2 }\nbatch_timeout_micros { value: 3000000 }\n"
                          "max_enqueued_batches { value: 1 }\nnum_batch_threads { value: 1 }\n")
    one, two = [serving_models.example(1.0, "Cash")], [serving_models.example(2.0, "Cash")] * 2
    with serving_server.running(["--serving-dir", str(tmp_path), "--model-name", "toy",
                                 "--settle-seconds", "0", "--enable_batching",
                                 "--batching_parameters_file", str(parameters)]) as server:
        waiting = threading.Thread(target=client.RestClient(server.rest_url, "toy").predict,
                                   args=(one,), daemon=True)
        waiting.start()
        threading.Event().wait(0.5)  # the one-example request now holds the open batch
        response = requests.post(f"{server.rest_url}/v1/models/toy:predict", timeout=30, json={
            "instances": [{"b64": base64.b64encode(e).decode()} for e in two]})
        assert response.status_code == 503
        assert response.json() == {"error": QUEUE_FULL}
        with pytest.raises(client.ServerError) as refused:
            client.GrpcClient(server.grpc_target, "toy").predict(two)
        assert (refused.value.status, refused.value.message) == ("UNAVAILABLE", QUEUE_FULL)
        waiting.join(30)
        assert not waiting.is_alive(), "the waiting request was answered once its batch timed out"
        samples = metric_samples(server)
    assert samples[(":tensorflow:serving:request_count_total",
                    (("model_name", "toy"), ("status", "UNAVAILABLE")))] == 2


@pytest.mark.serial  # timed: a 0.3 s deadline passes while a batch waits 1 s (run alone, Makefile)
def test_a_request_abandoned_by_its_client_does_not_stop_the_batching_of_later_ones(tmp_path):
    serving_models.build(str(tmp_path / "toy" / "1"), 1.0)
    parameters = tmp_path / "batching.config"
    # A batch waits 1 s to fill: long enough for the first client's deadline to pass while queued.
    parameters.write_text("max_batch_size { value: 8 }\nbatch_timeout_micros { value: 1000000 }\n"
                          "num_batch_threads { value: 1 }\n")
    one = [serving_models.example(1.0, "Cash")]
    with serving_server.running(["--serving-dir", str(tmp_path), "--model-name", "toy",
                                 "--settle-seconds", "0", "--enable_batching",
                                 "--batching_parameters_file", str(parameters)]) as server:
        with pytest.raises(client.ServerError) as abandoned:
            client.GrpcClient(server.grpc_target, "toy", timeout=0.3).predict(one)
        assert abandoned.value.status == "DEADLINE_EXCEEDED"
        threading.Event().wait(1.5)  # the abandoned request's batch has been taken by now
        for later in (client.GrpcClient(server.grpc_target, "toy", timeout=10),
                      client.RestClient(server.rest_url, "toy", timeout=10)):
            assert later.predict(one).shape == (1, 1)
        assert "Traceback" not in server.log()
