"""Every model family builds from any declaration, trains, and has the structure its name says."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from models import families, model
from tests.conftest import TAXI


def _batch(rows: int, seed: int):
    """Transformed-looking inputs whose label depends on fare and payment type, as in the data."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for f in TAXI.features:
        if f.is_numeric:
            inputs[f.transformed_name] = rng.normal(size=(rows, 1)).astype(np.float32)
        else:
            inputs[f.transformed_name] = rng.integers(0, f.cardinality, size=(rows, 1))
    signal = inputs["fare_xf"][:, 0] + (inputs["payment_type_xf"][:, 0] == 1) * 2.0
    labels = (signal > 0.5).astype(np.int64).reshape(-1, 1)
    return inputs, labels


def _build(declared, family=families.WIDE_DEEP, hidden_units=(8,), label_scale=None):
    return families.build(family, declared, {"hidden_units": list(hidden_units),
                                             "learning_rate": 0.01}, label_scale)


@pytest.mark.parametrize("family", families.FAMILIES)
def test_every_family_takes_every_declared_feature(family):
    keras_model = _build(TAXI, family)
    assert set(keras_model.input_names) == {f.transformed_name for f in TAXI.features}
    probabilities = keras_model.predict(_batch(5, 0)[0], verbose=0)
    assert probabilities.shape == (5, 1)
    assert np.all((probabilities >= 0) & (probabilities <= 1))


@pytest.mark.parametrize("family", families.FAMILIES)
def test_a_few_training_steps_reduce_the_loss(family):
    tf.keras.utils.set_random_seed(1)
    keras_model = _build(TAXI, family, [16, 8])
    inputs, labels = _batch(512, 1)
    before = keras_model.evaluate(inputs, labels, verbose=0, return_dict=True)["loss"]
    keras_model.fit(inputs, labels, batch_size=64, epochs=3, verbose=0)
    after = keras_model.evaluate(inputs, labels, verbose=0, return_dict=True)["loss"]
    assert after < 0.8 * before


def _dataset(task: str, features: dict, classes=()):
    from models import dataset

    label = {"column": "y", **({"classes": list(classes)} if classes else {})}
    return dataset.parse({"name": "d", "task": task, "label": label, "features": features})


@pytest.mark.parametrize("family", families.FAMILIES)
def test_each_task_gets_its_head_for_numeric_only_and_categorical_only_inputs(family):
    numeric_only = {"a": "numeric", "b": "numeric"}
    categorical_only = {"c": {"kind": "categorical_int", "max_value": 4},
                        "h": {"kind": "hashed", "buckets": 8}}
    rng = np.random.default_rng(0)
    for features in (numeric_only, categorical_only):
        for task, classes, width, bounded in (("binary", ("n", "y"), 1, True),
                                              ("multiclass", ("a", "b", "c"), 3, True),
                                              ("regression", (), 1, False)):
            declared = _dataset(task, features, classes)
            keras_model = _build(declared, family, [4])
            inputs = {f.transformed_name: (rng.normal(size=(6, 1)).astype(np.float32) if f.is_numeric
                                           else rng.integers(0, f.cardinality, size=(6, 1)))
                      for f in declared.features}
            out = keras_model.predict(inputs, verbose=0)
            assert out.shape == (6, width), (task, features)
            if bounded:
                assert np.all((out >= 0) & (out <= 1))
            if task == "multiclass":
                np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_the_regression_head_answers_in_the_labels_units():
    declared = _dataset("regression", {"a": "numeric"})
    labels = tf.data.Dataset.from_tensor_slices(
        ({"a_xf": np.zeros((64, 1), np.float32)}, np.full((64, 1), 250.0, np.float32))).batch(16)
    keras_model = _build(declared, families.WIDE_DEEP, [4], model.label_scale(labels))
    # an untrained head outputs about 0 in standardized units: the label's mean in its own
    assert abs(float(keras_model.predict({"a_xf": np.zeros((1, 1), np.float32)}, verbose=0)[0, 0]) - 250.0) < 50


def _layers(keras_model, kind):
    return [layer for layer in keras_model.layers if isinstance(layer, kind)]


def test_linear_is_one_dense_head_over_numerics_and_one_hot_ids():
    linear = _build(TAXI, families.LINEAR, [64, 32])
    assert len(_layers(linear, keras.layers.Dense)) == 1  # the head: no hidden layer
    assert not _layers(linear, keras.layers.Embedding)
    categorical = [f for f in TAXI.features if not f.is_numeric]
    assert len(_layers(linear, keras.layers.CategoryEncoding)) == len(categorical)


def test_dnn_embeds_ids_and_wide_deep_adds_the_one_hot_part():
    dnn = _build(TAXI, families.DNN, [16, 8])
    wide_deep = _build(TAXI, families.WIDE_DEEP, [16, 8])
    categorical = [f for f in TAXI.features if not f.is_numeric]
    assert len(_layers(dnn, keras.layers.Embedding)) == len(categorical)
    assert not _layers(dnn, keras.layers.CategoryEncoding)
    assert len(_layers(wide_deep, keras.layers.CategoryEncoding)) == len(categorical)
    assert [layer.units for layer in _layers(dnn, keras.layers.Dense)] == [16, 8, 1]


def test_dropout_and_embedding_scale_change_the_network():
    plain = families.build(families.DNN, TAXI, {"hidden_units": [8]})
    tuned = families.build(families.DNN, TAXI, {"hidden_units": [8], "dropout": 0.2,
                                                "embedding_scale": 2.0})
    assert not _layers(plain, keras.layers.Dropout) and len(_layers(tuned, keras.layers.Dropout)) == 1
    widths = [layer.output_dim for layer in _layers(plain, keras.layers.Embedding)]
    assert [layer.output_dim for layer in _layers(tuned, keras.layers.Embedding)] == [2 * w for w in widths]


def test_an_unknown_family_is_named_with_the_known_ones():
    with pytest.raises(families.UnknownFamilyError, match="unknown model family gbdt; known: linear, dnn, wide_deep"):
        families.check_families(("dnn", "gbdt"))
    assert families.check_families(("dnn", "linear", "dnn")) == ("dnn", "linear")


def test_deep_settings_are_unused_only_when_every_family_is_linear():
    deep = {"hidden_units": [8], "dropout": 0.1, "learning_rate": 0.01}
    assert families.unused_hyperparameters((families.LINEAR,), deep) == ["dropout", "hidden_units"]
    assert families.unused_hyperparameters((families.LINEAR, families.DNN), deep) == []
    assert families.unused_hyperparameters((families.LINEAR,), {"learning_rate": 0.01}) == []
