"""`preprocessing_fn` for Transform, derived from the dataset declaration (`models/dataset.py`).

TFX hands the declaration in through Transform's `custom_config` (it is part of the cache key).
Only strings and undeclared-range integers need a vocabulary: each vocabulary is a multi-stage Beam
analysis, and on small data Transform's time is mostly per-stage overhead.
Missing values are handled explicitly, after the analyzers have seen only the values that are present:
numeric -> 0.0 (the mean, once z-scored; kept within +-5 deviations); categorical, hashed and bucketized -> the `missing_id`; a
date's calendar parts -> their own missing id, as for a value that is no date (models/calendar.py).
Every transformed feature is a dense [batch, 1] tensor, which is what the Keras model takes.
"""
from typing import Any, Dict, Mapping, Sequence, Union

import tensorflow as tf
import tensorflow_transform as tft

from models import calendar
from models.dataset import LABEL_KEY, Dataset, Feature, Kind, Label, Task

AnyTensor = Union[tf.Tensor, tf.SparseTensor]


def _densify(x: AnyTensor, default_value) -> tf.Tensor:
    """[batch, 1] dense tensor; rows without a value get `default_value`."""
    if isinstance(x, tf.SparseTensor):
        sparse = tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1])
        return tf.sparse.to_dense(sparse, default_value=tf.cast(default_value, x.dtype))
    return tf.reshape(x, [-1, 1])


def _map_values(x: AnyTensor, fn) -> AnyTensor:
    if isinstance(x, tf.SparseTensor):
        return tf.SparseTensor(x.indices, fn(x.values), x.dense_shape)
    return fn(x)


def _identity_ids(x: AnyTensor, feature: Feature) -> AnyTensor:
    """Integer codes in [0, max_value] are their own id; anything else gets the OOV id."""
    def ids(values):
        in_range = (values >= 0) & (values <= feature.max_value)
        return tf.where(in_range, values, tf.constant(feature.oov_id, values.dtype))
    return _map_values(x, ids)


def _calendar_parts(feature: Feature, x: AnyTensor) -> Dict[str, tf.Tensor]:
    present = _densify(_map_values(x, lambda values: tf.ones_like(values, tf.bool)), False)
    values = _densify(x, "" if x.dtype == tf.string else 0)
    ids = calendar.part_ids(values, present, feature.unit, feature.parts)
    return {model_input.name: ids[part] for part, model_input in zip(feature.parts, feature.model_inputs)}


def _transform_feature(feature: Feature, x: AnyTensor) -> Dict[str, tf.Tensor]:
    """The feature's model inputs (Feature.model_inputs) by name."""
    if feature.kind is Kind.DATE:
        return _calendar_parts(feature, x)
    return {feature.transformed_name: _transformed(feature, x)}


# Z-scores are kept within +-this many standard deviations. A value far outside the training data (a
# typo, a 58.9 mm diamond width where the rest are under 11) otherwise drives the linear part of
# the model to an answer far outside any it learned (a price of 55,632 where the highest was
# 18,823), in training and in serving alike. Measured (docs/benchmarks.md#model-quality): ggplot2's
# diamonds, RMSE 867 -> 659; the quality benchmark's datasets unchanged.
Z_SCORE_LIMIT = 5.0


def _z_scored(numeric: Sequence[Feature], inputs: Mapping[str, AnyTensor]) -> Dict[str, tf.Tensor]:
    """The numeric features z-scored by one elementwise mean-and-variance analyzer over all of them:
    one analyzer per column made Transform's tracing and Beam graph grow with the column count
    (benchmarks/wide_transform.py), then kept within Z_SCORE_LIMIT. A missing value is NaN until
    scaled (TFT's mean and variance skip NaN, as they skip a sparse column's absent values), then
    0.0, the mean, as is a NaN cell."""
    if not numeric:
        return {}
    columns = tf.concat([_densify(tf.cast(inputs[f.name], tf.float32), float("nan")) for f in numeric], axis=1)
    scaled = tft.scale_to_z_score(columns, elementwise=True)
    scaled = tf.where(tf.math.is_nan(scaled), tf.zeros_like(scaled),
                      tf.clip_by_value(scaled, -Z_SCORE_LIMIT, Z_SCORE_LIMIT))
    return {f.transformed_name: scaled[:, i:i + 1] for i, f in enumerate(numeric)}


def _transformed(feature: Feature, x: AnyTensor) -> tf.Tensor:
    if feature.kind is Kind.BUCKETIZED:
        return _densify(tft.bucketize(tf.cast(x, tf.float32), feature.buckets), feature.missing_id)
    if feature.kind is Kind.HASHED:
        def hashed(values):
            text = values if values.dtype == tf.string else tf.strings.as_string(values)
            return tf.strings.to_hash_bucket_fast(text, feature.buckets)
        return _densify(_map_values(x, hashed), feature.missing_id)
    if not feature.uses_vocabulary:
        return _densify(_identity_ids(x, feature), feature.missing_id)
    ids = tft.compute_and_apply_vocabulary(
        x, top_k=feature.vocab_size, num_oov_buckets=feature.oov_buckets,
        vocab_filename=feature.transformed_name)
    return _densify(ids, feature.missing_id)


def _as_text(x: tf.Tensor) -> tf.Tensor:
    """Label values as the class names are written: integers without a decimal point."""
    if x.dtype == tf.string:
        return x
    if x.dtype.is_integer:
        return tf.strings.as_string(x)
    return tf.strings.as_string(tf.cast(x, tf.int64))


def label_tensor(label: Label, raw: Mapping[str, AnyTensor]) -> tf.Tensor:
    """The label the model learns, [batch, 1]: the class index (int64; -1 for a value that is not a
    declared class, which the gate's schema domain stops first) or the regression target (float32)."""
    if label.derived:
        column, other = (_densify(tf.cast(raw[c], tf.float32), float("nan"))
                         for c in (label.derived.column, label.derived.other_column))
        return tf.cast(tf.greater(column, label.derived.times * other), tf.int64)
    value = raw[label.column]
    if label.task is Task.REGRESSION:
        return _densify(tf.cast(value, tf.float32), float("nan"))
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(label.classes)), tf.range(len(label.classes), dtype=tf.int64)),
        default_value=-1)
    text = _densify(value, "" if value.dtype == tf.string else -1)
    return table.lookup(_as_text(text))


def preprocessing_fn(inputs: Dict[str, AnyTensor], custom_config: Dict[str, Any]
                     ) -> Dict[str, tf.Tensor]:
    """Raw features -> model inputs (`<name>_xf`) and the label (`label`).

    At serving time the label's column is absent; TFT then prunes the label output, nothing else.
    """
    dataset = Dataset.from_config(custom_config["dataset"])
    numeric = [f for f in dataset.features if f.kind is Kind.NUMERIC]
    outputs = _z_scored(numeric, inputs)
    outputs.update({name: tensor for f in dataset.features if f.kind is not Kind.NUMERIC
                    for name, tensor in _transform_feature(f, inputs[f.name]).items()})
    outputs[LABEL_KEY] = label_tensor(dataset.label, inputs)
    return outputs
