"""The search space follows the family and the declaration; the first trial is the defaults; the
trial and time budgets hold; the Tuner's best values reach the Trainer's hyperparameters."""
import time

import keras_tuner
import numpy as np
import pytest
import tf_keras as keras

from models import dataset, families, model, tuning
from tests.conftest import TAXI

# Timed: run alone, after the tests that run two at a time (Makefile).
pytestmark = pytest.mark.serial  # a tuning budget timed against a bound


def _declared(tuning_section):
    raw = {"name": "d", "task": "binary", "label": {"column": "y", "classes": ["0", "1"]},
           "features": {"a": "numeric"}, "tuning": tuning_section}
    return dataset.parse(raw)


def test_the_search_space_covers_exactly_the_declarable_names():
    assert tuple(tuning.SPACE) == dataset.TUNABLE


def test_the_defaults_of_the_search_space_are_the_hand_set_hyperparameters():
    defaults = families.DEFAULT_HYPERPARAMETERS
    for family in (families.DNN, families.WIDE_DEEP):
        values = tuning.declare(keras_tuner.HyperParameters(), family, {})
        assert values == {k: defaults[k] for k in
                          ("learning_rate", "hidden_units", "dropout", "embedding_scale")}, family
    assert tuning.declare(keras_tuner.HyperParameters(), families.LINEAR, {}) == {
        "learning_rate": defaults["learning_rate"]}


def test_a_linear_model_tunes_only_its_learning_rate():
    hp = keras_tuner.HyperParameters()
    tuning.declare(hp, families.LINEAR, {})
    assert [p.name for p in hp.space] == ["learning_rate"]


def test_the_declaration_narrows_the_search():
    declared = _declared({"hidden_layers": [1], "learning_rate": {"min": 0.001, "max": 0.003}})
    hp = keras_tuner.HyperParameters()
    values = tuning.declare(hp, families.DNN, declared.tuning)
    space = {p.name: p for p in hp.space}
    assert values["hidden_units"] == [64]  # one layer, the default width
    assert (space["learning_rate"].min_value, space["learning_rate"].max_value) == (0.001, 0.003)


def test_what_hparams_fixes_is_not_searched_so_trials_differ_only_where_they_can():
    hp = keras_tuner.HyperParameters()
    values = tuning.declare(hp, families.DNN, {}, fixed={"learning_rate": 0.01, "hidden_units": [16]})
    assert [p.name for p in hp.space if not isinstance(p, keras_tuner.engine.hyperparameters.Fixed)] == [
        "dropout", "embedding_scale"]
    assert values["learning_rate"] == 0.01 and "hidden_units" not in values  # recorded for later runs too
    assert tuning.best_hyperparameters(hp.get_config())["learning_rate"] == 0.01
    assert tuning.searched(families.LINEAR, {"learning_rate": 0.01}) == []
    assert tuning.searched(families.WIDE_DEEP, {"dropout": 0.1}) == [
        "learning_rate", "hidden_layers", "first_layer_units", "embedding_scale"]


@pytest.mark.parametrize("section, message", [
    ({"momentum": [0.9]}, "unknown hyperparameter 'momentum'"),
    ({"dropout": []}, "give a list of choices"),
    ({"learning_rate": {"min": 0.1, "max": 0.01}}, "with A < B"),
    ({"dropout": [0.1, 2.0]}, r"tuning: dropout must be a number from 0 up to, not including, 1, got 2.0"),
    ({"hidden_layers": {"min": 0, "max": 3}}, "tuning: hidden_layers must be a whole number >= 1, got 0"),
])
def test_a_wrong_tuning_section_is_named(section, message):
    with pytest.raises(dataset.DeclarationError, match=message):
        _declared(section)


def test_keras_tuner_values_map_to_the_trainers_hyperparameters():
    config = keras_tuner.HyperParameters()
    config.Fixed("hidden_layers", 3)
    config.Fixed("first_layer_units", 128)
    config.Fixed("dropout", 0.2)
    assert tuning.best_hyperparameters(config.get_config()) == {
        "hidden_units": [128, 64, 32], "dropout": 0.2}
    assert tuning.best_hyperparameters(None) == {}
    merged = model.hyperparameters(config.get_config(), {"dropout": 0.0})  # --hparams wins
    assert merged["hidden_units"] == [128, 64, 32] and merged["dropout"] == 0.0


def _search(tmp_path, trials, minutes=None):
    rng = np.random.default_rng(0)
    inputs = {f.transformed_name: (rng.normal(size=(256, 1)).astype(np.float32) if f.is_numeric
                                   else rng.integers(0, f.cardinality, size=(256, 1)))
              for f in TAXI.features}
    labels = (inputs["fare_xf"][:, 0] > 0).astype(np.float32).reshape(-1, 1)

    def space(hp):
        return tuning.declare(hp, families.DNN, {})

    def train(hparams):
        keras.utils.set_random_seed(1)
        fitted = families.build(families.DNN, TAXI, hparams).fit(
            inputs, labels, validation_data=(inputs, labels), epochs=1, batch_size=64, verbose=0)
        return fitted.history

    tuner = tuning._Keras2Tuner(  # pylint: disable=protected-access
        minutes=minutes, train=train, space=space,
        oracle=tuning._DefaultsFirstOracle(  # pylint: disable=protected-access
            objective=tuning.OBJECTIVE[TAXI.task], max_trials=trials, seed=1),
        hypermodel=lambda hp: families.build(families.DNN, TAXI, space(hp)),
        directory=str(tmp_path), project_name="dnn", overwrite=True)
    tuner.search(verbose=0)
    return tuner


def test_the_first_trial_is_the_defaults_and_the_best_is_no_worse(tmp_path):
    tuner = _search(tmp_path, trials=3)
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: t.trial_id)
    assert len(trials) == 3 and all(t.status == "COMPLETED" for t in trials)
    first = tuning.to_hyperparameters(trials[0].hyperparameters.values)
    assert first["hidden_units"] == families.DEFAULT_HYPERPARAMETERS["hidden_units"]
    assert first["learning_rate"] == families.DEFAULT_HYPERPARAMETERS["learning_rate"]
    assert tuner.oracle.get_best_trials(1)[0].score >= trials[0].score
    assert len({str(t.hyperparameters.values) for t in trials}) == 3  # the others are new points


def test_the_time_budget_stops_new_trials(tmp_path):
    started = time.monotonic()
    tuner = _search(tmp_path, trials=50, minutes=1e-6)
    assert len(tuner.oracle.trials) == 1 and time.monotonic() - started < 60
