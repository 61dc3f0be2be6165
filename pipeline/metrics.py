"""What the Evaluator measures and when it blesses, derived from the dataset's task.

Metric names are the short ones users write in the declaration's `blessing` and on the command line
(`--min auc=0.8`, `--max rmse=40`); each maps to a TFMA or Keras metric, renamed so TFMA's results
carry the same short name.
- binary: auc, accuracy, precision, recall, calibration; main metric auc;
- multi-class: accuracy, macro_f1, macro_precision, macro_recall (each with its score per class,
  `pipeline/class_scores.py`); main metric accuracy;
- regression: rmse, mae; main metric rmse (lower is better);
- all: skill_vs_naive (`pipeline/naive_skill.py`), example_count.
"""
import json
import math
from typing import Dict, List, Mapping, Optional, Tuple

import tensorflow_model_analysis as tfma

from models import signatures
from models.dataset import LABEL_KEY, Dataset, Task
from pipeline import class_scores, naive_skill
from pipeline.code_digest import code_digest

SKILL = naive_skill.NAME
# short name -> (TFMA/Keras class name, module or "" for TFMA's registry, config)
_BINARY = {
    "auc": ("AUC", "", {}),
    "accuracy": ("BinaryAccuracy", "", {}),
    "precision": ("Precision", "", {}),
    "recall": ("Recall", "", {}),
    "calibration": ("Calibration", "", {}),
}
_MULTICLASS = {"accuracy": ("SparseCategoricalAccuracy", "", {})}
_REGRESSION = {
    "rmse": ("RootMeanSquaredError", "", {}),
    "mae": ("MeanAbsoluteError", "", {}),
}
_BY_TASK = {Task.BINARY: _BINARY, Task.MULTICLASS: _MULTICLASS, Task.REGRESSION: _REGRESSION}
MAIN_METRIC = {Task.BINARY: "auc", Task.MULTICLASS: "accuracy", Task.REGRESSION: "rmse"}
LOWER_IS_BETTER = {"rmse", "mae"}


def key_metrics(task: Task) -> Tuple[str, ...]:
    """The metrics shown in the run summary, `runs` and the report, main metric first."""
    extra = {Task.BINARY: ("accuracy", "calibration"), Task.MULTICLASS: ("macro_f1",),
             Task.REGRESSION: ("mae",)}[task]
    return (MAIN_METRIC[task], *extra, SKILL, "example_count")


def shown(name: str, value: Optional[float], digits: int = 4, change: bool = False) -> str:
    """A metric's value (`change`: a difference, signed) as printed: a count as a whole number,
    an undefined value (precision without a positive prediction) "n/a", one not measured "-"."""
    if value is None:
        return "-"
    if math.isnan(value):
        return "n/a"
    sign = "+" if change else ""
    return f"{value:{sign}.0f}" if name == "example_count" else f"{value:{sign}.{digits}f}"


def known_metrics(task: Task) -> Tuple[str, ...]:
    per_class = tuple(f"macro_{m}" for m in class_scores.SCORES) if task is Task.MULTICLASS else ()
    return (*_BY_TASK[task], *per_class, SKILL)


def check_bounds(task: Task, bounds: Mapping[str, float]) -> None:
    unknown = sorted(set(bounds) - set(known_metrics(task)))
    if unknown:
        raise ValueError(f"no metric {', '.join(unknown)} for a {task.value} task; "
                         f"known: {', '.join(known_metrics(task))}")


def _threshold(dataset: Dataset, name: str) -> tfma.MetricThreshold:
    blessing = dataset.blessing
    threshold = tfma.MetricThreshold()
    if name in blessing.minimum:
        threshold.value_threshold.lower_bound.value = blessing.minimum[name]
    if name in blessing.maximum:
        threshold.value_threshold.upper_bound.value = blessing.maximum[name]
    if name == SKILL:
        threshold.value_threshold.lower_bound.value = max(
            blessing.naive_margin, blessing.minimum.get(SKILL, blessing.naive_margin))
    if name == MAIN_METRIC[dataset.task]:
        change = threshold.change_threshold
        if name in LOWER_IS_BETTER:  # errors have units: at most max_drop worse, relatively
            change.direction = tfma.MetricDirection.LOWER_IS_BETTER
            change.relative.value = blessing.max_drop
        else:
            change.direction = tfma.MetricDirection.HIGHER_IS_BETTER
            change.absolute.value = -blessing.max_drop
    return threshold


def _metric(dataset: Dataset, name: str, class_name: str, module: str, config: Dict
            ) -> tfma.MetricConfig:
    metric = tfma.MetricConfig(class_name=class_name, module=module,
                               config=json.dumps({**config, "name": name}))
    threshold = _threshold(dataset, name)
    if threshold.ByteSize():
        # The overall slice only: a threshold on every slice would let a five-row slice veto a model.
        metric.per_slice_thresholds.add(slicing_specs=[tfma.SlicingSpec()]).threshold.CopyFrom(threshold)
    return metric


# TFMA's plot metrics the run report draws (pipeline/report_charts.py).
CALIBRATION_BUCKETS = 20


def plots(dataset: Dataset, label_range: Optional[Tuple[float, float]]) -> List[tfma.MetricConfig]:
    """binary: confusion matrices by threshold (ROC and PR curves) and a calibration histogram;
    multi-class: the confusion matrix; regression: mean label per prediction bucket over the label's
    range in the schema (predicted vs actual), none without that range."""
    if dataset.task is Task.BINARY:
        return [tfma.MetricConfig(class_name="ConfusionMatrixPlot", config=json.dumps({"num_thresholds": 200})),
                tfma.MetricConfig(class_name="CalibrationPlot",
                                  config=json.dumps({"num_buckets": CALIBRATION_BUCKETS}))]
    if dataset.task is Task.MULTICLASS:
        return [tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot")]
    if label_range is None:
        return []
    return [tfma.MetricConfig(class_name="CalibrationPlot", config=json.dumps(
        {"num_buckets": CALIBRATION_BUCKETS, "left": label_range[0], "right": label_range[1]}))]


def eval_config(dataset: Dataset, label_range: Optional[Tuple[float, float]] = None) -> tfma.EvalConfig:
    """Metrics and plots overall and per declared slice feature; thresholds from the declaration's
    blessing. `label_range`: the regression label's range in the curated schema."""
    check_bounds(dataset.task, {**dataset.blessing.minimum, **dataset.blessing.maximum})
    metrics = [tfma.MetricConfig(class_name="ExampleCount"), *plots(dataset, label_range)]
    metrics += [_metric(dataset, name, *spec) for name, spec in _BY_TASK[dataset.task].items()]
    metrics.append(_metric(dataset, SKILL, "SkillVsNaive", naive_skill.__name__, {
        "task": dataset.task.value, "code": code_digest(f"{naive_skill.__name__}.SkillVsNaive")}))
    if dataset.task is Task.MULTICLASS:
        metrics += [_metric(dataset, f"macro_{score}", "ClassScores", class_scores.__name__, {
            "score": score, "classes": list(dataset.label.classes),
            "code": code_digest(f"{class_scores.__name__}.ClassScores")}) for score in class_scores.SCORES]
    return tfma.EvalConfig(
        # tf_generic: TFMA calls the exported serving signature, what TF Serving answers with. Left
        # unset, TFMA loads the model as Keras when it can (it can, under Keras 2) and evaluates
        # through Keras' own call: twice the Evaluator's time for the same predictions.
        model_specs=[tfma.ModelSpec(
            model_type=tfma.TF_GENERIC,
            signature_name="serving_default",
            prediction_key=signatures.prediction_key(dataset.task),
            label_key=LABEL_KEY,
            preprocessing_function_names=["transform_features"])],
        slicing_specs=[tfma.SlicingSpec(),
                       *(tfma.SlicingSpec(feature_keys=[s]) for s in dataset.slices)],
        metrics_specs=[tfma.MetricsSpec(metrics=metrics)],
    )
