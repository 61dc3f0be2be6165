"""Small SavedModels with the pipeline model's serving interface, for fast server tests.

The TF Serving signatures of models/signatures.py (`serving_default`, `classify`, `regress`), built
by the same function over a two-feature toy in place of the Keras model; `weight` makes versions
distinguishable by their answers.
"""
import tensorflow as tf

from models import signatures

_SPEC = {
    "trip_miles": tf.io.FixedLenFeature([1], tf.float32, default_value=[0.0]),
    "payment_type": tf.io.FixedLenFeature([1], tf.string, default_value=[""]),
}


def example(trip_miles: float, payment_type: str) -> bytes:
    features = tf.train.Features(feature={
        "trip_miles": tf.train.Feature(float_list=tf.train.FloatList(value=[trip_miles])),
        "payment_type": tf.train.Feature(bytes_list=tf.train.BytesList(value=[payment_type.encode()])),
    })
    return tf.train.Example(features=features).SerializeToString()


def build(export_dir: str, weight: float, required_feature: str = "") -> str:
    """`required_feature`: a feature the model cannot do without (no default), e.g. the label's
    column by mistake: such a model loads but fails on every real serving request."""
    module = tf.Module()
    module.weight = tf.Variable(weight)
    spec = dict(_SPEC)
    if required_feature:
        spec[required_feature] = tf.io.FixedLenFeature([1], tf.float32)

    def probabilities(serialized):
        parsed = tf.io.parse_example(serialized, spec)
        cash = tf.cast(tf.equal(parsed["payment_type"], "Cash"), tf.float32)
        return tf.sigmoid(module.weight * parsed["trip_miles"] - cash)

    tf.saved_model.save(module, export_dir, signatures=signatures.tf_serving_signatures(probabilities))
    signatures.set_method_names(export_dir, signatures.METHOD_NAMES)
    return export_dir
