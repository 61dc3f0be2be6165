"""TFMA metric `skill_vs_naive`: the share of a naive baseline's squared error that the model
removes, on the same eval examples the Evaluator reads (1 = perfect, 0 = no better than the naive
baseline, below 0 = worse): skill = 1 - MSE(model) / MSE(naive).

- regression: the naive baseline answers the eval split's mean, so this is R²;
- classification: the error is the Brier score (squared distance between the predicted probabilities
  and the one-hot label) and the naive baseline answers the eval split's class frequencies (the Brier
  skill score of forecasting). Unlike an accuracy-based skill, it does not depend on a 0.5 cut-off:
  a model that ranks well but is not yet calibrated on an imbalanced label still scores above 0.
A threshold on it ("beat the naive baseline by a margin") transfers across datasets, where absolute
accuracy or error thresholds tuned on one dataset do not. TFMA has no such metric (its metrics do not
see the label distribution of the split), so it is written here as a TFMA metric: TFMA computes it
per slice, compares it with the baseline model's and applies the declared threshold like any other.
"""
from typing import Dict, List, Optional

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

NAME = "skill_vs_naive"


class SkillVsNaive(metric_types.Metric):
    def __init__(self, name: str = NAME, task: str = "binary", code: str = ""):
        """`code`: this module's digest, carried in the eval config (TFX's cache key for the
        Evaluator) so that an edit here re-evaluates; not used otherwise."""
        del code
        super().__init__(_computations, name=name, task=task)


def _computations(name: str = NAME, task: str = "binary", eval_config=None,
                  model_names: Optional[List[str]] = None, output_names: Optional[List[str]] = None,
                  example_weighted: bool = False) -> metric_types.MetricComputations:
    computations = []
    for model_name in model_names or [""]:
        for output_name in output_names or [""]:
            key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                                         example_weighted=example_weighted)
            computations.append(metric_types.MetricComputation(
                keys=[key], preprocessors=None,
                combiner=_SkillCombiner(key, task, eval_config)))
    return computations


class _SkillCombiner(beam.CombineFn):
    """Accumulates count, squared error, label sum and sum of squares (regression) or class counts."""

    def __init__(self, key: metric_types.MetricKey, task: str, eval_config):
        self._key = key
        self._task = task
        self._eval_config = eval_config

    def create_accumulator(self) -> Dict:
        return {"n": 0.0, "sse": 0.0, "sum": 0.0, "sum_sq": 0.0, "classes": {}}

    def add_input(self, acc: Dict, element: metric_types.StandardMetricInputs) -> Dict:
        for label, prediction, _ in metric_util.to_label_prediction_example_weight(
                element, eval_config=self._eval_config, model_name=self._key.model_name,
                output_name=self._key.output_name, flatten=False):
            label, prediction = np.asarray(label).ravel(), np.asarray(prediction).ravel()
            # TFMA may hand a sparse class label one-hot encoded to match the probabilities.
            y = int(np.argmax(label)) if label.size > 1 else float(label[0])
            acc["n"] += 1
            if self._task == "regression":
                acc["sse"] += (float(prediction[0]) - y) ** 2
                acc["sum"] += y
                acc["sum_sq"] += y * y
                continue
            y = int(y)
            if prediction.size == 1:  # binary: P(second class)
                acc["sse"] += (float(prediction[0]) - y) ** 2
            else:
                target = np.zeros(prediction.size)
                target[y] = 1.0
                acc["sse"] += float(np.sum((prediction - target) ** 2))
            acc["classes"][y] = acc["classes"].get(y, 0) + 1
        return acc

    def merge_accumulators(self, accumulators) -> Dict:
        merged = self.create_accumulator()
        for acc in accumulators:
            for field in ("n", "sse", "sum", "sum_sq"):
                merged[field] += acc[field]
            for cls, count in acc["classes"].items():
                merged["classes"][cls] = merged["classes"].get(cls, 0) + count
        return merged

    def naive_mse(self, acc: Dict) -> float:
        """The squared error of answering the split's mean label (or class frequencies)."""
        n = acc["n"]
        if self._task == "regression":
            return acc["sum_sq"] / n - (acc["sum"] / n) ** 2
        shares = np.array(list(acc["classes"].values())) / n
        if self._task == "binary":
            positive = acc["classes"].get(1, 0) / n
            return positive * (1.0 - positive)
        return 1.0 - float(np.sum(shares ** 2))

    def extract_output(self, acc: Dict) -> Dict:
        if not acc["n"]:
            return {self._key: float("nan")}
        naive = self.naive_mse(acc)
        skill = 1.0 - (acc["sse"] / acc["n"]) / naive if naive > 0 else float("nan")
        return {self._key: skill}


metric_types.register_metric(SkillVsNaive)
