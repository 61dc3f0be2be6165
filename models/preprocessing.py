"""`preprocessing_fn` for Transform, derived from the feature declaration in `features.py`.

Only strings and undeclared-range integers need a vocabulary: each vocabulary is a multi-stage Beam
analysis, and on data of this size Transform's time is mostly per-stage overhead.
Missing values are handled explicitly, after the analyzers have seen only the values that are present:
numeric -> 0.0 (the mean, once z-scored); categorical and bucketized -> the feature's `missing_id`.
Every transformed feature is a dense [batch, 1] tensor, which is what the Keras model takes.
"""
from typing import Dict, Union

import tensorflow as tf
import tensorflow_transform as tft

from models import features
from models.features import Feature, Kind

AnyTensor = Union[tf.Tensor, tf.SparseTensor]


def _densify(x: AnyTensor, default_value) -> tf.Tensor:
    """[batch, 1] dense tensor; rows without a value get `default_value`."""
    if isinstance(x, tf.SparseTensor):
        sparse = tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1])
        return tf.sparse.to_dense(sparse, default_value=tf.cast(default_value, x.dtype))
    return tf.reshape(x, [-1, 1])


def _identity_ids(x: AnyTensor, feature: Feature) -> AnyTensor:
    """Integer codes in [0, max_value] are their own id; anything else gets the OOV id."""
    values = x.values if isinstance(x, tf.SparseTensor) else x
    in_range = (values >= 0) & (values <= feature.max_value)
    ids = tf.where(in_range, values, tf.constant(feature.oov_id, values.dtype))
    return tf.SparseTensor(x.indices, ids, x.dense_shape) if isinstance(x, tf.SparseTensor) else ids


def _transform_feature(feature: Feature, x: AnyTensor) -> tf.Tensor:
    if feature.kind is Kind.NUMERIC:
        return _densify(tft.scale_to_z_score(tf.cast(x, tf.float32)), 0.0)
    if feature.kind is Kind.BUCKETIZED:
        return _densify(tft.bucketize(tf.cast(x, tf.float32), feature.buckets), feature.missing_id)
    if not feature.uses_vocabulary:
        return _densify(_identity_ids(x, feature), feature.missing_id)
    ids = tft.compute_and_apply_vocabulary(
        x,
        top_k=feature.vocab_size,
        num_oov_buckets=feature.oov_buckets,
        vocab_filename=feature.name,
    )
    return _densify(ids, feature.missing_id)


def preprocessing_fn(inputs: Dict[str, AnyTensor]) -> Dict[str, tf.Tensor]:
    """Raw features -> model inputs (`<name>_xf`) and the label.

    At serving time the label's columns are absent; TFT then prunes the label output, nothing else.
    """
    outputs = {f.transformed_name: _transform_feature(f, inputs[f.name]) for f in features.FEATURES}
    label_columns = {
        c: _densify(tf.cast(inputs[c], tf.float32), float("nan")) for c in features.LABEL.source_columns
    }
    outputs[features.LABEL.name] = features.compute_label(label_columns)
    return outputs
