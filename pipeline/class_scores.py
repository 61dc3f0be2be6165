"""TFMA metrics of multi-class models: `macro_precision`, `macro_recall` and `macro_f1`, each with
its per-class scores named after the classes (`recall[Adelie]`), all counted from the confusion
matrix of the class the model ranks first, the matrix the run report draws.

Why not TFMA's own (its Precision/Recall/F1Score binarized by class id, macro-averaged): binarized,
a row counts as predicted for every class whose probability passes 0.5, so a row whose first class
scores 0.45 counts for none, and the per-class scores disagree with the confusion matrix (on
vega_datasets' cars, recall of Europe 0.22 where the matrix gives 5/9). Its per-metric `top_k: 1`
makes them agree, but its macro average then looks the classes up without `top_k` and fails
(KeyError). And a blessing bound needs a metric of the bound's name (`--min macro_f1=0.8`), which
a metric configured here has.

Averages are over the classes present in the slice's labels or predicted there, as scikit-learn's
(`labels=None`, `zero_division=0`): a class the model predicts for rows of other classes counts at
precision 0 even when the slice has none of its rows (averaging over the labels' classes alone hid
those mistakes: a macro F1 above the accuracy); a score whose denominator is 0 counts 0. Shown per
class, the recall of a class with no rows is not defined (NaN, "n/a"), not 0: the run's "never
predicts class X" warning reads a 0 recall. A class neither present nor predicted is left out.
Rows count once each: example weights are not applied (the pipeline declares none).
"""
from typing import Dict, List, Optional, Sequence

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

SCORES = ("precision", "recall", "f1")


class ClassScores(metric_types.Metric):
    def __init__(self, name: str = "macro_f1", score: str = "f1", classes: Sequence[str] = (),
                 code: str = ""):
        """`score`: one of SCORES; `classes`: the label's classes in id order. `code`: this
        module's digest, carried in the eval config (TFX's cache key for the Evaluator) so that an
        edit here re-evaluates; not used otherwise."""
        del code
        if score not in SCORES:
            raise ValueError(f"score {score!r}: one of {', '.join(SCORES)}")
        super().__init__(_computations, name=name, score=score, classes=list(classes))


def _computations(name: str = "macro_f1", score: str = "f1", classes: Sequence[str] = (),
                  eval_config=None, model_names: Optional[List[str]] = None,
                  output_names: Optional[List[str]] = None, example_weighted: bool = False
                  ) -> metric_types.MetricComputations:
    computations = []
    for model_name in model_names or [""]:
        for output_name in output_names or [""]:
            def key(metric: str) -> metric_types.MetricKey:
                return metric_types.MetricKey(name=metric, model_name=model_name,
                                              output_name=output_name,
                                              example_weighted=example_weighted)
            average = key(name)
            per_class = [key(f"{score}[{c}]") for c in classes]
            computations.append(metric_types.MetricComputation(
                keys=[average, *per_class], preprocessors=None,
                combiner=_ConfusionCombiner(average, per_class, score, eval_config)))
    return computations


def scores(confusion: np.ndarray, score: str) -> np.ndarray:
    """Per-class `score` from a confusion matrix (rows: actual class, columns: predicted); NaN for
    a class neither in the labels nor predicted."""
    hits = np.diag(confusion).astype(float)
    actual, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    precision = hits / np.maximum(predicted, 1)  # 0 where nothing was predicted (or nothing right)
    recall = hits / np.maximum(actual, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    chosen = {"precision": precision, "recall": recall, "f1": f1}[score]
    return np.where((actual > 0) | (predicted > 0), chosen, np.nan)


class _ConfusionCombiner(beam.CombineFn):
    """Accumulates the confusion matrix: actual class x the class ranked first."""

    def __init__(self, average: metric_types.MetricKey, per_class: List[metric_types.MetricKey],
                 score: str, eval_config):
        self._average, self._per_class = average, per_class
        self._score = score
        self._eval_config = eval_config

    def create_accumulator(self) -> np.ndarray:
        return np.zeros((len(self._per_class),) * 2, dtype=np.int64)

    def add_input(self, acc: np.ndarray, element: metric_types.StandardMetricInputs) -> np.ndarray:
        for label, prediction, _ in metric_util.to_label_prediction_example_weight(
                element, eval_config=self._eval_config, model_name=self._average.model_name,
                output_name=self._average.output_name, flatten=False):
            label, prediction = np.asarray(label).ravel(), np.asarray(prediction).ravel()
            # TFMA may hand the sparse class label one-hot encoded to match the probabilities.
            actual = int(np.argmax(label)) if label.size > 1 else int(label[0])
            if 0 <= actual < len(acc):  # -1: a value outside the classes, which the gate stops
                acc[actual, int(np.argmax(prediction))] += 1
        return acc

    def merge_accumulators(self, accumulators) -> np.ndarray:
        return sum(accumulators, self.create_accumulator())

    def extract_output(self, acc: np.ndarray) -> Dict[metric_types.MetricKey, float]:
        per_class = scores(acc, self._score)
        counted = per_class[~np.isnan(per_class)]
        found = {self._average: float(counted.mean()) if counted.size else float("nan")}
        if self._score == "recall":  # no rows: nothing to recall
            per_class = np.where(acc.sum(axis=1) > 0, per_class, np.nan)
        found.update({key: float(value) for key, value in zip(self._per_class, per_class)})
        return found


metric_types.register_metric(ClassScores)
