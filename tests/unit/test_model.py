"""The Trainer (models/model.py): how long it trains, and its refusal of a diverged model (found
there, not in the Evaluator)."""
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import tf_keras as keras
from tfx.components.trainer.fn_args_utils import FnArgs

from models import model as model_module
from models import training_length
from tests.conftest import TAXI_CSV


def _examples_file(folder, fares) -> str:
    """A gzipped TFRecord file of tf.Examples, as Transform writes its output, one per fare."""
    path = str(folder / "transformed_examples-00000-of-00001.gz")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for fare in fares:
            feature = {"fare": tf.train.Feature(float_list=tf.train.FloatList(value=[fare]))}
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return str(folder / "*.gz")


@pytest.mark.parametrize("copies", [1, 18])
def test_without_train_steps_the_trainer_makes_six_passes_over_its_fitted_rows_within_bounds(tmp_path, copies):
    """The taxi sample's 15,002 fares, once and 18 times (270,036 rows): six passes over the four
    fifths fitted (rounded up to whole batches), 20,000 steps at most."""
    fares = np.tile(pd.read_csv(TAXI_CSV)["fare"].fillna(0).to_numpy(), copies)
    pattern = _examples_file(tmp_path, fares)
    steps = model_module.train_steps(FnArgs(train_files=[pattern]), batch_size=64)
    fitted = len(fares) - -(-len(fares) // model_module.HOLDOUT)
    if copies == 1:
        assert 6 * fitted <= steps * 64 < 6 * (fitted + 64)
    else:
        assert steps == training_length.MAX_STEPS < 6 * fitted / 64
    assert model_module.train_steps(FnArgs(train_files=[pattern], train_steps=300), batch_size=64) == 300


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
