"""Serving signatures of the exported SavedModel, for TF Serving and for TFMA, by task.

Every signature takes serialized raw `tf.Example`s and runs the Transform graph inside the model, so a
client sends raw feature values and nothing is recomputed by hand (no training/serving skew).
- `serving_default` (TF Serving `:predict`): `examples` -> `probabilities` (binary: [batch, 1] =
  P(second class); multi-class: [batch, n_classes]) or `predictions` (regression: [batch, 1]).
- `classify` (classification; TF Serving `:classify`): `inputs` -> `classes`, `scores`
  [batch, n_classes], the declared class names.
- `regress` (TF Serving `:regress`): `inputs` -> `outputs` [batch, 1]: the prediction (regression)
  or P(second class) (binary, as TF's canned binary classifiers export it).
- `transform_features`: raw examples (label included) -> transformed features; TFMA uses it to get
  the label the model was trained on.
"""
import json
import os
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tensorflow.core.protobuf import saved_model_pb2

from models.dataset import Dataset, Task

CLASSIFY_METHOD_NAME = "tensorflow/serving/classify"
CLASSIFY_SIGNATURE = "classify"
REGRESS_METHOD_NAME = "tensorflow/serving/regress"
REGRESS_SIGNATURE = "regress"
METHOD_NAMES = {CLASSIFY_SIGNATURE: CLASSIFY_METHOD_NAME, REGRESS_SIGNATURE: REGRESS_METHOD_NAME}
# The raw feature names the model parses, in the declaration's order: the signatures take serialized
# examples, which name no inputs, and `score` must send what this version was trained on, not what the
# declaration says today. In `assets.extra`, where TF Serving keeps files it does not load.
FEATURES_FILE = os.path.join("assets.extra", "features.json")


def prediction_key(task: Task) -> str:
    """Name of `serving_default`'s output."""
    return "predictions" if task is Task.REGRESSION else "probabilities"


def class_probabilities(answers: np.ndarray) -> np.ndarray:
    """A classification model's `serving_default` answers as one probability per class
    ([batch, n_classes]): a binary model answers P(second class) alone, as `classify` widens it."""
    return np.concatenate([1 - answers, answers], axis=1) if answers.shape[1] == 1 else answers


def export(model: keras.Model, dataset: Dataset, tf_transform_output: tft.TFTransformOutput,
           export_dir: str) -> None:
    model.tft_layer = tf_transform_output.transform_features_layer()  # tracked: saved with the model
    raw_spec = tf_transform_output.raw_feature_spec()
    serving_spec = {name: raw_spec[name] for name in dataset.feature_names()}
    feature_keys = [model_input.name for model_input in dataset.model_inputs()]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)], autograph=False)
    def model_output(serialized: tf.Tensor) -> tf.Tensor:
        transformed = model.tft_layer(tf.io.parse_example(serialized, serving_spec))
        return model({key: transformed[key] for key in feature_keys})

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")], autograph=False)
    def transform_features(examples):
        return model.tft_layer(tf.io.parse_example(examples, raw_spec))

    model.save(
        export_dir,
        save_format="tf",
        save_traces=False,  # per-layer call traces: 10+ s to write, unused by our signatures
        signatures={**tf_serving_signatures(model_output, dataset.task, dataset.label.classes),
                    "transform_features": transform_features},
    )
    set_method_names(export_dir, METHOD_NAMES)
    write_trained_features(export_dir, dataset.feature_names())


def write_trained_features(export_dir: str, names: Sequence[str]) -> None:
    tf.io.gfile.makedirs(os.path.join(export_dir, os.path.dirname(FEATURES_FILE)))
    with tf.io.gfile.GFile(os.path.join(export_dir, FEATURES_FILE), "w") as f:
        f.write(json.dumps(list(names)))


def trained_features(export_dir: str) -> Optional[List[str]]:
    """The raw features the model in `export_dir` parses; None for a model exported without the list."""
    path = os.path.join(export_dir, FEATURES_FILE)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return json.loads(f.read())


def tf_serving_signatures(model_output: Callable[[tf.Tensor], tf.Tensor], task: Task = Task.BINARY,
                          classes: Sequence[str] = ("0", "1")) -> Dict[str, Any]:
    """The TF Serving signatures of `task` over a function from serialized raw tf.Examples to the
    model's output ([batch, 1] for binary and regression, [batch, n_classes] for multi-class)."""
    key = prediction_key(task)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")], autograph=False)
    def predict(examples):
        return {key: model_output(examples)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")], autograph=False)
    def classify(inputs):
        scores = model_output(inputs)
        if task is Task.BINARY:
            scores = tf.concat([1.0 - scores, scores], axis=1)
        names = tf.tile(tf.constant([list(classes)]), [tf.shape(scores)[0], 1])
        return {"classes": names, "scores": scores}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")], autograph=False)
    def regress(inputs):
        return {"outputs": model_output(inputs)}

    found = {"serving_default": predict}
    if task.is_classification:
        found[CLASSIFY_SIGNATURE] = classify
    if task is not Task.MULTICLASS:
        found[REGRESS_SIGNATURE] = regress
    return found


def set_method_names(export_dir: str, method_names: Dict[str, str]) -> None:
    """TF2's saver marks every signature 'predict'; TF Serving's Classify/Regress APIs require their
    own method names. No TF2 API sets them (tensorflow/tensorflow#38081), so the proto is patched."""
    path = os.path.join(export_dir, "saved_model.pb")
    saved_model = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(path, "rb") as f:
        saved_model.ParseFromString(f.read())
    for meta_graph in saved_model.meta_graphs:
        for signature, method_name in method_names.items():
            if signature in meta_graph.signature_def:
                meta_graph.signature_def[signature].method_name = method_name
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(saved_model.SerializeToString())
