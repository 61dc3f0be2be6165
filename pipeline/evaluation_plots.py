"""TFMA's plot metrics, as the Evaluator wrote them (`pipeline/eval_config.py` `plots`), read per slice
into plain lists the run report draws: confusion matrices by threshold (binary), calibration
buckets (binary; regression: mean label per prediction bucket), the multi-class confusion matrix."""
import dataclasses
import math
from typing import Dict, List, Optional, Tuple

import tensorflow_model_analysis as tfma


@dataclasses.dataclass
class Thresholds:
    """Binary: one entry per threshold, lowest first."""
    threshold: List[float] = dataclasses.field(default_factory=list)
    tp: List[float] = dataclasses.field(default_factory=list)
    fp: List[float] = dataclasses.field(default_factory=list)
    tn: List[float] = dataclasses.field(default_factory=list)
    fn: List[float] = dataclasses.field(default_factory=list)

    @property
    def positives(self) -> float:
        return self.tp[0] + self.fn[0] if self.tp else 0.0

    @property
    def negatives(self) -> float:
        return self.fp[0] + self.tn[0] if self.tp else 0.0

    def rates(self, index: int) -> Tuple[Optional[float], Optional[float], Optional[float]]:
        """(precision, recall = true positive rate, false positive rate) at threshold `index`;
        None where a rate has no denominator."""
        tp, fp, tn, fn = self.tp[index], self.fp[index], self.tn[index], self.fn[index]
        return (tp / (tp + fp) if tp + fp else None, tp / (tp + fn) if tp + fn else None,
                fp / (fp + tn) if fp + tn else None)


@dataclasses.dataclass
class Bucket:
    lower: float
    upper: float
    count: float
    mean_label: float
    mean_prediction: float


@dataclasses.dataclass
class SlicePlots:
    thresholds: Thresholds = dataclasses.field(default_factory=Thresholds)
    calibration: List[Bucket] = dataclasses.field(default_factory=list)  # non-empty buckets only
    confusion: Dict[Tuple[int, int], float] = dataclasses.field(default_factory=dict)  # (actual, predicted)


def _value(wrapped) -> float:
    return wrapped.value if hasattr(wrapped, "value") else float(wrapped)


def _read(plot) -> SlicePlots:
    found = SlicePlots()
    for matrix in plot.confusion_matrix_at_thresholds.matrices:
        for name in ("threshold", "tp", "fp", "tn", "fn"):
            field = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives",
                     "fn": "false_negatives"}.get(name, name)
            getattr(found.thresholds, name).append(getattr(matrix, field))
    for bucket in plot.calibration_histogram_buckets.buckets:
        count = _value(bucket.num_weighted_examples)
        if count > 0 and math.isfinite(bucket.lower_threshold_inclusive) \
                and math.isfinite(bucket.upper_threshold_exclusive):
            found.calibration.append(Bucket(
                bucket.lower_threshold_inclusive, bucket.upper_threshold_exclusive, count,
                _value(bucket.total_weighted_label) / count,
                _value(bucket.total_weighted_refined_prediction) / count))
    matrices = plot.multi_class_confusion_matrix_at_thresholds.matrices
    if matrices:
        for entry in matrices[0].entries:
            found.confusion[(entry.actual_class_id, entry.predicted_class_id)] = entry.num_weighted_examples
    return found


def load(evaluation_uri: str, slice_name) -> Dict[str, SlicePlots]:
    """Slice name (evaluation.py's naming) -> its plots, for the candidate model."""
    found = {}
    for per_slice in tfma.load_plots(evaluation_uri):
        for entry in per_slice.plot_keys_and_values:
            if entry.key.model_name == "baseline":
                continue
            found[slice_name(per_slice.slice_key)] = _read(entry.value)
    return found
