"""TF Serving's REST JSON conventions, converted without a server."""
import base64
import re

import grpc
import numpy as np
import pytest

from serving import rest_json
from serving.loaded_version import ServingError


def b64(data: bytes) -> dict:
    return {"b64": base64.b64encode(data).decode()}


def test_row_format_single_input_decodes_b64():
    inputs, row = rest_json.predict_inputs({"instances": [b64(b"\x00a"), b64(b"b")]}, ["examples"])
    assert row
    assert list(inputs) == ["examples"]
    assert inputs["examples"].tolist() == [b"\x00a", b"b"]


def test_row_format_named_inputs_are_stacked_per_input():
    body = {"instances": [{"x": [1.0, 2.0], "s": "a"}, {"x": [3.0, 4.0], "s": "b"}]}
    inputs, row = rest_json.predict_inputs(body, ["x", "s"])
    assert row
    np.testing.assert_array_equal(inputs["x"], [[1.0, 2.0], [3.0, 4.0]])
    assert inputs["s"].tolist() == ["a", "b"]


def test_columnar_format():
    inputs, row = rest_json.predict_inputs({"inputs": {"x": [[1], [2]]}}, ["x"])
    assert not row
    np.testing.assert_array_equal(inputs["x"], [[1], [2]])
    inputs, _ = rest_json.predict_inputs({"inputs": [b64(b"e")]}, ["examples"])
    assert inputs["examples"].tolist() == [b"e"]


@pytest.mark.parametrize("body, expected", [
    ({}, "instances"),
    ({"instances": [1], "inputs": [1]}, "instances"),
    ({"instances": []}, "non-empty"),
    ({"instances": [{"x": 1}, {"y": 1}]}, "same inputs"),
    ({"instances": [[1, 2], [3]]}, "ragged"),
    ({"instances": [{"b64": "%%%"}]}, "base64"),
    ({"inputs": []}, "input 'x' is empty ([])"),
    ({"inputs": {"x": [[]]}}, "input 'x' is empty ([[]])"),
])
def test_malformed_predict_bodies_are_invalid_arguments(body, expected):
    with pytest.raises(ServingError) as raised:
        rest_json.predict_inputs(body, ["x"])
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in raised.value.message


def test_unnamed_instances_need_a_single_input_signature():
    with pytest.raises(ServingError, match="name them"):
        rest_json.predict_inputs({"instances": [1, 2]}, ["a", "b"])


def test_predict_response_shapes():
    one = {"probabilities": np.array([[0.25], [0.5]], dtype=np.float32)}
    assert rest_json.predict_response(one, True) == {"predictions": [[0.25], [0.5]]}
    assert rest_json.predict_response(one, False) == {"outputs": [[0.25], [0.5]]}
    two = {"p": np.array([0.25, 0.5]), "label": np.array([b"no", b"yes"])}
    assert rest_json.predict_response(two, True) == {
        "predictions": [{"p": 0.25, "label": "no"}, {"p": 0.5, "label": "yes"}]}
    assert rest_json.predict_response({"raw_bytes": np.array([b"\xff"], dtype=object)}, False) == {
        "outputs": [b64(b"\xff")]}


def test_json_examples_become_typed_tf_examples_with_context():
    body = {"context": {"company": "Flash Cab"},
            "examples": [{"trip_miles": 1.5, "trip_start_hour": 7, "payment_type": "Cash",
                          "raw": b64(b"\x01"), "areas": [8, 9]}]}
    request_input = rest_json.examples_input(body)
    context = request_input.example_list_with_context.context.features.feature
    assert context["company"].bytes_list.value == [b"Flash Cab"]
    feature = request_input.example_list_with_context.examples[0].features.feature
    assert feature["trip_miles"].float_list.value == [1.5]
    assert feature["trip_start_hour"].int64_list.value == [7]
    assert feature["payment_type"].bytes_list.value == [b"Cash"]
    assert feature["raw"].bytes_list.value == [b"\x01"]
    assert feature["areas"].int64_list.value == [8, 9]


@pytest.mark.parametrize("body", [{}, {"examples": []}, {"examples": [1]},
                                  {"examples": [{"x": [1, "a"]}]}, {"examples": [{"x": None}]}])
def test_malformed_examples_are_invalid_arguments(body):
    with pytest.raises(ServingError) as raised:
        rest_json.examples_input(body)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_error_status_codes_follow_tf_serving():
    assert rest_json.error_body(ServingError(grpc.StatusCode.NOT_FOUND, "gone")) == (404, {"error": "gone"})
    assert rest_json.error_body(ServingError(grpc.StatusCode.INVALID_ARGUMENT, "bad"))[0] == 400
    assert rest_json.error_body(ServingError(grpc.StatusCode.UNAVAILABLE, "later"))[0] == 503
    # http_server.cc's ToHTTPStatusCode has no 412: a failed precondition is a bad request
    assert rest_json.error_body(ServingError(grpc.StatusCode.FAILED_PRECONDITION, "no"))[0] == 400
    assert 412 not in rest_json.HTTP_STATUS.values()


def test_metadata_json_prints_fields_at_their_default_as_tf_serving_does():
    """TF Serving prints with always_print_fields_with_no_presence: a Node client's
    Object.keys(signature.inputs) needs `inputs` on a signature without any."""
    from tensorflow.core.protobuf import meta_graph_pb2  # pylint: disable=import-outside-toplevel
    from tensorflow_serving.apis import get_model_metadata_pb2  # pylint: disable=import-outside-toplevel

    signature_map = get_model_metadata_pb2.SignatureDefMap()
    init_op = signature_map.signature_def["__saved_model_init_op"]
    init_op.outputs["__saved_model_init_op"].CopyFrom(meta_graph_pb2.TensorInfo(name="NoOp"))
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = "toy"
    response.metadata["signature_def"].Pack(signature_map)
    printed = rest_json.metadata_response(response)
    signature = printed["metadata"]["signature_def"]["signature_def"]["__saved_model_init_op"]
    assert signature["inputs"] == {} and signature["method_name"] == "" and signature["defaults"] == {}
    assert signature["outputs"]["__saved_model_init_op"]["dtype"] == "DT_INVALID"
    assert printed["model_spec"] == {"name": "toy", "signature_name": ""}


def test_status_json_prints_defaults_like_tf_serving():
    from tensorflow_serving.apis import get_model_status_pb2  # pylint: disable=import-outside-toplevel

    response = get_model_status_pb2.GetModelStatusResponse()
    status = response.model_version_status.add(
        version=3, state=get_model_status_pb2.ModelVersionStatus.AVAILABLE)
    status.status.error_code = 0  # as the server fills it: OK
    assert rest_json.message(response) == {"model_version_status": [
        {"version": "3", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}


@pytest.mark.parametrize("value, shown", [(None, "null"), (True, "true"), ([1, "a"], '[1, "a"]')])
def test_a_wrong_feature_value_is_quoted_as_the_client_wrote_it(value, shown):
    with pytest.raises(ServingError, match=rf"feature 'x': {re.escape(shown)} is not a number"):
        rest_json.examples_input({"examples": [{"x": value}]})
