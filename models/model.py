"""Wide-and-deep Keras model over the transformed features, and TFX Trainer's `run_fn`.

The inputs and the head come from the dataset declaration (`custom_config["dataset"]`): categorical
features feed a wide part (one-hot) and embeddings into the deep part, numeric ones the deep part
only, so numeric-only, categorical-only and mixed datasets all build. The head is the task's:
sigmoid (binary), softmax (multi-class) or linear (regression, on the label's own scale).

The model is Keras 2 (`tf_keras`): TFT's transform layer and TFMA are Keras 2 in TFX 1.16, and mixing
them with the Keras 3 that TF 2.16 installs is what breaks TFX 1.16's own Keras examples at Trainer.

AutoGraph: TensorFlow never converts the `keras` package (its code is graph-ready), but Keras 2 now
ships as `tf_keras`, which AutoGraph does not know, so it re-transpiles hundreds of Keras internals on
the first `fit` (many times the training itself on small data). Registering `tf_keras` as
not-to-convert restores what Keras 2 always had; TF has no public API for a package-wide rule.
"""
import math
from typing import Dict, List, Sequence

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx.components.trainer.fn_args_utils import DataAccessor, FnArgs
from tensorflow.python.autograph.core import config as _autograph_config
from tfx_bsl.public import tfxio

from models import signatures
from models.dataset import LABEL_KEY, Dataset, Task

DEFAULT_HYPERPARAMETERS = {
    "batch_size": 64,
    "learning_rate": 0.002,
    "hidden_units": [64, 32],
}
if not any(rule.matches("tf_keras") for rule in _autograph_config.CONVERSION_RULES):
    _autograph_config.CONVERSION_RULES = (
        _autograph_config.DoNotConvert("tf_keras"),
    ) + _autograph_config.CONVERSION_RULES

# Training runs as this many epochs of train_steps / CHECKPOINTS steps, each followed by a pass over
# the eval split: training stops when that loss has not improved for PATIENCE passes, and the best
# weights are kept. Without it, small datasets (a few hundred rows) are overfit long before the
# declared steps are done and score worse than the naive baseline.
CHECKPOINTS = 10
PATIENCE = 3
# Batches read to adapt the regression head to the label's mean and spread.
LABEL_SCALE_BATCHES = 200


def _embedding_dim(cardinality: int) -> int:
    return max(2, min(16, int(math.ceil(2 * cardinality ** 0.25))))


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


def build_model(dataset: Dataset, hidden_units: Sequence[int], learning_rate: float,
                label_scale: keras.layers.Layer = None) -> keras.Model:
    """Wide part: one-hot ids; deep part: numerics + embeddings of the ids; the task's head.
    `label_scale` (regression): a Normalization layer adapted to the label, inverted on the output,
    so the dense layers learn a standardized target and the model answers in the label's units."""
    inputs: Dict[str, keras.Input] = {}
    wide: List[tf.Tensor] = []
    deep: List[tf.Tensor] = []
    for feature in dataset.features:
        name = feature.transformed_name
        if feature.is_numeric:
            inputs[name] = keras.Input(shape=(1,), name=name, dtype=tf.float32)
            deep.append(inputs[name])
            continue
        inputs[name] = keras.Input(shape=(1,), name=name, dtype=tf.int64)
        wide.append(
            keras.layers.CategoryEncoding(feature.cardinality, output_mode="one_hot")(inputs[name])
        )
        embedding = keras.layers.Embedding(feature.cardinality, _embedding_dim(feature.cardinality))
        deep.append(keras.layers.Flatten()(embedding(inputs[name])))

    hidden = deep[0] if len(deep) == 1 else keras.layers.concatenate(deep)
    for units in hidden_units:
        hidden = keras.layers.Dense(units, activation="relu")(hidden)
    both = keras.layers.concatenate([hidden, *wide]) if wide else hidden
    output = _head(dataset)(both)
    if label_scale is not None:
        output = label_scale(output)
    model = keras.Model(inputs=inputs, outputs=output)
    _compile(model, dataset.task, learning_rate)
    return model


def make_dataset(
    file_pattern: List[str],
    data_accessor: DataAccessor,
    tf_transform_output: tft.TFTransformOutput,
    batch_size: int,
) -> tf.data.Dataset:
    """Endless batches of (transformed features, label) read from Transform's output."""
    return data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=LABEL_KEY),
        tf_transform_output.transformed_metadata.schema,
    ).repeat()


def label_scale(train: tf.data.Dataset) -> keras.layers.Layer:
    """Keras' Normalization layer adapted to the training labels, inverted: prediction * std + mean."""
    layer = keras.layers.Normalization(axis=None, invert=True, name="label_scale")
    layer.adapt(train.take(LABEL_SCALE_BATCHES).map(lambda _, label: label))
    return layer


def run_fn(fn_args: FnArgs) -> None:
    """TFX Trainer entry point: train on transformed examples, export with the serving signatures."""
    config = dict(fn_args.custom_config or {})
    dataset = Dataset.from_config(config["dataset"])
    hparams = {**DEFAULT_HYPERPARAMETERS, **config.get("hyperparameters", {})}
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train = make_dataset(
        fn_args.train_files, fn_args.data_accessor, tf_transform_output, hparams["batch_size"]
    )
    evaluation = make_dataset(
        fn_args.eval_files, fn_args.data_accessor, tf_transform_output, hparams["batch_size"]
    )
    scale = label_scale(train) if dataset.task is Task.REGRESSION else None
    model = build_model(dataset, hparams["hidden_units"], hparams["learning_rate"], scale)
    steps_per_epoch = max(1, math.ceil(fn_args.train_steps / CHECKPOINTS))
    model.fit(
        train,
        steps_per_epoch=steps_per_epoch,
        epochs=math.ceil(fn_args.train_steps / steps_per_epoch),
        validation_data=evaluation,
        validation_steps=fn_args.eval_steps,
        callbacks=[keras.callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True)],
        verbose=0,
    )
    signatures.export(model, dataset, tf_transform_output, fn_args.serving_model_dir)
