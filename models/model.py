"""Wide-and-deep Keras model over the transformed features, and TFX Trainer's `run_fn`.

The model is Keras 2 (`tf_keras`): TFT's transform layer and TFMA are Keras 2 in TFX 1.16, and mixing
them with the Keras 3 that TF 2.16 installs is what breaks TFX's own taxi example at Trainer.
"""
import math
from typing import Dict, List, Sequence

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx.components.trainer.fn_args_utils import DataAccessor, FnArgs
from tfx_bsl.public import tfxio

from models import features, signatures

DEFAULT_HYPERPARAMETERS = {
    "batch_size": 64,
    "learning_rate": 0.002,
    "hidden_units": [64, 32],
}


def _embedding_dim(cardinality: int) -> int:
    return max(2, min(16, int(math.ceil(2 * cardinality ** 0.25))))


def build_model(hidden_units: Sequence[int], learning_rate: float) -> keras.Model:
    """Wide part: one-hot ids; deep part: numerics + embeddings of the ids; one sigmoid output."""
    inputs: Dict[str, keras.Input] = {}
    wide: List[tf.Tensor] = []
    deep: List[tf.Tensor] = []
    for feature in features.FEATURES:
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

    hidden = keras.layers.concatenate(deep)
    for units in hidden_units:
        hidden = keras.layers.Dense(units, activation="relu")(hidden)
    both = keras.layers.concatenate([hidden, keras.layers.concatenate(wide)])
    output = keras.layers.Dense(1, activation="sigmoid", name="probability")(both)

    model = keras.Model(inputs=inputs, outputs=output)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy(), keras.metrics.AUC(name="auc")],
    )
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
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=features.LABEL.name),
        tf_transform_output.transformed_metadata.schema,
    ).repeat()


def run_fn(fn_args: FnArgs) -> None:
    """TFX Trainer entry point: train on transformed examples, export with the serving signatures."""
    hparams = {**DEFAULT_HYPERPARAMETERS, **(fn_args.custom_config or {})}
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train = make_dataset(
        fn_args.train_files, fn_args.data_accessor, tf_transform_output, hparams["batch_size"]
    )
    evaluation = make_dataset(
        fn_args.eval_files, fn_args.data_accessor, tf_transform_output, hparams["batch_size"]
    )
    model = build_model(hparams["hidden_units"], hparams["learning_rate"])
    model.fit(
        train,
        steps_per_epoch=fn_args.train_steps,
        validation_data=evaluation,
        validation_steps=fn_args.eval_steps,
        verbose=0,
    )
    signatures.export(model, tf_transform_output, fn_args.serving_model_dir)
