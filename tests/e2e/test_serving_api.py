"""TF Serving's REST and gRPC contract, against `tfxpipe serve` in its own process.

Two toy versions (tests/serving_models.py) under a models.config with labels; every answer is compared
with the in-process SavedModel call on the same inputs.
"""
import base64
from collections import Counter

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from google.protobuf import text_format
from prometheus_client.parser import text_string_to_metric_families
from tensorflow_serving.apis import (
    classification_pb2, get_model_metadata_pb2, get_model_status_pb2, model_pb2,
    model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc, regression_pb2,
)
from tensorflow_serving.config import model_server_config_pb2

from serving import process as serving_server
from serving import request_log
from tests import serving_models

ROWS = [(2.0, "Cash"), (0.5, "Credit Card"), (7.25, "Mobile")]
EXAMPLES = [serving_models.example(*row) for row in ROWS]
MAX_REQUEST_MB = 1


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("served") / "toy"
    for version in (1, 2):
        serving_models.build(str(base / str(version)), float(version))
    config = model_server_config_pb2.ModelServerConfig()
    model = config.model_config_list.config.add(name="toy", base_path=str(base))
    model.model_version_policy.all.SetInParent()
    model.version_labels["stable"] = 1
    model.version_labels["canary"] = 2
    other = base.parent / "other"  # a second model: its requests are logged apart
    serving_models.build(str(other / "1"), 3.0)
    config.model_config_list.config.add(name="other", base_path=str(other))
    config_path = base.parent / "models.config"
    config_path.write_text(text_format.MessageToString(config))
    return base, str(config_path)


@pytest.fixture(scope="module")
def request_log_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("requests"))


@pytest.fixture(scope="module")
def server(toy_dir, request_log_dir):
    _, config_path = toy_dir
    with serving_server.running(["--model-config-file", config_path, "--settle-seconds", "0",
                                 "--max-request-mb", str(MAX_REQUEST_MB),
                                 "--request-log", request_log_dir]) as process:
        yield process


@pytest.fixture(scope="module")
def in_process(toy_dir):
    """version -> the loaded SavedModel, called directly."""
    base, _ = toy_dir
    return {v: tf.saved_model.load(str(base / str(v))) for v in (1, 2)}


def expected(in_process, version, signature="serving_default", key="probabilities"):
    argument = "examples" if signature == "serving_default" else "inputs"
    return in_process[version].signatures[signature](**{argument: tf.constant(EXAMPLES)})[key].numpy()


def b64_instances():
    return [{"b64": base64.b64encode(e).decode()} for e in EXAMPLES]


def rest(server, verb, path, **kwargs):
    return requests.request(verb, f"{server.rest_url}/v1/models/{path}", timeout=30, **kwargs)


# ---- REST ---------------------------------------------------------------------------------------

def test_rest_status_of_model_version_and_label(server):
    body = rest(server, "GET", "toy").json()
    assert {(s["version"], s["state"]) for s in body["model_version_status"]} == {
        ("1", "AVAILABLE"), ("2", "AVAILABLE")}
    assert body["model_version_status"][0]["status"] == {"error_code": "OK", "error_message": ""}
    assert [s["version"] for s in rest(server, "GET", "toy/versions/1").json()["model_version_status"]] == ["1"]
    # A label is not looked at: TF Serving answers for every version (get_model_status_impl.cc)
    assert [s["version"] for s in rest(server, "GET", "toy/labels/stable").json()["model_version_status"]] == ["2", "1"]


def test_rest_metadata_lists_signatures(server):
    body = rest(server, "GET", "toy/versions/1/metadata").json()
    assert body["model_spec"] == {"name": "toy", "signature_name": "", "version": "1"}
    signature_defs = body["metadata"]["signature_def"]["signature_def"]
    assert signature_defs["serving_default"]["inputs"]["examples"]["dtype"] == "DT_STRING"
    assert signature_defs["classify"]["method_name"] == "tensorflow/serving/classify"
    assert signature_defs["regress"]["method_name"] == "tensorflow/serving/regress"


def test_rest_predict_row_and_columnar_equal_the_in_process_call(server, in_process):
    newest = expected(in_process, 2)
    row = rest(server, "POST", "toy:predict", json={"instances": b64_instances()})
    assert row.status_code == 200, row.text
    np.testing.assert_array_equal(np.float32(row.json()["predictions"]), newest)
    columnar = rest(server, "POST", "toy:predict", json={"inputs": {"examples": b64_instances()}})
    np.testing.assert_array_equal(np.float32(columnar.json()["outputs"]), newest)
    by_label = rest(server, "POST", "toy/labels/stable:predict", json={"instances": b64_instances()})
    np.testing.assert_array_equal(np.float32(by_label.json()["predictions"]), expected(in_process, 1))
    assert not np.array_equal(newest, expected(in_process, 1)), "versions must be distinguishable"


def test_rest_classify_and_regress_take_json_examples(server, in_process):
    examples = [{"trip_miles": miles, "payment_type": payment} for miles, payment in ROWS]
    classify = rest(server, "POST", "toy/versions/1:classify",
                    json={"signature_name": "classify", "examples": examples})
    assert classify.status_code == 200, classify.text
    scores = expected(in_process, 1, "classify", "scores")
    assert [[label for label, _ in row] for row in classify.json()["result"]] == [["0", "1"]] * 3
    np.testing.assert_allclose([[s for _, s in row] for row in classify.json()["result"]], scores, rtol=1e-6)
    regress = rest(server, "POST", "toy:regress", json={"signature_name": "regress", "examples": examples})
    np.testing.assert_allclose(regress.json()["result"], expected(in_process, 2, "regress", "outputs")[:, 0], rtol=1e-6)
    with_context = rest(server, "POST", "toy:regress", json={
        "signature_name": "regress", "context": {"payment_type": "Cash"},
        "examples": [{"trip_miles": 2.0}]})
    assert with_context.json()["result"][0] == pytest.approx(regress.json()["result"][0], rel=1e-6)


@pytest.mark.parametrize("verb, path, body, status, message", [
    ("GET", "nope", None, 404, "nope"),
    ("POST", "nope:predict", {"instances": []}, 404, "nope"),
    ("GET", "toy/versions/7", None, 404, "version 7"),
    ("POST", "toy/versions/7:predict", {"instances": [{"b64": ""}]}, 404, "7"),
    ("POST", "toy:predict", {"instances": [{"rows": 1}]}, 400, "rows"),
    ("POST", "toy:predict", {"instances": [1, 2]}, 400, "string"),
    ("POST", "toy:predict", {"instances": [{"b64": "bm90IGFuIGV4YW1wbGU="}]}, 400, "parse"),
    ("POST", "toy:predict", {"signature_name": "missing", "instances": [1]}, 400, "missing"),
    ("POST", "toy:classify", {"examples": [{"trip_miles": 1.0}]}, 400,
     "this model's classify signature is 'classify': give it as the signature_name"),
    ("POST", "toy:explode", {}, 400, "Malformed request"),
    ("GET", "toy:predict", None, 400, "Malformed request"),
    ("GET", "toy/versions/x", None, 400, "not an integer"),
])
def test_rest_errors_carry_tf_serving_status_codes(server, verb, path, body, status, message):
    response = rest(server, verb, path, json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_rest_an_integer_for_a_float_feature_is_a_bad_request_naming_the_feature(server):
    """As in TF Serving, a JSON number without a decimal point is an int64 feature."""
    response = rest(server, "POST", "toy:classify",
                    json={"signature_name": "classify", "examples": [{"trip_miles": 12, "payment_type": "Cash"}]})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert "Key: trip_miles" in error and "Data types don't match" in error and "int64" in error, error
    assert "function_node" not in error, error  # the traced function's name says nothing to a client


def test_rest_broken_json_and_oversized_bodies_are_refused_and_the_server_stays_up(server):
    broken = rest(server, "POST", "toy:predict", data=b'{"instances": [')
    assert broken.status_code == 400 and "JSON" in broken.json()["error"]
    try:
        status = rest(server, "POST", "toy:predict", data=b"x" * (2 * MAX_REQUEST_MB << 20)).status_code
    except requests.RequestException:
        status = None  # Tornado answers 400 and closes the connection without reading the body
    assert status is None or 400 <= status < 500
    assert rest(server, "POST", "toy:predict", json={"instances": b64_instances()}).status_code == 200


@pytest.mark.parametrize("path, raw", [
    ("toy:predict", '{"instances": ' + "[" * 5000 + "]" * 5000 + "}"),  # a nesting bomb
    ("toy:predict", '{"instances": ' + "[" * 900 + "1" + "]" * 900 + "}"),  # parses, too deep to use
    ("toy:predict", '{"signature_name": 5, "instances": []}'),
    ("toy:predict", '{"instances": 5}'),
    ("toy:predict", '{"inputs": {"examples": {"b64": 5}}}'),
    ("toy:classify", '{"signature_name": ["x"], "examples": []}'),
    ("toy:classify", '{"examples": [{"trip_miles": 99999999999999999999999}]}'),
    ("toy:regress", '{"examples": [{"trip_miles": {"nested": 1}}]}'),
    ("toy:regress", '{"context": 5, "examples": [{"trip_miles": 1.0}]}'),
])
def test_rest_malformed_bodies_are_bad_requests_never_server_errors(server, path, raw):
    response = rest(server, "POST", path, data=raw.encode())
    assert response.status_code == 400, response.text
    assert response.json()["error"]


# ---- gRPC ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(server.grpc_target) as opened:
        yield opened


def spec(name="toy", version=None, signature="", label=""):
    model_spec = model_pb2.ModelSpec(name=name, signature_name=signature, version_label=label)
    if version is not None:
        model_spec.version.value = version
    return model_spec


def predict_request(model_spec, inputs=None):
    request = predict_pb2.PredictRequest(model_spec=model_spec)
    for key, value in (inputs or {"examples": tf.make_tensor_proto(EXAMPLES)}).items():
        request.inputs[key].CopyFrom(value)
    return request


def test_grpc_predict_equals_the_in_process_call_and_names_the_version(channel, in_process):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    response = stub.Predict(predict_request(spec()), timeout=30)
    assert response.model_spec.version.value == 2
    assert response.model_spec.signature_name == "serving_default"
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs["probabilities"]), expected(in_process, 2))
    # As TF Serving answers: the typed field, which Go and Node clients read, not tensor_content
    assert list(response.outputs["probabilities"].float_val) == expected(in_process, 2).ravel().tolist()
    assert not response.outputs["probabilities"].tensor_content
    response = stub.Predict(predict_request(spec(label="stable")), timeout=30)
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs["probabilities"]), expected(in_process, 1))


def test_grpc_classify_regress_metadata_and_status(channel, in_process):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    examples = [tf.train.Example.FromString(e) for e in EXAMPLES]
    request = classification_pb2.ClassificationRequest(model_spec=spec(signature="classify"))
    request.input.example_list.examples.extend(examples)
    classes = stub.Classify(request, timeout=30).result.classifications
    np.testing.assert_allclose([[c.score for c in row.classes] for row in classes],
                               expected(in_process, 2, "classify", "scores"), rtol=1e-6)
    request = regression_pb2.RegressionRequest(model_spec=spec(signature="regress", version=1))
    request.input.example_list.examples.extend(examples)
    values = [r.value for r in stub.Regress(request, timeout=30).result.regressions]
    np.testing.assert_allclose(values, expected(in_process, 1, "regress", "outputs")[:, 0], rtol=1e-6)

    metadata = stub.GetModelMetadata(get_model_metadata_pb2.GetModelMetadataRequest(
        model_spec=spec(), metadata_field=["signature_def"]), timeout=30)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    metadata.metadata["signature_def"].Unpack(signature_map)
    assert "examples" in signature_map.signature_def["serving_default"].inputs
    status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
        get_model_status_pb2.GetModelStatusRequest(model_spec=spec(version=2)), timeout=30)
    assert [(s.version, s.state) for s in status.model_version_status] == [
        (2, get_model_status_pb2.ModelVersionStatus.AVAILABLE)]


@pytest.mark.parametrize("request_factory, code, message", [
    (lambda: predict_request(spec("nope")), grpc.StatusCode.NOT_FOUND, "nope"),
    (lambda: predict_request(spec(version=7)), grpc.StatusCode.NOT_FOUND, "7"),
    (lambda: predict_request(spec(), {"rows": tf.make_tensor_proto(EXAMPLES)}),
     grpc.StatusCode.INVALID_ARGUMENT, "rows"),
    (lambda: predict_request(spec(), {"examples": tf.make_tensor_proto([1.0, 2.0])}),
     grpc.StatusCode.INVALID_ARGUMENT, "string"),
    (lambda: predict_request(spec(), {"examples": tf.make_tensor_proto([b"x" * (MAX_REQUEST_MB << 21)])}),
     grpc.StatusCode.RESOURCE_EXHAUSTED, ""),
])
def test_grpc_errors_carry_status_codes(channel, request_factory, code, message):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        stub.Predict(request_factory(), timeout=30)
    assert raised.value.code() == code
    assert message in raised.value.details()
    after = stub.Predict(predict_request(spec()), timeout=30)  # the server is still up
    assert tf.make_ndarray(after.outputs["probabilities"]).shape == (len(EXAMPLES), 1)


def prometheus_counts(server):
    """(model_name, status) -> requests, and runtime label -> model runs, from the metrics endpoint,
    parsed by prometheus-client."""
    response = requests.get(f"{server.rest_url}/monitoring/prometheus/metrics", timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert {":tensorflow:serving:request_latency", ":tensorflow:serving:runtime_latency",
            ":tensorflow:serving:request_example_counts", ":tensorflow:serving:model_warmup_latency",
            } <= set(families)
    counted = families[":tensorflow:serving:request_count"]
    assert counted.type == "counter"
    runs = Counter()
    for sample in families[":tensorflow:serving:runtime_latency"].samples:
        if sample.name.endswith("_count"):
            runs[sample.labels["runtime"]] += sample.value
    return {(s.labels["model_name"], s.labels["status"]): s.value for s in counted.samples}, runs


def test_prometheus_request_count_matches_the_requests_sent_by_status(server, channel):
    before, runs_before = prometheus_counts(server)
    for _ in range(3):
        assert rest(server, "POST", "toy:predict", json={"instances": b64_instances()}).status_code == 200
    assert rest(server, "POST", "toy:predict", json={"instances": [1, 2]}).status_code == 400
    assert rest(server, "GET", "ghost").status_code == 404
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    stub.Predict(predict_request(spec()), timeout=30)
    with pytest.raises(grpc.RpcError):
        stub.Predict(predict_request(spec(name="ghost")), timeout=30)
    after, runs_after = prometheus_counts(server)
    changed = {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}
    assert changed == {("toy", "OK"): 4, ("toy", "INVALID_ARGUMENT"): 1, ("ghost", "NOT_FOUND"): 2}
    # One model run per answered request, under TF Serving's label for its session runtime, "TF1"
    # (predict_util.cc), which dashboards filter on.
    assert {key: runs_after[key] - runs_before.get(key, 0) for key in runs_after} == {"TF1": 4}


def test_each_models_requests_are_logged_in_its_own_folder(server, channel, request_log_dir):
    """`monitor` checks one model's requests against that model's training data."""
    others = [serving_models.example(miles, "Prcard") for miles in (11.0, 12.0)]
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    stub.Predict(predict_request(spec(name="other"), {"examples": tf.make_tensor_proto(others)}), timeout=30)
    assert rest(server, "POST", "other:predict",
                json={"instances": [{"b64": base64.b64encode(others[0]).decode()}]}).status_code == 200
    assert rest(server, "POST", "toy:predict", json={"instances": b64_instances()}).status_code == 200

    def logged(model):
        folder = request_log.model_folder(request_log_dir, model)
        return [r.numpy() for path in request_log.log_files(folder) for r in tf.data.TFRecordDataset(path)]
    assert logged("other") == others + others[:1]
    toy = logged("toy")
    assert toy[-len(EXAMPLES):] == EXAMPLES and not set(toy) & set(others)
    assert not request_log.log_files(request_log_dir)  # nothing outside the models' folders


def test_no_request_left_an_error_in_the_server_log(server):
    """Runs last in this module: every request above was answered without an unhandled exception."""
    rest(server, "GET", "toy")
    log = server.log()
    assert "Traceback" not in log and "Uncaught exception" not in log, log[-3000:]
