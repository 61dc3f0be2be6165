"""The InfraValidator takes, of the candidates its Evaluator blessed, the one with the lowest
held-out loss (else the best main metric), never an unblessed one."""
import os

import pytest
from tfx.types import standard_artifacts

from models.model import write_held_out_loss
from pipeline import evaluator, model_choice


def _candidate(model_id, name, metric, value, blessed, held_out=None, folder=None):
    """A candidate's Model and ModelBlessing; given `held_out`, its Trainer's held-out loss, written
    as `models/model.py` writes it (into `folder`, the Model artifact's)."""
    model = standard_artifacts.Model()
    model.id = model_id
    if held_out is not None:
        model.uri = str(folder / name)
        os.makedirs(model.uri)
        write_held_out_loss({"val_loss": [held_out * 2, held_out, held_out * 1.5]},
                            os.path.join(model.uri, "Format-Serving"))
    blessing = standard_artifacts.ModelBlessing()
    blessing.id = 100 + model_id
    blessing.set_int_custom_property("blessed", int(blessed))
    blessing.set_int_custom_property("current_model_id", model_id)
    blessing.set_string_custom_property(evaluator.CANDIDATE, name)
    blessing.set_string_custom_property(evaluator.MAIN_METRIC, metric)
    blessing.set_float_custom_property(evaluator.MAIN_VALUE, value)
    return model, blessing


def _choose(*candidates):
    models, blessings = zip(*candidates)
    return model_choice.choose(list(models), list(blessings))


def test_the_best_blessed_candidate_wins_and_the_reason_names_every_one():
    choice = _choose(_candidate(1, "linear", "auc", 0.90, True), _candidate(2, "dnn", "auc", 0.93, True),
                     _candidate(3, "wide_deep", "auc", 0.97, False))
    assert choice.model.id == 2
    assert choice.reason == ("dnn: best blessed auc 0.9300 of dnn 0.9300, linear 0.9000, "
                             "wide_deep not blessed (dnn, linear recorded no held-out loss: trained before "
                             "it was recorded, or no finite loss)")


def test_when_a_blessed_candidate_has_no_held_out_loss_the_eval_metric_decides_and_the_reason_says_why(tmp_path):
    choice = _choose(_candidate(1, "linear", "auc", 0.90, True, 0.31, tmp_path),
                     _candidate(2, "dnn", "auc", 0.93, True))
    assert choice.model.id == 2
    assert choice.reason == ("dnn: best blessed auc 0.9300 of dnn 0.9300, linear 0.9000 (dnn recorded no "
                             "held-out loss: trained before it was recorded, or no finite loss)")


def test_of_several_blessed_candidates_the_lowest_held_out_loss_wins_not_the_eval_metric(tmp_path):
    choice = _choose(_candidate(1, "linear", "auc", 0.90, True, 0.31, tmp_path),
                     _candidate(2, "dnn", "auc", 0.93, True, 0.35, tmp_path),
                     _candidate(3, "wide_deep", "auc", 0.97, False, 0.20, tmp_path))
    assert choice.model.id == 1  # its kept weights' loss, 0.31: the smallest of each history
    assert choice.reason == ("linear: lowest held-out loss of the blessed (dnn 0.3500, linear 0.3100); "
                             "auc on the eval split: dnn 0.9300, linear 0.9000, wide_deep not blessed")


def test_lower_is_better_for_errors():
    choice = _choose(_candidate(1, "linear", "rmse", 4.0, True), _candidate(2, "dnn", "rmse", 3.5, True))
    assert choice.model.id == 2


def test_nothing_is_chosen_when_no_candidate_is_blessed():
    choice = _choose(_candidate(1, "linear", "auc", 0.9, False), _candidate(2, "dnn", "auc", 0.8, False))
    assert choice.model is None and choice.reason == "the Evaluator blessed no candidate (dnn, linear)"


def test_without_an_evaluator_only_a_single_model_can_be_validated():
    model, _ = _candidate(1, "dnn", "auc", 0.9, True)
    assert model_choice.choose([model], None).model is model
    with pytest.raises(ValueError, match="2 candidate models and no Evaluator blessing"):
        model_choice.choose([model, model], [])
