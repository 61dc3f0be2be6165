"""The model the pipeline pushed: infra-validated, with warmup requests, served over REST and gRPC
with the same answers as the in-process SavedModel call, and queried with `tfxpipe predict`."""
import re
import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv

from models import signatures
from serving import client, examples, warmup
from serving import process as serving_server
from tests.conftest import TAXI, TAXI_CSV, TAXI_SCHEMA

ROWS = 200


@pytest.fixture(scope="module")
def serialized_rows():
    rows = examples.read_csv_rows(TAXI_CSV)[:ROWS]
    kept = [{k: v for k, v in row.items() if k in TAXI.feature_names()} for row in rows]
    return examples.serialize_rows(kept, tfdv.load_schema_text(TAXI_SCHEMA))


@pytest.fixture(scope="module")
def in_process(cold_run, serialized_rows):
    loaded = tf.saved_model.load(cold_run.summary.pushed_destination)
    return loaded.signatures["serving_default"](examples=tf.constant(serialized_rows))["probabilities"].numpy()


@pytest.fixture(scope="module")
def server(workspace, cold_run):
    with serving_server.running(["--serving-dir", workspace.serving_dir, "--model-name", "taxi"]) as process:
        yield process


def test_the_pushed_model_passed_infra_validation(cold_run):
    assert cold_run.summary.infra_blessed is True
    assert "Infra validation: served and answered" in cold_run.stdout


def test_the_pushed_version_carries_warmup_requests_from_real_examples_and_its_features(cold_run):
    """Its features as trained: `score` sends them, whatever the declaration lists since."""
    assert signatures.trained_features(cold_run.summary.pushed_destination) == list(TAXI.feature_names())
    logs = warmup.read(cold_run.summary.pushed_destination)
    kinds = [log.WhichOneof("log_type") for log in logs]
    assert kinds == ["predict_log", "predict_log", "classify_log", "regress_log"]  # a binary model's APIs
    batch = tf.make_ndarray(logs[1].predict_log.request.inputs["examples"])
    assert len(batch) > 1
    example = tf.train.Example.FromString(batch[0])
    assert set(example.features.feature) <= set(TAXI.feature_names()), "no label at serving time"
    assert example.features.feature["trip_miles"].float_list.value


def test_rest_and_grpc_answer_exactly_as_the_in_process_call(server, serialized_rows, in_process):
    np.testing.assert_array_equal(client.RestClient(server.rest_url, TAXI.name).predict(serialized_rows), in_process)
    by_grpc, version = client.GrpcClient(server.grpc_target, TAXI.name).predict_with_version(serialized_rows)
    np.testing.assert_array_equal(by_grpc, in_process)
    assert version > 0


def test_server_replays_warmup_before_serving(server, cold_run):
    version = cold_run.summary.pushed_version
    assert f"model taxi version {version} available (4 warmup requests replayed)" in server.log()
    status = client.GrpcClient(server.grpc_target, TAXI.name).status().model_version_status
    assert [s.state for s in status] == [status[0].AVAILABLE]


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_predict_command_prints_the_models_probabilities(server, in_process, scheme):
    address = server.rest_url if scheme == "http" else f"grpc://{server.grpc_target}"
    done = subprocess.run([sys.executable, "-m", "cli", "predict", TAXI_CSV, "--server", address,
                           "--limit", "5"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    # row, most likely class, its probability, then every class: "0 0.9123, 1 0.0877"
    printed = [float(p) for p in re.findall(r"^\s+\d+\s+[01]\s+[0-9.]+\s+0 [0-9.]+, 1 ([0-9.]+)$",
                                            done.stdout, re.M)]
    np.testing.assert_allclose(printed, in_process[:5, 0], atol=5e-5)
    total = len(examples.read_csv_rows(TAXI_CSV))
    assert f"(the first 5 of {total} rows; --limit 0 sends them all)" in done.stdout


def _predict(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", "predict", *args], capture_output=True,
                          text=True, timeout=300, check=False)


def test_predict_names_the_features_a_file_lacks_and_sends_them_as_missing(server, tmp_path):
    frame = pd.read_csv(TAXI_CSV).head(3).drop(columns=["company", "fare"])
    frame.to_csv(tmp_path / "partial.csv", index=False)
    done = _predict(str(tmp_path / "partial.csv"), "--server", server.rest_url, "--limit", "0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"note: no column fare, company in {tmp_path / 'partial.csv'}: sent as missing values" \
        in done.stdout
    assert len(re.findall(r"^\s+\d+\s+[01]\s", done.stdout, re.M)) == 3 and "--limit 0" not in done.stdout


def test_predict_names_the_categories_the_model_never_saw_and_the_gaps_the_schema_forbids(server, tmp_path):
    """A payment type the schema does not list, an hour code past 0..23 and fares left empty (the
    schema requires one in every row): answered (unknown categories, filled-in fares), and named.
    pandas' index column, which `score` passes through, is not sent."""
    frame = pd.read_csv(TAXI_CSV, dtype=str, keep_default_na=False).head(4)
    frame.loc[0, "payment_type"] = "Bitcoin"
    frame.loc[1:2, "trip_start_hour"] = "30"
    frame.loc[2:3, "fare"] = ""
    frame.to_csv(tmp_path / "new.csv")  # with the index, an unnamed first column
    done = _predict(str(tmp_path / "new.csv"), "--server", server.rest_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "note: '': not among the model's features, not sent" in done.stdout
    assert "warning: categories the schema does not list, among 4 rows: payment_type in 1 ('Bitcoin'); " \
           "trip_start_hour in 2 ('30'). The model most likely never saw them" in done.stdout, done.stdout
    assert "warning: values missing, among 4 rows: " in done.stdout and \
        "fare has none in 2 (the schema requires one in every row)" in done.stdout, done.stdout
    assert len(re.findall(r"^\s+\d+\s+[01]\s", done.stdout, re.M)) == 4


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_predict_without_a_server_says_how_to_start_one(scheme):
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        address = f"{scheme}://127.0.0.1:{unused.getsockname()[1]}"
    done = _predict(TAXI_CSV, "--server", address, "--limit", "1")
    assert done.returncode == 1
    assert f"error: cannot reach {address}" in done.stderr and "tfxpipe serve --dataset" in done.stderr


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_predict_for_a_model_the_server_does_not_serve_names_it(server, scheme):
    address = server.rest_url if scheme == "http" else f"grpc://{server.grpc_target}"
    done = _predict(TAXI_CSV, "--server", address, "--model-name", "penguins", "--limit", "1")
    assert done.returncode == 1
    assert f"error: {address} serves no model 'penguins', or no version of it yet (" in done.stderr, done.stderr
    assert "--model-name names the served one" in done.stderr


def test_predict_refuses_a_negative_row_count():
    done = _predict(TAXI_CSV, "--limit", "-1")
    assert done.returncode == 2 and "'-1' is not a number of rows (0 for all)" in done.stderr


def test_a_rejected_model_is_not_infra_validated_and_not_pushed(unreachable_threshold_run):
    summary = unreachable_threshold_run.summary
    assert summary.infra_blessed is False
    assert summary.infra_failure == "not validated: the Evaluator blessed no candidate (wide_deep)"
    assert "Evaluation (eval split, wide_deep): auc " in unreachable_threshold_run.stdout  # named, though refused
    assert "example_count" in unreachable_threshold_run.stdout and "+0 vs" not in unreachable_threshold_run.stdout
    assert summary.pushed is False
