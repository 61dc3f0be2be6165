"""TFMA metric `skill_vs_naive`: the share of a naive baseline's error that the model removes, on the
same eval examples the Evaluator reads (1 = perfect, 0 = no better than the naive baseline).

- classification: the naive baseline answers the eval split's majority class;
  skill = (accuracy - majority share) / (1 - majority share)  (Heidke-style skill score);
- regression: the naive baseline answers the eval split's mean; skill = 1 - MSE / variance (R²).
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
    def __init__(self, name: str = NAME, task: str = "binary"):
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
    """Accumulator: [count, sum of squared errors or correct answers, sum y, sum y², per-class counts]."""

    def __init__(self, key: metric_types.MetricKey, task: str, eval_config):
        self._key = key
        self._task = task
        self._eval_config = eval_config

    def create_accumulator(self) -> Dict:
        return {"n": 0.0, "hits_or_sse": 0.0, "sum": 0.0, "sum_sq": 0.0, "classes": {}}

    def add_input(self, acc: Dict, element: metric_types.StandardMetricInputs) -> Dict:
        for label, prediction, _ in metric_util.to_label_prediction_example_weight(
                element, eval_config=self._eval_config, model_name=self._key.model_name,
                output_name=self._key.output_name, flatten=False):
            label, prediction = np.asarray(label).ravel(), np.asarray(prediction).ravel()
            # TFMA may hand a sparse class label one-hot encoded to match the probabilities.
            y = float(np.argmax(label)) if label.size > 1 else float(label[0])
            acc["n"] += 1
            if self._task == "regression":
                acc["hits_or_sse"] += (float(prediction[0]) - y) ** 2
                acc["sum"] += y
                acc["sum_sq"] += y * y
                continue
            answer = int(prediction[0] >= 0.5) if prediction.size == 1 else int(np.argmax(prediction))
            acc["hits_or_sse"] += float(answer == int(y))
            acc["classes"][int(y)] = acc["classes"].get(int(y), 0) + 1
        return acc

    def merge_accumulators(self, accumulators) -> Dict:
        merged = self.create_accumulator()
        for acc in accumulators:
            for field in ("n", "hits_or_sse", "sum", "sum_sq"):
                merged[field] += acc[field]
            for cls, count in acc["classes"].items():
                merged["classes"][cls] = merged["classes"].get(cls, 0) + count
        return merged

    def extract_output(self, acc: Dict) -> Dict:
        n = acc["n"]
        if not n:
            return {self._key: float("nan")}
        if self._task == "regression":
            variance = acc["sum_sq"] / n - (acc["sum"] / n) ** 2
            skill = 1.0 - (acc["hits_or_sse"] / n) / variance if variance > 0 else float("nan")
        else:
            majority = max(acc["classes"].values()) / n
            accuracy = acc["hits_or_sse"] / n
            skill = (accuracy - majority) / (1.0 - majority) if majority < 1 else float("nan")
        return {self._key: skill}


metric_types.register_metric(SkillVsNaive)
