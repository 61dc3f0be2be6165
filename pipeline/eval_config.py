"""The Evaluator's TFMA configuration, from the dataset's declaration: the metrics `pipeline/metrics.py`
names for its task, each renamed to its short name, the blessing's thresholds on them, and the plots
the run report draws."""
import copy
import json
from typing import Dict, List, Optional, Tuple

import tensorflow_model_analysis as tfma

from models import signatures
from models.dataset import LABEL_KEY, Dataset, Task
from pipeline import class_scores, metrics, naive_skill
from pipeline.code_digest import code_digest


def _threshold(dataset: Dataset, name: str) -> tfma.MetricThreshold:
    blessing = dataset.blessing
    threshold = tfma.MetricThreshold()
    if name in blessing.minimum:
        threshold.value_threshold.lower_bound.value = blessing.minimum[name]
    if name in blessing.maximum:
        threshold.value_threshold.upper_bound.value = blessing.maximum[name]
    if name == metrics.SKILL:
        threshold.value_threshold.lower_bound.value = max(
            blessing.naive_margin, blessing.minimum.get(metrics.SKILL, blessing.naive_margin))
    if name == metrics.MAIN_METRIC[dataset.task]:
        change = threshold.change_threshold
        if name in metrics.LOWER_IS_BETTER:  # errors have units: at most max_drop worse, relatively
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
        _bound(metric, threshold)
    return metric


def _bound(metric: tfma.MetricConfig, threshold: tfma.MetricThreshold) -> None:
    # The overall slice only: a threshold on every slice would let a five-row slice veto a model.
    metric.per_slice_thresholds.add(slicing_specs=[tfma.SlicingSpec()]).threshold.CopyFrom(threshold)


def with_rows_to_replace(config: tfma.EvalConfig) -> tfma.EvalConfig:
    """`config` for an evaluation against a served model: unless the blessing bounds example_count
    itself, at least `metrics.ROWS_TO_REPLACE` eval rows (a first model has nothing to replace)."""
    config = copy.deepcopy(config)
    for spec in config.metrics_specs:
        for metric in spec.metrics:
            if metric.class_name == "ExampleCount" and not metric.per_slice_thresholds:
                threshold = tfma.MetricThreshold()
                threshold.value_threshold.lower_bound.value = metrics.ROWS_TO_REPLACE
                _bound(metric, threshold)
    return config


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
    metrics.check_bounds(dataset.task, {**dataset.blessing.minimum, **dataset.blessing.maximum})
    count = tfma.MetricConfig(class_name="ExampleCount")
    if metrics.EXAMPLE_COUNT in {**dataset.blessing.minimum, **dataset.blessing.maximum}:
        _bound(count, _threshold(dataset, metrics.EXAMPLE_COUNT))
    configs = [count, *plots(dataset, label_range)]
    configs += [_metric(dataset, name, *spec) for name, spec in metrics.BY_TASK[dataset.task].items()]
    configs.append(_metric(dataset, metrics.SKILL, "SkillVsNaive", naive_skill.__name__, {
        "task": dataset.task.value, "code": code_digest(f"{naive_skill.__name__}.SkillVsNaive")}))
    if dataset.task is Task.MULTICLASS:
        configs += [_metric(dataset, f"macro_{score}", "ClassScores", class_scores.__name__, {
            "score": score, "classes": list(dataset.label.classes),
            "code": code_digest(f"{class_scores.__name__}.ClassScores")}) for score in metrics.CLASS_SCORES]
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
        metrics_specs=[tfma.MetricsSpec(metrics=configs)],
    )
