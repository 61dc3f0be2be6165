"""TF Serving's REST JSON format (https://www.tensorflow.org/tfx/serving/api_rest) <-> arrays/protos.

Written by hand because TF Serving's own converter (json_tensor.cc) is C++ inside the server binary;
`tensorflow-serving-api` ships only the protos. Rules kept from it: row (`instances`) and columnar
(`inputs`) predict requests, `{"b64": ...}` for bytes, `*_bytes` outputs base64-encoded, tf.Example
features from JSON (integers -> int64_list, other numbers -> float_list, strings -> bytes_list).
"""
import base64
import json
from typing import Any, Dict, Mapping, Sequence, Tuple

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from tensorflow_serving.apis import (
    classification_pb2, get_model_metadata_pb2, input_pb2, regression_pb2,
)

from serving.loaded_version import ServingError

_INVALID = grpc.StatusCode.INVALID_ARGUMENT

# TF Serving's http_server.cc ToHTTPStatusCode.
HTTP_STATUS = {
    grpc.StatusCode.OK: 200, grpc.StatusCode.CANCELLED: 499, grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404, grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403, grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400, grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400, grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500, grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500, grpc.StatusCode.UNAUTHENTICATED: 401,
}


def _decode_b64(value: Any) -> Any:
    """Replaces every {"b64": "..."} by its bytes, recursively."""
    if isinstance(value, dict):
        if set(value) == {"b64"} and isinstance(value["b64"], str):
            try:
                return base64.b64decode(value["b64"], validate=True)
            except ValueError:
                raise ServingError(_INVALID, f"{value['b64'][:40]!r} is not valid base64") from None
        raise ServingError(_INVALID, f"unexpected JSON object {list(value)} in a tensor value")
    if isinstance(value, list):
        return [_decode_b64(item) for item in value]
    return value


def _array(name: str, value: Any) -> np.ndarray:
    value = _decode_b64(value)
    try:
        array = np.array(value)
    except ValueError:
        raise ServingError(_INVALID, f"input {name!r} is ragged: every instance must have the "
                           "same shape") from None
    if array.size == 0:  # nothing to run, nor to tell its type from
        raise ServingError(_INVALID, f"input {name!r} is empty ({_as_sent(value)}): send at least "
                           "one value")
    if array.dtype.kind in "USO":
        return np.array(value, dtype=object)
    return array


def predict_inputs(body: Mapping, input_names: Sequence[str]) -> Tuple[Dict[str, np.ndarray], bool]:
    """Request body -> (named inputs, row format?)."""
    if ("instances" in body) == ("inputs" in body):
        raise ServingError(_INVALID, 'Missing or ambiguous "instances" / "inputs": send exactly one')
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise ServingError(_INVALID, '"instances" must be a non-empty list')
        named = all(isinstance(i, dict) and set(i) != {"b64"} for i in instances)
        if not named:
            return {_single(input_names): _array(_single(input_names), instances)}, True
        keys = set(instances[0])
        for index, instance in enumerate(instances):
            if set(instance) != keys:
                raise ServingError(_INVALID, f"instance {index} has inputs {sorted(instance)}, "
                                   f"instance 0 has {sorted(keys)}: all must name the same inputs")
        return {key: _array(key, [i[key] for i in instances]) for key in keys}, True
    inputs = body["inputs"]
    if isinstance(inputs, dict) and set(inputs) != {"b64"}:
        return {key: _array(key, value) for key, value in inputs.items()}, False
    return {_single(input_names): _array(_single(input_names), inputs)}, False


def _single(input_names: Sequence[str]) -> str:
    if len(input_names) != 1:
        raise ServingError(_INVALID, f"the signature has inputs {sorted(input_names)}: name them "
                           "(a JSON object per instance)")
    return input_names[0]


def _jsonable(name: str, array: np.ndarray) -> Any:
    if array.dtype.kind in "SO":
        if name.endswith("_bytes"):
            return np.vectorize(lambda b: {"b64": base64.b64encode(b).decode()},
                                otypes=[object])(array).tolist()
        return np.vectorize(lambda b: b.decode("utf-8", "replace") if isinstance(b, bytes) else b,
                            otypes=[object])(array).tolist()
    return array.tolist()


def predict_response(outputs: Mapping[str, np.ndarray], row_format: bool) -> Dict[str, Any]:
    values = {key: _jsonable(key, value) for key, value in outputs.items()}
    if not row_format:
        return {"outputs": next(iter(values.values())) if len(values) == 1 else values}
    if len(values) == 1:
        return {"predictions": next(iter(values.values()))}
    batch = len(next(iter(values.values())))
    return {"predictions": [{key: value[i] for key, value in values.items()} for i in range(batch)]}


def _as_sent(value: Any) -> str:
    """A JSON value as the client wrote it (`true`, `null`), not as Python shows it."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _feature(name: str, value: Any, feature: tf.train.Feature) -> None:
    values = value if isinstance(value, list) else [value]
    values = _decode_b64(values)
    if all(isinstance(v, (bytes, str)) for v in values):
        feature.bytes_list.value.extend(v.encode() if isinstance(v, str) else v for v in values)
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        if any(not -(1 << 63) <= v < 1 << 63 for v in values):
            raise ServingError(_INVALID, f"feature {name!r}: {_as_sent(value)} is out of the int64 range")
        feature.int64_list.value.extend(values)
    elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        feature.float_list.value.extend(values)
    else:
        raise ServingError(_INVALID, f"feature {name!r}: {_as_sent(value)} is not a number, a string, "
                           "{\"b64\": ...} or a list of one kind of these")


def _example(features: Any, where: str) -> tf.train.Example:
    if not isinstance(features, dict):
        raise ServingError(_INVALID, f"{where} must be a JSON object of features")
    example = tf.train.Example()
    for name, value in features.items():
        _feature(name, value, example.features.feature[name])
    return example


def examples_input(body: Mapping) -> input_pb2.Input:
    examples = body.get("examples")
    if not isinstance(examples, list) or not examples:
        raise ServingError(_INVALID, '"examples" must be a non-empty list of JSON objects')
    request_input = input_pb2.Input()
    if "context" in body:
        target = request_input.example_list_with_context
        target.context.CopyFrom(_example(body["context"], '"context"'))
    else:
        target = request_input.example_list
    for index, features in enumerate(examples):
        target.examples.add().CopyFrom(_example(features, f"examples[{index}]"))
    return request_input


def classify_response(response: classification_pb2.ClassificationResponse) -> Dict[str, Any]:
    return {"result": [[[c.label, c.score] for c in item.classes]
                       for item in response.result.classifications]}


def regress_response(response: regression_pb2.RegressionResponse) -> Dict[str, Any]:
    return {"result": [r.value for r in response.result.regressions]}


def message(proto) -> Dict[str, Any]:
    """Proto -> JSON the way TF Serving prints it (always_print_fields_with_no_presence): field
    names as in the proto, fields at their default value shown (`"method_name": ""`, `"inputs": {}`)."""
    return json_format.MessageToDict(proto, preserving_proto_field_name=True,
                                     including_default_value_fields=True)


def metadata_response(response) -> Dict[str, Any]:
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signature_map)
    return {"model_spec": message(response.model_spec),
            "metadata": {"signature_def": message(signature_map)}}


def error_body(error: ServingError) -> Tuple[int, Dict[str, str]]:
    return HTTP_STATUS.get(error.code, 500), {"error": error.message}
