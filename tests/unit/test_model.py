import numpy as np
import tensorflow as tf

from models import model
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


def test_model_takes_every_declared_feature():
    keras_model = model.build_model(TAXI, [8], 0.01)
    assert set(keras_model.input_names) == {f.transformed_name for f in TAXI.features}
    probabilities = keras_model.predict(_batch(5, 0)[0], verbose=0)
    assert probabilities.shape == (5, 1)
    assert np.all((probabilities >= 0) & (probabilities <= 1))


def test_a_few_training_steps_reduce_the_loss():
    tf.keras.utils.set_random_seed(1)
    keras_model = model.build_model(TAXI, [16, 8], 0.01)
    inputs, labels = _batch(512, 1)
    before = keras_model.evaluate(inputs, labels, verbose=0, return_dict=True)["loss"]
    keras_model.fit(inputs, labels, batch_size=64, epochs=3, verbose=0)
    after = keras_model.evaluate(inputs, labels, verbose=0, return_dict=True)["loss"]
    assert after < 0.8 * before


def _dataset(task: str, features: dict, classes=()):
    from models import dataset

    label = {"column": "y", **({"classes": list(classes)} if classes else {})}
    return dataset.parse({"name": "d", "task": task, "label": label, "features": features})


def test_each_task_gets_its_head_for_numeric_only_and_categorical_only_inputs():
    numeric_only = {"a": "numeric", "b": "numeric"}
    categorical_only = {"c": {"kind": "categorical_int", "max_value": 4},
                        "h": {"kind": "hashed", "buckets": 8}}
    rng = np.random.default_rng(0)
    for features in (numeric_only, categorical_only):
        for task, classes, width, bounded in (("binary", ("n", "y"), 1, True),
                                              ("multiclass", ("a", "b", "c"), 3, True),
                                              ("regression", (), 1, False)):
            declared = _dataset(task, features, classes)
            keras_model = model.build_model(declared, [4], 0.01)
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
    keras_model = model.build_model(declared, [4], 0.01, model.label_scale(labels))
    # an untrained head outputs about 0 in standardized units: the label's mean in its own
    assert abs(float(keras_model.predict({"a_xf": np.zeros((1, 1), np.float32)}, verbose=0)[0, 0]) - 250.0) < 50
