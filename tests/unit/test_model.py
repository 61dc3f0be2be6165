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
