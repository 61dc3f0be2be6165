"""SavedModel warmup: `assets.extra/tf_serving_warmup_requests`, TF Serving's format for requests it
replays on a new version before serving it, so the first real requests do not pay for graph
initialisation (https://www.tensorflow.org/tfx/serving/saved_model_warmup).

The records are PredictionLog protos in a TFRecord file; both TF Serving and our server replay them.
"""
import asyncio
import os
from typing import Iterable, List, Sequence

import tensorflow as tf
from tensorflow_serving.apis import (
    classification_pb2, model_pb2, predict_pb2, prediction_log_pb2, regression_pb2,
)

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MAX_RECORDS = 1000  # TF Serving fails the load of a version with more


def requests_for(model_name: str, serialized_examples: Sequence[bytes], task: str = "binary"
                 ) -> List[prediction_log_pb2.PredictionLog]:
    """Predict for one example and for the whole batch (the two shapes clients send), then, on the
    batch, Classify (classification tasks) and Regress (binary and regression: the signatures
    models/signatures.py exports), so no API's first request after a push pays for its graph."""
    logs = []
    for batch in (serialized_examples[:1], serialized_examples):
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name="serving_default"))
        request.inputs["examples"].CopyFrom(tf.make_tensor_proto(list(batch), dtype=tf.string))
        logs.append(prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)))
    examples = [tf.train.Example.FromString(serialized) for serialized in serialized_examples]
    if task != "regression":
        classify = classification_pb2.ClassificationRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name="classify"))
        classify.input.example_list.examples.extend(examples)
        logs.append(prediction_log_pb2.PredictionLog(classify_log=prediction_log_pb2.ClassifyLog(request=classify)))
    if task != "multiclass":
        regress = regression_pb2.RegressionRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name="regress"))
        regress.input.example_list.examples.extend(examples)
        logs.append(prediction_log_pb2.PredictionLog(regress_log=prediction_log_pb2.RegressLog(request=regress)))
    return logs


def write(saved_model_dir: str, logs: Iterable[prediction_log_pb2.PredictionLog]) -> str:
    path = os.path.join(saved_model_dir, WARMUP_FILE)
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.TFRecordWriter(path) as writer:
        for log in logs:
            writer.write(log.SerializeToString(deterministic=True))  # a model pushed twice: the same files
    return path


def read(saved_model_dir: str) -> List[prediction_log_pb2.PredictionLog]:
    path = os.path.join(saved_model_dir, WARMUP_FILE)
    if not tf.io.gfile.exists(path):
        return []
    logs = []
    for record in tf.data.TFRecordDataset(path).take(MAX_RECORDS + 1).as_numpy_iterator():
        logs.append(prediction_log_pb2.PredictionLog.FromString(record))
    if len(logs) > MAX_RECORDS:  # TF Serving refuses to load such a version: so do we
        raise ValueError(f"{path} has more than {MAX_RECORDS} warmup records")
    return logs


def replay(server, loaded) -> int:
    """Runs a version's warmup requests on it (before it is served); an error fails the load, as in
    TF Serving. Returns the number of requests replayed. Runs on an event loop of its own, in the
    thread that loads the version."""
    return asyncio.run(_replay(server, loaded))


async def _replay(server, loaded) -> int:
    from serving import api  # pylint: disable=import-outside-toplevel  (api imports servables)

    logs = read(loaded.path)
    for log in logs:
        kind = log.WhichOneof("log_type")
        if kind == "predict_log":
            request = log.predict_log.request
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            await server.run(request.model_spec, inputs, loaded=loaded)
        elif kind in ("classify_log", "regress_log"):
            request = getattr(log, kind).request
            method = api.CLASSIFY_METHOD if kind == "classify_log" else api.REGRESS_METHOD
            await server.run(request.model_spec, {"inputs": api.serialized_examples(request.input)},
                             method, loaded=loaded)
        else:
            raise ValueError(f"warmup record of type {kind} is not supported")
    return len(logs)
