"""A model that never predicts a class at its default decision is said, with what to do
(pipeline/evaluation.py); metric names as TFMA's results carry them (tests/e2e/test_datasets.py
checks them on real runs, where every class is predicted and nothing is said)."""
import dataclasses
import json
import math

from tensorflow_model_analysis.proto import config_pb2, metrics_for_slice_pb2, validation_result_pb2

from pipeline import evaluation

CLASSES = ("Adelie", "Chinstrap", "Gentoo")


def _result(overall):
    return evaluation.Evaluation(overall, {}, {}, [], True, [])


def test_a_binary_model_that_never_predicts_the_positive_class_is_warned_about():
    rare = _result({"auc": 0.77, "accuracy": 0.94, "precision": float("nan"), "recall": 0.0})
    assert evaluation.never_predicted(rare, ("No", "Yes")) == ["Yes"]
    warning = evaluation.never_predicted_warning(rare, ("No", "Yes"))
    assert warning.startswith("warning: the model predicts no eval row of class 'Yes' as such (at the 0.5 threshold)")
    assert "add `recall: 0.1` to `minimum:` under `blessing:`" in warning and "each row's probability_Yes " in warning
    assert evaluation.never_predicted_warning(_result({"auc": 0.9, "recall": 0.2}), ("No", "Yes")) is None


def test_a_binary_model_that_calls_every_row_positive_is_warned_about_the_negative_class():
    """The positive class the majority (94 % 'Yes'): recall 1 and accuracy equal to precision, the
    positive share, is a model that never says 'No'."""
    always = _result({"auc": 0.71, "accuracy": 0.9412, "precision": 0.9412, "recall": 1.0})
    assert evaluation.never_predicted(always, ("No", "Yes")) == ["No"]
    warning = evaluation.never_predicted_warning(always, ("No", "Yes"))
    assert "predicts no eval row of class 'No' as such (at the 0.5 threshold)" in warning
    assert "add `precision: 0.95` to `minimum:`" in warning and "each row's probability_No " in warning
    # the next hundredth, whatever float arithmetic makes of 0.58 x 100; none at 0.99 and more
    at_58 = _result({"accuracy": 0.58, "precision": 0.58, "recall": 1.0})
    assert "add `precision: 0.59` to `minimum:`" in evaluation.never_predicted_warning(at_58, ("No", "Yes"))
    nearly_all = _result({"accuracy": 0.995, "precision": 0.995, "recall": 1.0})
    assert "To refuse" not in evaluation.never_predicted_warning(nearly_all, ("No", "Yes"))
    # every positive found, some negatives too (accuracy above precision); or no negative row at all
    assert evaluation.never_predicted(_result({"accuracy": 0.96, "precision": 0.9515, "recall": 1.0}),
                                      ("No", "Yes")) == []
    assert evaluation.never_predicted(_result({"accuracy": 1.0, "precision": 1.0, "recall": 1.0}),
                                      ("No", "Yes")) == []


def test_a_multiclass_model_names_each_class_it_never_predicts():
    overall = {"accuracy": 0.8, "recall[Adelie]": 0.9, "recall[Chinstrap]": 0.0, "recall[Gentoo]": 1.0}
    assert evaluation.never_predicted(_result(overall), CLASSES) == ["Chinstrap"]
    warning = evaluation.never_predicted_warning(_result(overall), CLASSES)
    assert "macro_recall: 0.5" in warning and "auc" not in warning  # multi-class has no auc
    assert evaluation.never_predicted(_result({"rmse": 3.0}), ()) == []  # regression: no classes


def test_an_evaluation_on_few_rows_is_said_to_be_rough():
    """93 cars, a fifth of them evaluated: 16 rows, each 6 % of accuracy."""
    few = _result({"accuracy": 0.75, "example_count": 16.0})
    assert evaluation.warnings(few, CLASSES) == {"few-eval-rows": evaluation.few_rows_warning(few)}
    assert evaluation.few_rows_warning(few).startswith(
        "warning: evaluated on 16 rows only (the eval split): one row more or less "
        "right moves each metric by 6% or so")
    assert evaluation.warnings(_result({"accuracy": 0.75, "example_count": 70.0}), CLASSES) == {}


def test_a_nearly_perfect_model_is_said_to_be_checked_for_a_feature_computed_from_the_label():
    """caschool's test score is the mean of its reading and maths scores, two features: skill 0.996."""
    copied = _result({"rmse": 1.28, "skill_vs_naive": 0.996, "example_count": 84.0})
    assert evaluation.warnings(copied, ()) == {"near-perfect": evaluation.near_perfect_warning(copied)}
    assert evaluation.near_perfect_warning(copied).startswith(
        "warning: skill_vs_naive 0.996: the model is nearly perfect. Unless the label is that easy to tell, "
        "a feature may be computed from it")
    assert evaluation.warnings(_result({"rmse": 40.0, "skill_vs_naive": 0.62, "example_count": 84.0}), ()) == {}
    assert evaluation.near_perfect_warning(_result({"rmse": 40.0})) is None  # no skill measured


def test_a_relative_bound_on_the_change_is_compared_with_the_relative_change():
    """rmse 690.1 against the served model's 672.2: +17.9 is +2.7 %, past the allowed +1 %."""
    failure = validation_result_pb2.ValidationFailure(
        metric_key=metrics_for_slice_pb2.MetricKey(name="rmse", is_diff=True),
        metric_threshold=config_pb2.MetricThreshold(change_threshold=config_pb2.GenericChangeThreshold(
            relative={"value": 0.01}, direction=config_pb2.MetricDirection.LOWER_IS_BETTER)),
        metric_value=metrics_for_slice_pb2.MetricValue(double_value={"value": 17.9495}))
    assert evaluation._failure_text(failure, {"rmse": 672.2}) == (
        "rmse change vs the served model +17.9495 (+2.7%) is past the allowed +1.0% relative")


def test_a_refusal_on_the_change_against_the_served_model_is_told_apart_from_one_on_a_bound(monkeypatch, tmp_path):
    """`runs` looks for what the served model read only when it was the change that refused."""
    def failure(is_diff):
        return validation_result_pb2.ValidationFailure(
            metric_key=metrics_for_slice_pb2.MetricKey(name="accuracy", is_diff=is_diff),
            metric_threshold=config_pb2.MetricThreshold(
                change_threshold=config_pb2.GenericChangeThreshold(absolute={"value": -0.01}),
                value_threshold=config_pb2.GenericValueThreshold(lower_bound={"value": 0.9})),
            metric_value=metrics_for_slice_pb2.MetricValue(double_value={"value": -0.04}))

    monkeypatch.setattr(evaluation.tfma, "load_metrics", lambda uri: [])
    monkeypatch.setattr(evaluation.evaluation_plots, "load", lambda uri, name: {})
    for is_diff in (True, False):
        result = validation_result_pb2.ValidationResult(validation_ok=False)
        result.metric_validations_per_slice.add().failures.append(failure(is_diff))
        monkeypatch.setattr(evaluation.tfma, "load_validation_result", lambda uri, result=result: result)
        loaded = evaluation.load(str(tmp_path))
        assert not loaded.blessed and (loaded.refused_by_change, loaded.refused_by_value) == (is_diff, not is_diff)


def test_an_evaluation_whose_files_are_gone_is_none_and_lists_no_metric(tmp_path):
    """A pipeline root cleaned up: `runs` and the report show the run without its metrics."""
    assert evaluation.load(str(tmp_path / "gone")) is None
    assert json.loads(evaluation.listed(None)) == {"values": {}, "changes": {}}


def test_a_refusal_by_the_served_model_worth_a_few_eval_rows_is_said_to_be_maybe_chance():
    """mroz, a random half of the same data as the next span: 80 eval rows, AUC 0.0233 behind."""
    close = evaluation.Evaluation({"auc": 0.81, "example_count": 80.0}, {"auc": -0.0233}, {"auc": 0.8333},
                                  [], False, ["auc change ..."], refused_by_change=True)
    warning = evaluation.close_call_warning(close, ("0", "1"))
    assert warning.startswith("warning: the auc drop that refused this model, 0.0233, is 1.9 times the share "
                              "of one of the 80 eval rows (1/80 = 0.0125)"), warning
    assert warning.endswith("run once with `--max-drop 0.03`.")
    assert evaluation.warnings(close, ("0", "1")) == {"close-call": warning}
    far = evaluation.Evaluation({"auc": 0.7, "example_count": 2988.0}, {"auc": -0.1}, {"auc": 0.8},
                                [], False, ["auc change ..."], refused_by_change=True)
    assert evaluation.close_call_warning(far, ("0", "1")) is None  # 299 rows' worth: a worse model
    multiclass = evaluation.Evaluation({"accuracy": 0.9, "example_count": 60.0}, {"accuracy": -1 / 60}, {},
                                       [], False, ["accuracy change ..."], refused_by_change=True)
    assert "the accuracy drop that refused this model, 0.0167, is 1.0 times the share of one of the 60 eval " \
           "rows (1/60 = 0.0167):" in evaluation.close_call_warning(multiclass, CLASSES)
    by_threshold = dataclasses.replace(close, refused_by_change=False)
    assert evaluation.close_call_warning(by_threshold, ("0", "1")) is None
    also_by_threshold = dataclasses.replace(close, refused_by_value=True)  # --max-drop alone would not do
    assert evaluation.close_call_warning(also_by_threshold, ("0", "1")) is None


def _value_failure(name: str, value: float, lower: float) -> validation_result_pb2.ValidationFailure:
    return validation_result_pb2.ValidationFailure(
        metric_key=metrics_for_slice_pb2.MetricKey(name=name),
        metric_threshold=config_pb2.MetricThreshold(
            value_threshold=config_pb2.GenericValueThreshold(lower_bound={"value": lower})),
        metric_value=metrics_for_slice_pb2.MetricValue(double_value={"value": value}))


def test_an_undefined_metric_is_said_to_be_undefined_not_above_its_lower_bound_nor_past_a_change():
    text = evaluation._failure_text(_value_failure("skill_vs_naive", math.nan, 0.0), {})
    assert text.startswith("skill_vs_naive is not defined on the eval split (an eval split of one class")
    assert text.endswith("so it cannot be judged")
    change = validation_result_pb2.ValidationFailure(
        metric_key=metrics_for_slice_pb2.MetricKey(name="auc", is_diff=True),
        metric_threshold=config_pb2.MetricThreshold(change_threshold=config_pb2.GenericChangeThreshold(
            absolute={"value": -0.01}, direction=config_pb2.MetricDirection.HIGHER_IS_BETTER)),
        metric_value=metrics_for_slice_pb2.MetricValue(double_value={"value": math.nan}))
    assert evaluation._failure_text(change, {"auc": 0.8}).endswith("so it cannot be judged against the served model")


def test_too_few_eval_rows_to_replace_the_served_model_say_how_many_and_how_to_accept_them():
    text = evaluation._failure_text(_value_failure("example_count", 6.0, 30.0), {})
    assert text.startswith("evaluated on 6 eval rows, fewer than the 30 needed to bless it")
    assert "`--min example_count=6` accepts them" in text


def test_a_skill_short_of_the_naive_margin_says_what_the_margin_is_and_how_to_lower_it():
    """Ecdat's Hdma with 2 % positives: AUC 0.92 refused at skill 0.044 < 0.05, without a word why."""
    text = evaluation._failure_text(_value_failure("skill_vs_naive", 0.0435, 0.05), {})
    assert text.startswith("skill_vs_naive 0.0435 is below the threshold 0.0500 (the naive_margin")
    assert "where one class is rare" in text and "--naive-margin" in text
    assert evaluation._failure_text(_value_failure("auc", 0.6, 0.7), {}) == "auc 0.6000 is below the threshold 0.7000"


def test_a_served_model_no_better_than_the_naive_baseline_on_new_data_is_warned_about():
    """The taxi sample's tips shuffled in a new span: the served model, blessed at skill 0.6, scores
    below the naive baseline on it (tests/e2e/test_operations.py checks it on that real run)."""
    collapsed = evaluation.Evaluation({"auc": 0.66, "skill_vs_naive": 0.05}, {"auc": 0.18},
                                      {"auc": 0.48, "skill_vs_naive": -0.41}, [], False, [])
    assert evaluation.warnings(collapsed, ())["served-collapsed"].startswith(
        "warning: the served model does no better than the naive baseline on this data (skill_vs_naive -0.410)")
    fine = evaluation.Evaluation({"auc": 0.95}, {"auc": 0.01}, {"auc": 0.94, "skill_vs_naive": 0.6}, [], True, [])
    assert "served-collapsed" not in evaluation.warnings(fine, ())
    assert evaluation.served_collapsed_warning(_result({"auc": 0.9})) is None  # no served model
