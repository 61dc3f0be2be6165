"""A small client for TF Serving's REST and gRPC APIs; works against `tfxpipe serve` and the real
`tensorflow_model_server` alike. Requests carry serialized raw tf.Examples (serving/examples.py)."""
import base64
import json
from typing import Optional, Sequence, Tuple

import grpc
import numpy as np
import urllib3
from tensorflow_serving.apis import (
    get_model_status_pb2, model_service_pb2_grpc, predict_pb2,
    prediction_service_pb2_grpc,
)

from serving import tensors

SIGNATURE = "serving_default"


def rest_predict_body(serialized_examples: Sequence[bytes]) -> dict:
    """TF Serving's JSON for a Predict on serialized tf.Examples (rows of base64 bytes)."""
    return {"signature_name": SIGNATURE,
            "instances": [{"b64": base64.b64encode(e).decode()} for e in serialized_examples]}


def grpc_predict_request(model: str, serialized_examples: Sequence[bytes],
                         version: Optional[int] = None) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()  # built in place: no copies
    request.model_spec.name = model
    request.model_spec.signature_name = SIGNATURE
    if version is not None:
        request.model_spec.version.value = version
    tensors.fill_strings(request.inputs["examples"], serialized_examples)
    return request


class ServerError(RuntimeError):
    """The server refused a request; `status` is the HTTP status or the gRPC code name."""

    def __init__(self, status, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class RestClient:
    """urllib3 rather than `requests`: same connection pooling, less overhead per request, which
    matters against a model call of about a millisecond (benchmarks/serving_latency.py)."""

    def __init__(self, url: str, model: str, timeout: float = 30.0):
        self._url = f"{url.rstrip('/')}/v1/models/{model}"
        # One retry, on connection errors only for POST: a request the server never read.
        self._pool = urllib3.PoolManager(timeout=timeout, retries=urllib3.Retry(1, redirect=False))

    def _path(self, version: Optional[int]) -> str:
        return self._url if version is None else f"{self._url}/versions/{version}"

    def _send(self, method: str, url: str, body=None) -> dict:
        response = self._pool.request(
            method, url, body=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"})
        try:
            payload = json.loads(response.data)
        except ValueError:
            payload = {"error": response.data.decode("utf-8", "replace")}
        if response.status != 200:
            raise ServerError(response.status, payload.get("error", ""))
        return payload

    def predict(self, serialized_examples: Sequence[bytes], version: Optional[int] = None
                ) -> np.ndarray:
        """The predict signature's answer for each example: [n, 1] (binary: P(second class);
        regression: the value) or [n, n_classes] (multi-class probabilities)."""
        payload = self._send("POST", f"{self._path(version)}:predict",
                             rest_predict_body(serialized_examples))
        return np.asarray(payload["predictions"], dtype=np.float32)

    def status(self) -> dict:
        return self._send("GET", self._url)

    def close(self) -> None:
        self._pool.clear()


class GrpcClient:
    def __init__(self, target: str, model: str, timeout: float = 30.0):
        self._channel = grpc.insecure_channel(target)
        self._predictions = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)
        self._model = model
        self._timeout = timeout

    def predict_with_version(self, serialized_examples: Sequence[bytes],
                             version: Optional[int] = None) -> Tuple[np.ndarray, int]:
        """The predict signature's (single) output for each example, and the version that answered."""
        request = grpc_predict_request(self._model, serialized_examples, version)
        try:
            response = self._predictions.Predict(request, timeout=self._timeout)
        except grpc.RpcError as error:
            raise ServerError(error.code().name, error.details()) from None
        (output,) = response.outputs.values()
        return tensors.to_array(output), response.model_spec.version.value

    def predict(self, serialized_examples: Sequence[bytes], version: Optional[int] = None
                ) -> np.ndarray:
        return self.predict_with_version(serialized_examples, version)[0]

    def status(self) -> get_model_status_pb2.GetModelStatusResponse:
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = self._model
        try:
            return self._models.GetModelStatus(request, timeout=self._timeout)
        except grpc.RpcError as error:
            raise ServerError(error.code().name, error.details()) from None

    def close(self) -> None:
        self._channel.close()


def connect(server: str, model: str):
    """`http://host:port` -> REST client; `grpc://host:port` or `host:port` -> gRPC client."""
    if server.startswith(("http://", "https://")):
        return RestClient(server, model)
    return GrpcClient(server.removeprefix("grpc://"), model)
