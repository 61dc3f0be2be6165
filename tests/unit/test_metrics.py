"""What the Evaluator measures and when it blesses, by task (pipeline/metrics.py, eval_config.py), and
the thresholds as the run report writes them."""
import json

import pytest
import tensorflow_model_analysis as tfma
from google.protobuf import json_format

from models import dataset
from pipeline import eval_config, metrics, run_report


def _declared(task, classes=(), **blessing):
    label = {"column": "y", **({"classes": list(classes)} if classes else {})}
    return dataset.parse({"name": "d", "task": task, "label": label, "features": {"x": "numeric"},
                          "blessing": blessing})


def _thresholds(config: tfma.EvalConfig) -> dict:
    found = {}
    for spec in config.metrics_specs:
        for metric in spec.metrics:
            name = json.loads(metric.config or "{}").get("name", metric.class_name)
            for per_slice in metric.per_slice_thresholds:
                found[name] = json_format.MessageToDict(per_slice.threshold)
    return found


def test_regression_errors_have_upper_bounds_and_may_not_grow_against_the_served_model():
    config = eval_config.eval_config(_declared("regression", maximum={"rmse": 40}, max_drop=0.02))
    rmse = _thresholds(config)["rmse"]
    assert rmse["valueThreshold"] == {"upperBound": 40.0}
    assert rmse["changeThreshold"] == {"direction": "LOWER_IS_BETTER", "relative": 0.02}
    assert config.model_specs[0].prediction_key == "predictions"


def test_classification_needs_the_naive_margin_and_no_drop_of_the_main_metric():
    thresholds = _thresholds(eval_config.eval_config(_declared("binary", ("n", "y"), minimum={"auc": 0.8})))
    assert thresholds["auc"]["valueThreshold"] == {"lowerBound": 0.8}
    assert thresholds["auc"]["changeThreshold"] == {"direction": "HIGHER_IS_BETTER", "absolute": -0.01}
    assert thresholds[metrics.SKILL]["valueThreshold"] == {"lowerBound": 0.05}


def test_multiclass_macro_averages_carry_the_declared_bounds_and_the_class_names():
    config = eval_config.eval_config(_declared("multiclass", ("a", "b", "c"), minimum={"macro_f1": 0.8},
                                           maximum={}))
    assert _thresholds(config)["macro_f1"]["valueThreshold"] == {"lowerBound": 0.8}
    scored = {json.loads(m.config)["name"]: json.loads(m.config) for m in config.metrics_specs[0].metrics
              if m.class_name == "ClassScores"}
    assert sorted(scored) == ["macro_f1", "macro_precision", "macro_recall"]
    assert all(c["classes"] == ["a", "b", "c"] for c in scored.values())
    assert metrics.key_metrics(dataset.Task.MULTICLASS)[:2] == ("accuracy", "macro_f1")


def test_the_metric_names_listed_without_tensorflow_are_those_the_metric_code_computes():
    from pipeline import class_scores, naive_skill  # pylint: disable=import-outside-toplevel

    assert metrics.SKILL == naive_skill.NAME and metrics.CLASS_SCORES == class_scores.SCORES


def _class_scores(labels, probabilities, names, score):
    """ClassScores' output over (label, probabilities) rows, accumulated in two merged halves."""
    import numpy as np  # pylint: disable=import-outside-toplevel
    from tensorflow_model_analysis.metrics import metric_types  # pylint: disable=import-outside-toplevel

    from pipeline import class_scores  # pylint: disable=import-outside-toplevel

    (computation,) = class_scores.ClassScores(name=f"macro_{score}", score=score, classes=names).computations()
    combiner = computation.combiner
    halves = [combiner.create_accumulator(), combiner.create_accumulator()]
    for i, (label, probability) in enumerate(zip(labels, probabilities)):
        halves[i % 2] = combiner.add_input(halves[i % 2], metric_types.StandardMetricInputs(
            labels=np.array([label]), predictions=probability.astype(np.float32),
            example_weights=np.array([1.0])))
    return {k.name: v for k, v in combiner.extract_output(combiner.merge_accumulators(halves)).items()}


def test_a_class_predicted_for_a_slice_without_its_rows_counts_at_precision_zero_as_in_scikit_learn():
    """Wine's eval half without class_2's rows, scored by a model that still predicts class_2 for
    some of them: those mistakes lower the macro averages, as scikit-learn counts them."""
    import numpy as np  # pylint: disable=import-outside-toplevel
    from sklearn import datasets, linear_model, metrics as sk_metrics  # pylint: disable=import-outside-toplevel

    features, labels = datasets.load_wine(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(labels))
    train, test = order[::2], order[1::2]
    model = linear_model.LogisticRegression(max_iter=200).fit(features[train][:, :2], labels[train])
    test = test[labels[test] != 2]
    probabilities = model.predict_proba(features[test][:, :2])
    predicted = probabilities.argmax(axis=1)
    assert (predicted == 2).sum() > 0, "the check needs rows wrongly called class_2"
    names = ["class_0", "class_1", "class_2"]
    expected = sk_metrics.precision_recall_fscore_support(labels[test], predicted, zero_division=0)
    for score, wanted in zip(("precision", "recall", "f1"), expected[:3]):
        found = _class_scores(labels[test], probabilities, names, score)
        assert found[f"macro_{score}"] == pytest.approx(wanted.mean())
        # Shown per class, a recall without rows is not defined ("never predicted" reads a 0 recall).
        assert found[f"{score}[class_2]"] == 0.0 if score != "recall" else np.isnan(found["recall[class_2]"])


def test_class_scores_equal_scikit_learns_on_a_real_classifier():
    """Wine (scikit-learn's bundled data), a logistic regression fitted on half and scored on the
    other half: each class's precision, recall and F1 of the class ranked first, and their macro
    averages, as scikit-learn computes them."""
    import numpy as np  # pylint: disable=import-outside-toplevel
    from sklearn import datasets, linear_model, metrics as sk_metrics  # pylint: disable=import-outside-toplevel
    from tensorflow_model_analysis.metrics import metric_types  # pylint: disable=import-outside-toplevel

    from pipeline import class_scores  # pylint: disable=import-outside-toplevel

    features, labels = datasets.load_wine(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(labels))
    train, test = order[::2], order[1::2]
    model = linear_model.LogisticRegression(max_iter=200).fit(features[train][:, :2], labels[train])
    probabilities = model.predict_proba(features[test][:, :2])  # two features: room for mistakes
    expected = sk_metrics.precision_recall_fscore_support(
        labels[test], probabilities.argmax(axis=1), zero_division=0)
    assert 0.4 < expected[1].mean() < 0.95, "the check needs a model that is neither perfect nor useless"
    names = ["class_0", "class_1", "class_2"]
    for score, wanted in zip(class_scores.SCORES, expected[:3]):
        found = _class_scores(labels[test], probabilities, names, score)
        assert found[f"macro_{score}"] == pytest.approx(wanted.mean())
        assert [found[f"{score}[{n}]"] for n in names] == pytest.approx(list(wanted))
    (computation,) = class_scores.ClassScores(classes=names).computations()
    combiner = computation.combiner
    # A label outside the classes (-1, which the gate stops first) is no row of any class.
    before = combiner.create_accumulator()
    after = combiner.add_input(combiner.create_accumulator(), metric_types.StandardMetricInputs(
        labels=np.array([-1]), predictions=probabilities[0].astype(np.float32),
        example_weights=np.array([1.0])))
    assert (after == before).all()


def test_a_bound_on_a_metric_the_task_does_not_have_is_refused():
    with pytest.raises(ValueError, match="no metric auc for a regression task"):
        metrics.check_bounds(dataset.Task.REGRESSION, {"auc": 0.8})


def test_thresholds_are_written_in_words_whatever_their_direction():
    texts = run_report._bound_texts  # pylint: disable=protected-access
    assert texts({"value_threshold": {"upper_bound": 40.0},
                  "change_threshold": {"relative": 0.01, "direction": "LOWER_IS_BETTER"}}) == [
        "<= 40.0", "at most 1% worse than the served model"]
    assert texts({"value_threshold": {"lower_bound": 0.7}}) == [">= 0.7"]


def _skill(task, labels, predictions):
    import numpy as np  # pylint: disable=import-outside-toplevel
    from tensorflow_model_analysis.metrics import metric_types  # pylint: disable=import-outside-toplevel

    from pipeline import naive_skill  # pylint: disable=import-outside-toplevel

    (computation,) = naive_skill.SkillVsNaive(task=task).computations()
    combiner = computation.combiner
    acc = combiner.create_accumulator()
    for label, prediction in zip(labels, predictions):
        acc = combiner.add_input(acc, metric_types.StandardMetricInputs(
            labels=np.array([label]), predictions=np.array(prediction, dtype=np.float32),
            example_weights=np.array([1.0])))
    return next(iter(combiner.extract_output(combiner.merge_accumulators([acc])).values()))


def test_skill_is_one_for_a_perfect_model_and_zero_for_the_naive_answer():
    assert _skill("binary", [1, 0, 0, 0], [[1.0], [0.0], [0.0], [0.0]]) == pytest.approx(1.0)
    assert _skill("binary", [1, 0, 0, 0], [[0.25]] * 4) == pytest.approx(0.0, abs=1e-6)
    shares = [0.5, 0.25, 0.25]
    assert _skill("multiclass", [0, 0, 1, 2], [shares] * 4) == pytest.approx(0.0, abs=1e-6)
    assert _skill("multiclass", [0, 1, 2], [[1, 0, 0], [0, 1, 0], [0, 0, 1]]) == pytest.approx(1.0)
    assert _skill("regression", [1.0, 3.0], [[2.0], [2.0]]) == pytest.approx(0.0)
    assert _skill("regression", [1.0, 3.0], [[3.0], [1.0]]) < 0  # worse than the mean


def test_counts_print_whole_undefined_values_n_a_unmeasured_ones_a_dash_and_changes_signed():
    assert metrics.shown("example_count", 130.0) == "130"
    assert metrics.shown("example_count", 0.0, change=True) == "+0"
    assert metrics.shown("auc", 0.76912, 3) == "0.769"
    assert metrics.shown("auc", -0.0123, change=True) == "-0.0123"
    assert metrics.shown("precision", float("nan")) == "n/a"  # no positive prediction: undefined
    assert metrics.shown("auc", None, change=True) == "-"  # no baseline
