"""The model families a run can train and compare: linear, DNN and wide-and-deep, all Keras 2.

Every family reads the same transformed features (declared in `models/dataset.py`), ends in the
task's head and exports the same serving signatures (`models/signatures.py`), so whichever wins
deploys on the stock TF Serving binary: only core TensorFlow ops, no custom ones.
- `linear`: numeric features and one-hot categorical ids straight into the head (logistic,
  softmax or linear regression);
- `dnn`: numeric features and embeddings of the categorical ids through dense layers;
- `wide_deep`: the DNN beside a linear (wide) part over the one-hot ids, joined at the head.
"""
import math
from typing import Any, Dict, List, Mapping, Tuple

import tensorflow as tf
import tf_keras as keras

from models.dataset import Dataset, Task

LINEAR, DNN, WIDE_DEEP = "linear", "dnn", "wide_deep"
FAMILIES = (LINEAR, DNN, WIDE_DEEP)
DEFAULT_FAMILY = WIDE_DEEP

DEFAULT_HYPERPARAMETERS: Dict[str, Any] = {
    "batch_size": 64,
    "learning_rate": 0.002,
    "hidden_units": [64, 32],
    "dropout": 0.0,  # after each hidden layer (dnn, wide_deep)
    "embedding_scale": 1.0,  # multiplies each embedding's width (dnn, wide_deep)
}
# What each family's network uses: the linear one has no hidden layers or embeddings.
USED_HYPERPARAMETERS = {
    LINEAR: frozenset({"batch_size", "learning_rate"}),
    DNN: frozenset(DEFAULT_HYPERPARAMETERS),
    WIDE_DEEP: frozenset(DEFAULT_HYPERPARAMETERS),
}


class UnknownFamilyError(ValueError):
    pass


def check_families(names: Tuple[str, ...]) -> Tuple[str, ...]:
    """The families asked for, each known and named once; the error lists the known ones."""
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise UnknownFamilyError(f"unknown model famil{'ies' if len(unknown) > 1 else 'y'} "
                                 f"{', '.join(unknown)}; known: {', '.join(FAMILIES)}")
    if not names:
        raise UnknownFamilyError(f"name at least one model family: {', '.join(FAMILIES)}")
    return tuple(dict.fromkeys(names))


def unused_hyperparameters(names: Tuple[str, ...], hparams: Mapping[str, Any]) -> List[str]:
    """The settings in `hparams` that none of the families `names` uses, so that one set for a
    family that is not trained is an error rather than silently ignored."""
    used = frozenset().union(*(USED_HYPERPARAMETERS[name] for name in names))
    return sorted(set(hparams) - used)


def embedding_dim(cardinality: int, scale: float = 1.0) -> int:
    """A fourth-root rule of thumb (2 * n^0.25, 2 to 16), times the tuned `scale`."""
    return max(2, int(math.ceil(scale * min(16, int(math.ceil(2 * cardinality ** 0.25))))))


def _head(dataset: Dataset) -> keras.layers.Layer:
    if dataset.task is Task.BINARY:
        return keras.layers.Dense(1, activation="sigmoid", name="probabilities")
    if dataset.task is Task.MULTICLASS:
        return keras.layers.Dense(len(dataset.label.classes), activation="softmax",
                                  name="probabilities")
    return keras.layers.Dense(1, name="standardized_prediction")


def _compile(model: keras.Model, task: Task, learning_rate: float) -> None:
    if task is Task.BINARY:
        loss = keras.losses.BinaryCrossentropy()
        metrics = [keras.metrics.BinaryAccuracy(), keras.metrics.AUC(name="auc")]
    elif task is Task.MULTICLASS:
        loss = keras.losses.SparseCategoricalCrossentropy()
        metrics = [keras.metrics.SparseCategoricalAccuracy()]
    else:
        loss = keras.losses.MeanSquaredError()
        metrics = [keras.metrics.MeanAbsoluteError()]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)


def _join(tensors: List[tf.Tensor]) -> tf.Tensor:
    return tensors[0] if len(tensors) == 1 else keras.layers.concatenate(tensors)


def build(family: str, dataset: Dataset, hparams: Mapping[str, Any],
          label_scale: keras.layers.Layer = None) -> keras.Model:
    """The compiled `family` model for `dataset`. `label_scale` (regression): a Normalization layer
    adapted to the label, inverted on the output, so the layers learn a standardized target and the
    model answers in the label's units."""
    check_families((family,))
    hparams = {**DEFAULT_HYPERPARAMETERS, **hparams}
    inputs: Dict[str, keras.Input] = {}
    numeric: List[tf.Tensor] = []
    one_hot: List[tf.Tensor] = []
    embedded: List[tf.Tensor] = []
    for model_input in dataset.model_inputs():
        name = model_input.name
        if model_input.is_numeric:
            inputs[name] = keras.Input(shape=(1,), name=name, dtype=tf.float32)
            numeric.append(inputs[name])
            continue
        inputs[name] = keras.Input(shape=(1,), name=name, dtype=tf.int64)
        if family in (LINEAR, WIDE_DEEP):
            one_hot.append(keras.layers.CategoryEncoding(
                model_input.cardinality, output_mode="one_hot")(inputs[name]))
        if family in (DNN, WIDE_DEEP):
            width = embedding_dim(model_input.cardinality, hparams["embedding_scale"])
            embedding = keras.layers.Embedding(model_input.cardinality, width)
            embedded.append(keras.layers.Flatten()(embedding(inputs[name])))

    if family == LINEAR:
        joined = _join(numeric + one_hot)
    else:
        hidden = _join(numeric + embedded)
        for units in hparams["hidden_units"]:
            hidden = keras.layers.Dense(units, activation="relu")(hidden)
            if hparams["dropout"]:
                hidden = keras.layers.Dropout(hparams["dropout"])(hidden)
        joined = _join([hidden, *one_hot]) if family == WIDE_DEEP else hidden
    output = _head(dataset)(joined)
    if label_scale is not None:
        output = label_scale(output)
    model = keras.Model(inputs=inputs, outputs=output, name=family)
    _compile(model, dataset.task, hparams["learning_rate"])
    return model
