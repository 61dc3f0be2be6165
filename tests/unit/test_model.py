"""The Trainer's refusal of a diverged model (models/model.py): found there, not in the Evaluator."""
import numpy as np
import pytest
import tf_keras as keras

from models import model as model_module


def _dense(weights_value: float) -> keras.Model:
    dense = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    dense.set_weights([np.full(w.shape, weights_value, dtype=w.dtype) for w in dense.get_weights()])
    return dense


def test_a_model_with_finite_weights_is_accepted():
    model_module.check_finite(_dense(0.5), {"loss": [1.0, 0.5]}, {"learning_rate": 0.01})


def test_a_diverged_model_is_refused_naming_the_epoch_and_the_learning_rate():
    with pytest.raises(model_module.TrainingDiverged) as error:
        model_module.check_finite(_dense(np.nan), {"loss": [3.0, float("inf"), float("nan")]},
                                  {"learning_rate": 1e9})
    message = str(error.value)
    assert "training loss was inf at epoch 2 of 3" in message
    assert "learning_rate 1000000000.0" in message
    assert """--hparams '{"learning_rate": 1e+08}'""" in message
