"""Where TF Serving's contract is easy to miss, against `tfxpipe serve` in its own process: what Go
and Node clients found answered differently from the tensorflow/serving binary.

The toy versions and models.config of test_serving_api.py, served again (module scope)."""
import gzip
import json
import pathlib
import time

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.protobuf import meta_graph_pb2
from prometheus_client.parser import text_string_to_metric_families
from tensorflow_serving.apis import (
    classification_pb2, get_model_metadata_pb2, get_model_status_pb2, inference_pb2, model_management_pb2,
    model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc, regression_pb2,
)
from tensorflow_serving.config import model_server_config_pb2

from models import signatures
from serving import api_signatures, process as serving_server
from serving.loaded_version import ServingError
from tests import serving_models
from tests.e2e import test_serving_api as shared
from tests.e2e.test_serving_api import (
    EXAMPLES, MAX_REQUEST_MB, b64_instances, expected, predict_request, rest, spec,
)

toy_dir, in_process = shared.toy_dir, shared.in_process  # its fixtures, made again for this module


@pytest.fixture(scope="module")
def predict_marked(toy_dir):
    """A third model whose signatures all keep TF2's "predict" method name, written to the
    models.config before the server starts."""
    base, config_path = toy_dir
    marked = base.parent / "predict_marked"
    serving_models.build(str(marked / "1"), 1.0)
    predict = "tensorflow/serving/predict"
    signatures.set_method_names(str(marked / "1"), {"classify": predict, "regress": predict})
    config = text_format.Parse(pathlib.Path(config_path).read_text(encoding="utf-8"),
                               model_server_config_pb2.ModelServerConfig())
    config.model_config_list.config.add(name="predict_marked", base_path=str(marked))
    pathlib.Path(config_path).write_text(text_format.MessageToString(config), encoding="utf-8")
    return config_path


@pytest.fixture(scope="module")
def server(predict_marked):
    config_path = predict_marked
    with serving_server.running(["--model-config-file", config_path, "--settle-seconds", "0",
                                 "--max-request-mb", str(MAX_REQUEST_MB)]) as process:
        yield process


@pytest.fixture(scope="module")
def stub(server):
    with grpc.insecure_channel(server.grpc_target) as channel:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel), \
            model_service_pb2_grpc.ModelServiceStub(channel), channel


def gzipped_post(server, path, data: bytes):
    return requests.post(f"{server.rest_url}/v1/models/{path}", data=data, timeout=30,
                         headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})


def test_a_gzip_body_is_uncompressed_as_tf_serving_does(server, in_process):
    body = json.dumps({"instances": b64_instances()}).encode()
    response = gzipped_post(server, "toy:predict", gzip.compress(body))
    assert response.status_code == 200, response.text
    np.testing.assert_array_equal(np.float32(response.json()["predictions"]), expected(in_process, 2))


def test_a_gzip_bomb_is_refused_413_at_the_limit_uncompressed_and_a_broken_one_400(server):
    bomb = gzip.compress(b" " * (3 * MAX_REQUEST_MB << 20))  # ~3 KB that would be 3 MB
    assert len(bomb) < 64 << 10
    response = gzipped_post(server, "toy:predict", bomb)
    assert response.status_code == 413, response.text
    assert "uncompressed" in response.json()["error"]
    broken = gzipped_post(server, "toy:predict", b"\x1f\x8bnot gzip at all")
    assert broken.status_code == 400 and "uncompress" in broken.json()["error"]


def test_unknown_signature_on_classify_and_regress_is_invalid_argument(server, stub):
    stub, _, _ = stub
    for path in ("toy:classify", "toy:regress"):
        response = rest(server, "POST", path, json={"signature_name": "nope",
                                                    "examples": [{"trip_miles": 1.0}]})
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "No signature was found with the name: nope"
    request = classification_pb2.ClassificationRequest(model_spec=spec(signature="nope"))
    request.input.example_list.examples.add()
    with pytest.raises(grpc.RpcError) as raised:
        stub.Classify(request, timeout=30)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == "No signature was found with the name: nope"


def test_predict_with_an_unknown_signature_answers_as_tf_serving(server, stub):
    """gRPC: FAILED_PRECONDITION (predict_util.cc); REST looks it up itself: 400. TF Serving's HTTP
    mapping has no 412 (http_server.cc: FailedPrecondition is 400)."""
    stub, _, _ = stub
    with pytest.raises(grpc.RpcError) as raised:
        stub.Predict(predict_request(spec(signature="nope")), timeout=30)
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert raised.value.details() == 'Serving signature key "nope" not found.'
    response = rest(server, "POST", "toy:predict", json={"signature_name": "nope",
                                                        "instances": b64_instances()})
    assert response.status_code == 400
    assert response.json()["error"] == 'Serving signature name: "nope" not found in signature def'


def test_classify_runs_a_signature_shaped_for_it_whatever_its_method_name(server, stub):
    """TF Serving's --enable_signature_method_name_check is false by default: TF2 models, whose
    signatures are all marked "predict", classify and regress."""
    stub, _, _ = stub
    request = regression_pb2.RegressionRequest(model_spec=spec(name="predict_marked", signature="regress"))
    request.input.example_list.examples.extend(tf.train.Example.FromString(e) for e in EXAMPLES)
    assert len(stub.Regress(request, timeout=30).result.regressions) == len(EXAMPLES)
    classify = rest(server, "POST", "predict_marked:classify",
                    json={"signature_name": "classify", "examples": [{"trip_miles": 1.0}]})
    assert classify.status_code == 200, classify.text
    # serving_default is not shaped for classify: TF Serving's words, and the signature that is
    wrong = rest(server, "POST", "toy:classify", json={"examples": [{"trip_miles": 1.0}]})
    assert wrong.status_code == 400
    assert wrong.json()["error"].startswith("No classification inputs found in SignatureDef: ")
    assert "this model's classify signature is 'classify'" in wrong.json()["error"]


def test_multi_inference_answers_each_task_as_classify_and_regress_do_and_refuses_as_tf_serving(server, stub):
    """The first task's spec picks the version (a label here); one model; each signature once;
    Classify and Regress methods only (multi_inference.cc)."""
    stub, _, _ = stub
    examples = [tf.train.Example.FromString(e) for e in EXAMPLES]

    def multi(*tasks):
        request = inference_pb2.MultiInferenceRequest()
        request.input.example_list.examples.extend(examples)
        for name, signature, method in tasks:
            request.tasks.add(model_spec=spec(name=name, signature=signature, label="canary"), method_name=method)
        return stub.MultiInference(request, timeout=30)

    answer = multi(("toy", "classify", api_signatures.CLASSIFY_METHOD), ("toy", "regress", api_signatures.REGRESS_METHOD))
    classify = classification_pb2.ClassificationRequest(model_spec=spec(signature="classify", label="canary"))
    regress = regression_pb2.RegressionRequest(model_spec=spec(signature="regress", label="canary"))
    for request in (classify, regress):
        request.input.example_list.examples.extend(examples)
    classified, regressed = answer.results
    assert classified.classification_result == stub.Classify(classify, timeout=30).result
    assert regressed.regression_result == stub.Regress(regress, timeout=30).result
    assert len(regressed.regression_result.regressions) == len(EXAMPLES)
    assert [(r.model_spec.version.value, r.model_spec.signature_name) for r in answer.results] == \
        [(2, "classify"), (2, "regress")]
    for tasks, code, said in [
        ((("toy", "regress", api_signatures.REGRESS_METHOD),) * 2, grpc.StatusCode.INVALID_ARGUMENT,
         "Duplicate evaluation of signature: regress"),
        ((("toy", "classify", api_signatures.CLASSIFY_METHOD), ("predict_marked", "regress", api_signatures.REGRESS_METHOD)),
         grpc.StatusCode.INVALID_ARGUMENT, "All ModelSpecs in a MultiInferenceRequest must access the same model name."),
        ((("toy", "", "tensorflow/serving/predict"),), grpc.StatusCode.UNIMPLEMENTED,
         "Unsupported signature method_name: tensorflow/serving/predict"),
    ]:
        with pytest.raises(grpc.RpcError) as raised:
            multi(*tasks)
        assert (raised.value.code(), raised.value.details()) == (code, said)


def test_a_label_moved_in_the_config_file_or_by_a_reload_request_is_served_without_a_restart(predict_marked, tmp_path):
    """`--model_config_file_poll_wait_seconds` (deploy-config's TF Serving command sets it) and
    ModelService's HandleReloadConfigRequest; a config naming a version not served is refused and
    the one in force stays."""
    config = text_format.Parse(pathlib.Path(predict_marked).read_text(encoding="utf-8"),
                               model_server_config_pb2.ModelServerConfig())
    path = tmp_path / "models.config"
    path.write_text(text_format.MessageToString(config), encoding="utf-8")
    toy = next(c for c in config.model_config_list.config if c.name == "toy")
    with serving_server.running(["--model_config_file", str(path), "--model_config_file_poll_wait_seconds", "1",
                                 "--settle-seconds", "0"]) as process, \
            grpc.insecure_channel(process.grpc_target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        models = model_service_pb2_grpc.ModelServiceStub(channel)

        def canary_version():
            request = classification_pb2.ClassificationRequest(model_spec=spec(signature="classify", label="canary"))
            request.input.example_list.examples.add()
            return stub.Classify(request, timeout=30).model_spec.version.value

        assert canary_version() == 2
        toy.version_labels["canary"] = 1
        path.write_text(text_format.MessageToString(config), encoding="utf-8")
        deadline = time.monotonic() + 20
        while canary_version() != 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert canary_version() == 1
        toy.version_labels["ghost"] = 123
        with pytest.raises(grpc.RpcError) as raised:
            models.HandleReloadConfigRequest(model_management_pb2.ReloadConfigRequest(config=config), timeout=60)
        assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "label to version 123 of model toy, which is not currently available" in raised.value.details()
        assert canary_version() == 1
        del toy.version_labels["ghost"]
        toy.version_labels["canary"] = 2
        models.HandleReloadConfigRequest(model_management_pb2.ReloadConfigRequest(config=config), timeout=60)
        assert canary_version() == 2
        assert f"model config {path} applied: serving other, predict_marked, toy" in process.log()


def test_metadata_json_prints_every_field_as_tf_serving_does(server):
    signature_defs = rest(server, "GET", "toy/metadata").json()["metadata"]["signature_def"]
    assert signature_defs["signature_def"]["__saved_model_init_op"]["inputs"] == {}
    assert signature_defs["signature_def"]["__saved_model_init_op"]["method_name"] == ""
    for signature in signature_defs["signature_def"].values():
        assert {"inputs", "outputs", "method_name", "defaults"} <= set(signature), signature
    shape = signature_defs["signature_def"]["serving_default"]["inputs"]["examples"]["tensor_shape"]
    assert shape["unknown_rank"] is False


def test_status_by_label_ignores_the_label_as_tf_serving_does(server):
    for path in ("toy/labels/canary", "toy/labels/no_such_label", "toy/labels/stable"):
        response = rest(server, "GET", path)
        assert response.status_code == 200, response.text
        assert [s["version"] for s in response.json()["model_version_status"]] == ["2", "1"]


def test_paths_are_case_insensitive_and_outside_v1_not_found(server, in_process):
    url = server.rest_url
    assert requests.get(f"{url}/V1/MODELS/toy", timeout=30).status_code == 200
    row = requests.post(f"{url}/V1/Models/toy/Versions/1:predict", timeout=30,
                        json={"instances": b64_instances()})
    assert row.status_code == 200, row.text
    np.testing.assert_array_equal(np.float32(row.json()["predictions"]), expected(in_process, 1))
    for path in ("/v2/models/toy", "/models/toy", "/"):
        assert requests.get(f"{url}{path}", timeout=30).status_code == 404, path
    assert requests.get(f"{url}/v1/nothing", timeout=30).status_code == 400


def latency_counts(server):
    text = requests.get(f"{server.rest_url}/monitoring/prometheus/metrics", timeout=30).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    latency = {(s.labels["model_name"], s.labels["API"], s.labels["entrypoint"]): s.value
               for s in families[":tensorflow:serving:request_latency"].samples
               if s.name.endswith("_count")}
    requests_counted = {(s.labels["model_name"], s.labels["status"]): s.value
                        for s in families[":tensorflow:serving:request_count"].samples}
    return latency, requests_counted


def test_metrics_follow_tf_serving(server, stub):
    """request_latency only for OK requests, REST labelled with the path's method ("" for a GET);
    gRPC GetModelStatus and GetModelMetadata recorded nowhere."""
    predict, model_service, _ = stub
    latency_before, count_before = latency_counts(server)
    assert rest(server, "POST", "toy:predict", json={"instances": b64_instances()}).status_code == 200
    assert rest(server, "POST", "toy:predict", json={"instances": [1]}).status_code == 400
    assert rest(server, "GET", "toy").status_code == 200
    predict.Predict(predict_request(spec()), timeout=30)
    with pytest.raises(grpc.RpcError):
        predict.Predict(predict_request(spec(version=9)), timeout=30)
    model_service.GetModelStatus(get_model_status_pb2.GetModelStatusRequest(model_spec=spec()),
                                 timeout=30)
    predict.GetModelMetadata(get_model_metadata_pb2.GetModelMetadataRequest(
        model_spec=spec(), metadata_field=["signature_def"]), timeout=30)
    latency_after, count_after = latency_counts(server)
    assert {key: value - latency_before.get(key, 0) for key, value in latency_after.items()
            if value != latency_before.get(key, 0)} == {
        ("toy", "predict", "REST"): 1, ("toy", "", "REST"): 1, ("toy", "Predict", "GRPC"): 1}
    assert {key: value - count_before.get(key, 0) for key, value in count_after.items()
            if value != count_before.get(key, 0)} == {("toy", "OK"): 3, ("toy", "INVALID_ARGUMENT"): 1,
                                                      ("toy", "NOT_FOUND"): 1}


def test_grpc_requests_without_a_model_spec_are_invalid_arguments(stub):
    predict, model_service, _ = stub
    calls = [(predict.Predict, predict_pb2.PredictRequest()),
             (predict.Classify, classification_pb2.ClassificationRequest()),
             (predict.Regress, regression_pb2.RegressionRequest()),
             # no metadata_field either: TF Serving looks at the model_spec first
             (predict.GetModelMetadata, get_model_metadata_pb2.GetModelMetadataRequest()),
             (model_service.GetModelStatus, get_model_status_pb2.GetModelStatusRequest())]
    for call, request in calls:
        with pytest.raises(grpc.RpcError) as raised:
            call(request, timeout=30)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert raised.value.details() == "Missing ModelSpec"


def test_a_garbage_grpc_body_is_refused_without_a_server_traceback(server, stub):
    _, _, channel = stub
    raw = channel.unary_unary("/tensorflow.serving.PredictionService/Predict",
                              request_serializer=lambda data: data,
                              response_deserializer=lambda data: data)
    with pytest.raises(grpc.RpcError) as raised:
        raw(b"\xff\xff\xff\xff garbage", timeout=30)
    # What TF Serving's C++ gRPC answers for a request it cannot parse (proto_utils.h)
    assert raised.value.code() == grpc.StatusCode.INTERNAL
    assert raised.value.details().startswith("Failed to parse request"), raised.value.details()
    assert rest(server, "GET", "toy").status_code == 200
    assert "Traceback" not in server.log(), server.log()[-3000:]


def test_an_empty_input_is_named_in_the_error(server):
    response = rest(server, "POST", "toy:predict", json={"inputs": []})
    assert response.status_code == 400
    assert response.json()["error"].startswith("input 'examples' is empty"), response.text


def test_classify_and_regress_method_names_are_the_exported_signatures():
    """serving/api_signatures.py keeps its own copy (importing models/signatures.py would load
    tensorflow_transform and tf_keras into the server)."""
    assert api_signatures.CLASSIFY_METHOD == signatures.CLASSIFY_METHOD_NAME
    assert api_signatures.REGRESS_METHOD == signatures.REGRESS_METHOD_NAME


def test_a_fitting_signature_is_checked_without_printing_it(monkeypatch):
    """The SignatureDef's text (~0.1 ms, twice the whole per-request check) is for errors only."""
    def signature(inputs, outputs):
        built = meta_graph_pb2.SignatureDef()
        for key in inputs:
            built.inputs[key].name = f"{key}:0"
        for key in outputs:
            built.outputs[key].name = f"{key}:0"
        return built

    defs = {"classify": signature(["inputs"], ["scores"]), "regress": signature(["inputs"], ["outputs"]),
            "broken": signature(["examples"], ["scores"])}
    printed = []
    monkeypatch.setattr(api_signatures.text_format, "MessageToString",
                        lambda message, **_: printed.append(message) or "printed")
    for name, method in (("classify", api_signatures.CLASSIFY_METHOD),
                         ("regress", api_signatures.REGRESS_METHOD)):
        assert api_signatures.checked(defs, name, method, named=True) is defs[name]
    assert not printed
    with pytest.raises(ServingError, match="No classification inputs found in SignatureDef: printed"):
        api_signatures.checked(defs, "broken", api_signatures.CLASSIFY_METHOD, named=True)
