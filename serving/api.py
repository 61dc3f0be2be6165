"""TF Serving's API operations (Predict, Classify, Regress, MultiInference, GetModelMetadata,
GetModelStatus) over
the served model versions, on the request/response protos of `tensorflow-serving-api`.

Both transports call this module: gRPC passes its protos through, REST converts its JSON to the same
protos (serving/rest_json.py), so the two answer identically by construction. The operations are
coroutines because a model call may wait for its batch (serving/batching.py) while the event loop
takes other requests; without batching they never suspend.
"""
import re
from typing import Dict, Mapping, Optional, Tuple

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (
    classification_pb2, get_model_metadata_pb2, get_model_status_pb2, inference_pb2, model_pb2,
    predict_pb2, regression_pb2,
)

from serving import api_signatures, tensors
from serving.batching import Batcher
from serving.metrics import ServingMetrics, Stopwatch
from serving.loaded_version import InputType, LoadedVersion, ServingError
from serving.servables import ModelVersions

DEFAULT_SIGNATURE = "serving_default"
CLASSIFY_METHOD = api_signatures.CLASSIFY_METHOD
REGRESS_METHOD = api_signatures.REGRESS_METHOD
_API_OF_METHOD = {CLASSIFY_METHOD: "Classify", REGRESS_METHOD: "Regress"}
_INVALID = grpc.StatusCode.INVALID_ARGUMENT
_GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}


class ModelServer:
    """The models a server serves, by name."""

    def __init__(self, models: Mapping[str, ModelVersions],
                 metrics: Optional[ServingMetrics] = None, batcher: Optional[Batcher] = None):
        self.models = dict(models)
        self.metrics = metrics
        self.batcher = batcher  # None: each request runs its own Session call
        self.reloader = None  # serving/model_config.Reloader: HandleReloadConfigRequest

    def _model(self, name: str) -> ModelVersions:
        model = self.models.get(name)  # once: a config reload may replace the dict meanwhile
        if model is None:
            raise ServingError(grpc.StatusCode.NOT_FOUND,
                               f"Servable not found for request: Latest({name})")
        return model

    @staticmethod
    def _spec(request) -> model_pb2.ModelSpec:
        """The request's model_spec: a gRPC request may leave it out, which TF Serving refuses."""
        if not request.HasField("model_spec"):
            raise ServingError(_INVALID, "Missing ModelSpec")
        return request.model_spec

    def resolve(self, spec: model_pb2.ModelSpec) -> LoadedVersion:
        version = spec.version.value if spec.HasField("version") else None
        return self._model(spec.name).resolve(version, spec.version_label)

    async def run(self, spec: model_pb2.ModelSpec, inputs: Mapping[str, np.ndarray],
            method: Optional[str] = None, loaded: Optional[LoadedVersion] = None
            ) -> Tuple[LoadedVersion, str, Dict[str, np.ndarray]]:
        """Runs one signature on named numpy inputs, checked against the signature's inputs.
        `loaded`: the version already resolved for this request (REST needs its input names)."""
        loaded = loaded or self.resolve(spec)
        name = spec.signature_name or DEFAULT_SIGNATURE
        if method:  # Classify, Regress
            api_signatures.checked(loaded.signature_defs, name, method, bool(spec.signature_name))
        else:
            loaded.signature(name)  # Predict: FAILED_PRECONDITION, as predict_util.cc answers
        expected = loaded.input_types(name)
        extra, missing = sorted(set(inputs) - set(expected)), sorted(set(expected) - set(inputs))
        if extra or missing:
            raise ServingError(_INVALID, f"Request inputs do not match required inputs for model "
                               f"`{spec.name}`. Send extra: {{{', '.join(extra)}}}. Missing but "
                               f"required: {{{', '.join(missing)}}}.")
        arrays = {key: _checked(key, value, expected[key]) for key, value in inputs.items()}
        stopwatch = Stopwatch()
        try:
            if self.batcher is not None:
                outputs = await self.batcher.run(loaded, name, arrays)
            else:
                outputs = loaded.run(name, arrays)
        except tf.errors.OpError as error:  # TF's codes are the canonical gRPC codes
            said = _first_line(error)
            if _MORE_THAN_ONE_VALUE.search(said):  # a [batch, 1] densified from a feature of several values
                said += "; a feature sent with more than one value? Each feature of this model takes one per example"
            raise ServingError(_GRPC_CODES.get(error.error_code, grpc.StatusCode.INTERNAL), said) from None
        except (ValueError, TypeError) as error:  # a feed numpy could not hand to TensorFlow
            raise ServingError(_INVALID, _first_line(error)) from None
        if self.metrics is not None:
            self.metrics.model_run(spec.name, _API_OF_METHOD.get(method, "Predict"), stopwatch.seconds)
        return loaded, name, outputs

    async def predict(self, request: predict_pb2.PredictRequest) -> predict_pb2.PredictResponse:
        spec = self._spec(request)
        inputs = {key: _tensor_proto_to_array(key, proto) for key, proto in request.inputs.items()}
        loaded, name, outputs = await self.run(spec, inputs)
        response = predict_pb2.PredictResponse()
        _fill_spec(response.model_spec, request.model_spec.name, loaded, name)
        wanted = list(request.output_filter) or list(outputs)
        for key in wanted:
            if key not in outputs:
                raise ServingError(_INVALID, f"output tensor alias not found in signature: {key}")
            tensors.fill(response.outputs[key], outputs[key])
        return response

    def _count_examples(self, model_name: str, examples: np.ndarray) -> np.ndarray:
        if self.metrics is not None:
            self.metrics.examples(model_name, len(examples))
        return examples

    async def classify(self, request: classification_pb2.ClassificationRequest
                 ) -> classification_pb2.ClassificationResponse:
        spec = self._spec(request)
        examples = self._count_examples(spec.name, serialized_examples(request.input))
        loaded, name, outputs = await self.run(spec, {"inputs": examples}, CLASSIFY_METHOD)
        response = classification_pb2.ClassificationResponse()
        _fill_spec(response.model_spec, request.model_spec.name, loaded, name)
        _fill_classifications(response.result, outputs)
        return response

    async def regress(self, request: regression_pb2.RegressionRequest
                ) -> regression_pb2.RegressionResponse:
        spec = self._spec(request)
        examples = self._count_examples(spec.name, serialized_examples(request.input))
        loaded, name, outputs = await self.run(spec, {"inputs": examples}, REGRESS_METHOD)
        response = regression_pb2.RegressionResponse()
        _fill_spec(response.model_spec, request.model_spec.name, loaded, name)
        _fill_regressions(response.result, outputs)
        return response

    async def multi_inference(self, request: inference_pb2.MultiInferenceRequest
                              ) -> inference_pb2.MultiInferenceResponse:
        """Classify and Regress signatures of one model version on one input, checked as TF
        Serving's multi_inference.cc checks them (the first task's spec picks the version; one model
        name; each signature once). Each task is its own model call, where TF Serving fetches every
        output in one: the answers are the same."""
        tasks = list(request.tasks)
        if not tasks or not tasks[0].model_spec.name:  # the first task's spec names the servable
            raise ServingError(_INVALID, "ModelSpec has no name specified.")
        loaded = self.resolve(tasks[0].model_spec)
        examples, names = serialized_examples(request.input), set()
        self._count_examples(tasks[0].model_spec.name, examples)
        for task in tasks:
            if not task.model_spec.name:
                raise ServingError(_INVALID, "Found ModelSpec with an empty model name.")
            if task.model_spec.name != tasks[0].model_spec.name:
                raise ServingError(_INVALID, "All ModelSpecs in a MultiInferenceRequest must access the same model name.")
            name = task.model_spec.signature_name or DEFAULT_SIGNATURE
            if name in names:
                raise ServingError(_INVALID, f"Duplicate evaluation of signature: {name}")
            names.add(name)
            if name not in loaded.signature_defs:
                raise ServingError(_INVALID, f"Requested signature not found in model graph: {name}")
            if task.method_name not in (CLASSIFY_METHOD, REGRESS_METHOD):
                raise ServingError(grpc.StatusCode.UNIMPLEMENTED,
                                   f"Unsupported signature method_name: {task.method_name}")
        response = inference_pb2.MultiInferenceResponse()
        for task in tasks:
            _, name, outputs = await self.run(task.model_spec, {"inputs": examples}, task.method_name, loaded)
            result = response.results.add()
            _fill_spec(result.model_spec, task.model_spec.name, loaded, name)
            if task.method_name == CLASSIFY_METHOD:
                _fill_classifications(result.classification_result, outputs)
            else:
                _fill_regressions(result.regression_result, outputs)
        return response

    async def metadata(self, request: get_model_metadata_pb2.GetModelMetadataRequest
                 ) -> get_model_metadata_pb2.GetModelMetadataResponse:
        spec = self._spec(request)  # TF Serving checks it first (get_model_metadata_impl.cc)
        fields = list(request.metadata_field)
        if fields != ["signature_def"]:
            raise ServingError(_INVALID, "Metadata field signature_def is the only one supported;"
                               f" got {fields}")
        loaded = self.resolve(spec)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        _fill_spec(response.model_spec, request.model_spec.name, loaded, "")
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for key, signature_def in loaded.signature_defs.items():
            signature_map.signature_def[key].CopyFrom(signature_def)
        response.metadata["signature_def"].Pack(signature_map)
        return response

    async def status(self, request: get_model_status_pb2.GetModelStatusRequest
               ) -> get_model_status_pb2.GetModelStatusResponse:
        spec = self._spec(request)
        model = self.models.get(spec.name)
        if model is None:
            raise ServingError(grpc.StatusCode.NOT_FOUND,
                               f"Could not find any versions of model {spec.name}")
        # A version label is not looked at: TF Serving answers for every version (get_model_status_impl.cc)
        version = spec.version.value if spec.HasField("version") else None
        response = get_model_status_pb2.GetModelStatusResponse()
        for number, state in sorted(model.states(version).items(), reverse=True):
            status = response.model_version_status.add(version=number, state=state.state)
            status.status.error_code = 2 if state.error else 0  # UNKNOWN / OK
            status.status.error_message = state.error
        return response


def serialized_examples(request_input) -> np.ndarray:
    """tensorflow.serving.Input -> serialized tf.Examples; context features go into every example."""
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        examples = list(request_input.example_list.examples)
    elif kind == "example_list_with_context":
        context = request_input.example_list_with_context.context
        examples = []
        for example in request_input.example_list_with_context.examples:
            merged = tf.train.Example()
            merged.CopyFrom(context)
            merged.MergeFrom(example)
            examples.append(merged)
    else:
        raise ServingError(_INVALID, "Input is empty")
    if not examples:
        raise ServingError(_INVALID, "Input is empty")
    return np.array([e.SerializeToString() for e in examples], dtype=object)


def _tensor_proto_to_array(key: str, proto) -> np.ndarray:
    try:
        return tensors.to_array(proto)
    except (TypeError, ValueError) as error:
        raise ServingError(_INVALID, f"input {key!r}: {_first_line(error)}") from None


def _checked(key: str, value, expected: InputType) -> np.ndarray:
    """`value` as the signature input's dtype and shape, or a ServingError naming what is wrong
    (TF Serving checks requests against the SignatureDef the same way)."""
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nested lists
        raise ServingError(_INVALID, f"input {key!r}: {_first_line(error)}") from None
    dims = expected.dims
    accepted = array.dtype.kind in expected.kinds
    if accepted and array.dtype.kind == "O":  # accepted for strings only: bytes or str items
        accepted = all(isinstance(item, (bytes, str)) for item in array.flat)
    if not accepted:
        raise ServingError(_INVALID, f"input {key!r} must be {expected.dtype.name}, got "
                           f"{array.dtype.name} values")
    if dims is not None and (len(dims) != array.ndim or any(
            size is not None and size != actual for size, actual in zip(dims, array.shape))):
        raise ServingError(_INVALID, f"input {key!r} has shape {list(array.shape)}, the "
                           f"signature expects {list(dims)}")
    return array.astype(expected.numpy_dtype, copy=False)


def _fill_classifications(result: classification_pb2.ClassificationResult, outputs) -> None:
    scores, classes = outputs.get("scores"), outputs.get("classes")
    for row in range(len(scores if scores is not None else classes)):
        classification = result.classifications.add()
        for column in range(len((scores if scores is not None else classes)[row])):
            item = classification.classes.add()
            if classes is not None:
                item.label = _text(classes[row][column])
            if scores is not None:
                item.score = float(scores[row][column])


def _fill_regressions(result: regression_pb2.RegressionResult, outputs) -> None:
    values = np.asarray(outputs["outputs"])
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    for value in values:
        result.regressions.add(value=float(value))


def _fill_spec(spec: model_pb2.ModelSpec, name: str, loaded: LoadedVersion, signature: str):
    spec.name = name
    spec.version.value = loaded.version
    spec.signature_name = signature


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


_FUNCTION_NODE = re.compile(r"\{\{function_node [^}]*\}\}\s*")  # which traced function raised it


_MORE_THAN_ONE_VALUE = re.compile(r"is out of bounds: need 0 <= index < \[\d+,1\]")


def _first_line(error: Exception) -> str:
    """The part of an error a client can act on: TF's runtime errors wrap it in graph trace lines."""
    text = _FUNCTION_NODE.sub("", getattr(error, "message", None) or str(error))
    noise = ("Graph execution error", "Detected at node", "<stack traces unavailable>", "[[")
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.strip().startswith(noise)]
    return "; ".join(lines) or type(error).__name__
