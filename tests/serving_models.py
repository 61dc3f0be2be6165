"""Small SavedModels with the pipeline model's serving interface, for fast server tests.

Same signatures as models/signatures.py (`serving_default`: examples -> probabilities [n, 1];
`classify`: inputs -> classes, scores; `regress`: inputs -> outputs) over two raw features; `weight`
makes versions distinguishable by their answers.
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

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def predict(examples):
        return {"probabilities": probabilities(examples)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def classify(inputs):
        positive = probabilities(inputs)
        scores = tf.concat([1.0 - positive, positive], axis=1)
        return {"classes": tf.tile(tf.constant([["0", "1"]]), [tf.shape(scores)[0], 1]),
                "scores": scores}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress(inputs):
        return {"outputs": probabilities(inputs)}

    tf.saved_model.save(module, export_dir, signatures={
        "serving_default": predict, signatures.CLASSIFY_SIGNATURE: classify,
        signatures.REGRESS_SIGNATURE: regress})
    signatures.set_method_names(export_dir, {
        signatures.CLASSIFY_SIGNATURE: signatures.CLASSIFY_METHOD_NAME,
        signatures.REGRESS_SIGNATURE: signatures.REGRESS_METHOD_NAME})
    return export_dir
