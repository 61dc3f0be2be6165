"""What the Evaluator measured and decided, read from its TFMA output: metrics overall and per slice,
the change against the baseline model, the thresholds that failed (TFMA's validation result) and the
plots. A metric a slice cannot define (AUC of a slice with one class only, which TFMA reports as 0)
is NaN here, shown "n/a"."""
import dataclasses
import json
import math
from typing import Dict, List, Optional, Sequence, Tuple

import tensorflow as tf
import tensorflow_model_analysis as tfma

from models.dataset import Task
from pipeline import evaluation_plots, metrics, naive_skill

OVERALL = "overall"


@dataclasses.dataclass
class Evaluation:
    overall: Dict[str, float]  # candidate model, overall slice
    change: Dict[str, float]  # candidate - baseline, overall slice (empty without a baseline)
    baseline: Dict[str, float]
    by_slice: List[Tuple[str, Dict[str, float]]]  # ("island = Dream", candidate metrics)
    blessed: bool
    failures: List[str]  # thresholds that failed, readable
    plots: Dict[str, evaluation_plots.SlicePlots] = dataclasses.field(default_factory=dict)
    refused_by_change: bool = False  # a failed threshold is on the change against the served model
    refused_by_value: bool = False  # a failed threshold is on a metric's own value


def _slice_name(slice_key) -> str:
    keys = slice_key.single_slice_keys
    if not keys:
        return OVERALL
    return ", ".join(
        f"{k.column} = {k.bytes_value.decode() if k.HasField('bytes_value') else k.int64_value if k.HasField('int64_value') else k.float_value}"
        for k in keys)


def metric_name(key) -> str:
    """TFMA's metric key as shown. Per-class scores carry their class in their name
    (`pipeline/class_scores.py`); TFMA's own macro averages and class ids are read from results
    written before it."""
    if key.HasField("aggregation_type"):
        return f"macro_{key.name}"
    if key.sub_key.HasField("class_id"):
        return f"{key.name}[{key.sub_key.class_id.value}]"
    return key.name


def _failure_text(failure, baseline: Dict[str, float]) -> str:
    """A failed threshold in words; a relative bound on the change against the served model is
    compared with the relative change (against `baseline`, the served model's metrics)."""
    key, threshold = failure.metric_key, failure.metric_threshold
    value = failure.metric_value.double_value.value
    name = metric_name(key)
    if math.isnan(value):
        return (f"{name} is not defined on the eval split (an eval split of one class, or a naive baseline "
                "without error), so it cannot be judged" + (" against the served model" if key.is_diff else ""))
    if key.is_diff:
        change = threshold.change_threshold
        if change.HasField("relative"):
            served = baseline.get(name)
            relative = f" ({value / served:+.1%})" if served else ""
            return (f"{name} change vs the served model {value:+.4f}{relative} is past the allowed "
                    f"{change.relative.value:+.1%} relative")
        return f"{name} change vs the served model {value:+.4f} is past the allowed {change.absolute.value:+.4f}"
    bounds = threshold.value_threshold
    low = bounds.HasField("lower_bound") and bounds.lower_bound.value
    if name == metrics.EXAMPLE_COUNT and bounds.HasField("lower_bound") and value < low:
        return (f"evaluated on {value:.0f} eval rows, fewer than the {low:.0f} needed to bless it (to replace a served "
                f"model, {metrics.ROWS_TO_REPLACE} unless the blessing sets its own minimum): metrics on so few rows are "
                f"mostly chance. Bigger spans fix it; `--min example_count={value:.0f}` accepts them")
    if name == naive_skill.NAME and bounds.HasField("lower_bound") and value < low:
        return (f"{name} {value:.4f} is below the threshold {low:.4f} (the naive_margin: the share of the naive "
                "baseline's error the model must remove; where one class is rare that error is already small, "
                "so a useful model can fall short of it: judge by the other metrics, and lower `naive_margin` "
                "in the declaration's blessing, or pass --naive-margin, to bless it)")
    if bounds.HasField("lower_bound") and value < low:
        return f"{name} {value:.4f} is below the threshold {low:.4f}"
    return f"{name} {value:.4f} is above the threshold {bounds.upper_bound.value:.4f}"


# Binary metrics without meaning when a slice holds one class only: no ranking to score.
_NEED_BOTH_CLASSES = ("auc",)


def _mark_undefined(values: Dict[str, float], plots: Optional[evaluation_plots.SlicePlots]) -> None:
    if plots is None or not plots.thresholds.tp:
        return
    if plots.thresholds.positives == 0 or plots.thresholds.negatives == 0:
        for name in _NEED_BOTH_CLASSES:
            if name in values:
                values[name] = math.nan


def load(evaluation_uri: Optional[str]) -> Optional[Evaluation]:
    """What TFMA wrote to `evaluation_uri`; None without one, or when its files are gone (a pipeline
    root cleaned up: TFMA's reader fails on a missing folder)."""
    if not evaluation_uri or not tf.io.gfile.exists(evaluation_uri):
        return None
    result = Evaluation({}, {}, {}, [], False, [])
    for slice_metrics in tfma.load_metrics(evaluation_uri):
        name = _slice_name(slice_metrics.slice_key)
        values: Dict[str, float] = {}
        for entry in slice_metrics.metric_keys_and_values:
            if entry.value.WhichOneof("type") != "double_value":
                continue
            value = entry.value.double_value.value
            key = metric_name(entry.key)
            if entry.key.is_diff:
                if name == OVERALL:
                    result.change[key] = value
            elif entry.key.model_name == "baseline":
                if name == OVERALL:
                    result.baseline[key] = value
            else:
                values[key] = value
        if name == OVERALL:
            result.overall = values
        else:
            result.by_slice.append((name, values))
    result.plots = evaluation_plots.load(evaluation_uri, _slice_name)
    for name, values in [(OVERALL, result.overall), *result.by_slice]:
        _mark_undefined(values, result.plots.get(name))
    result.by_slice.sort()
    validation = tfma.load_validation_result(evaluation_uri)
    result.blessed = validation.validation_ok
    failures = [f for per_slice in validation.metric_validations_per_slice for f in per_slice.failures]
    result.failures = [_failure_text(f, result.baseline) for f in failures]
    result.refused_by_change = any(f.metric_key.is_diff for f in failures)
    result.refused_by_value = any(not f.metric_key.is_diff for f in failures)
    return result


# What runs are listed by (run_summary.LISTED_METRICS): every task's key metrics. Names of the project's
# own, so none holds a backslash, which ML Metadata on PostgreSQL cannot store (pipeline/evaluator.py).
LISTED = tuple(sorted({name for task in Task for name in metrics.key_metrics(task)}))


def listed(result: Optional[Evaluation]) -> str:
    """The LISTED metrics' overall values and changes against the baseline, as JSON (an undefined value
    is NaN); none for a run whose evaluation's files are gone."""
    found = result or Evaluation({}, {}, {}, [], False, [])
    return json.dumps({"values": {n: found.overall[n] for n in LISTED if n in found.overall},
                       "changes": {n: found.change[n] for n in LISTED if n in found.change}})


def never_predicted(result: Evaluation, classes: Sequence[str]) -> List[str]:
    """The classes no eval row of which the model predicts as such at its default decision (a
    binary model's 0.5 threshold, a multi-class model's most probable class): on imbalanced data a
    model can rank well (AUC) and still never say the rare class."""
    if "recall" in result.overall:  # binary: the recall of the positive class, the second
        return [classes[-1]] if classes and result.overall["recall"] == 0 else \
            [classes[0]] if classes and _every_row_positive(result.overall) else []
    return [c for c in classes if result.overall.get(f"recall[{c}]") == 0]


def _every_row_positive(overall: Dict[str, float]) -> bool:
    """A binary model that says the positive class for every eval row, some of them negative:
    every positive found (recall 1), and as many right as were called positive (accuracy equals
    precision, which is below 1: no negative row was told as such)."""
    precision, accuracy = overall.get("precision", math.nan), overall.get("accuracy", math.nan)
    return overall["recall"] == 1 and precision < 1 and abs(accuracy - precision) < 1e-6


def never_predicted_warning(result: Evaluation, classes: Sequence[str]) -> Optional[str]:
    """What the run summary and report say when `never_predicted` finds classes, and what to do."""
    missed = never_predicted(result, classes)
    if not missed:
        return None
    binary = "recall" in result.overall
    # a line of the blessing's `minimum:`; a model that calls every row positive has the positive
    # share as its precision, which the next hundredth refuses (none below 1 when it is 0.99 or more)
    bound: Optional[str] = "macro_recall: 0.5" if not binary else "recall: 0.1"
    if binary and missed[0] == classes[0]:
        hundredths = math.floor(round(result.overall["precision"] * 100, 6)) + 1
        bound = f"precision: {hundredths / 100:g}" if hundredths < 100 else None
    where = "at the 0.5 threshold" if binary else "as its most probable class"
    columns = f"probability_{missed[0]}" if len(missed) == 1 else "probability_<class>"
    refuse = (f" To refuse such a model, add `{bound}` to `minimum:` under `blessing:` in dataset.yaml."
              if bound else "")
    return (f"warning: the model predicts no eval row of class {', '.join(map(repr, missed))} as such ({where}). "
            f"Its probabilities may still rank them{' (see auc)' if binary else ''}: `score` writes each row's {columns} "
            f"for a threshold of your own.{refuse}")


FEW_EVAL_ROWS = 50  # below this, one row more or less right moves accuracy by over two points


def few_rows_warning(result: Evaluation) -> Optional[str]:
    """What the run summary and report say when the eval split is too small for its metrics (and
    the blessing they decide) to mean much."""
    rows = result.overall.get("example_count")
    if rows is None or rows >= FEW_EVAL_ROWS:
        return None
    return (f"warning: evaluated on {rows:.0f} rows only (the eval split): one row "
            f"more or less right moves each metric by {1 / max(rows, 1):.0%} or so, so they, and the "
            "blessing they decide, are rough. More data makes them firm.")


# Skill this close to 1 is rare in tabular data: most often a feature computed from the label. init
# names single features that copy it and a label that adds up from several (schema/label_copies.py: a
# test score that is the mean of its reading and maths parts, skill 0.996); a ratio goes unseen there.
NEAR_PERFECT = 0.99


def near_perfect_warning(result: Evaluation) -> Optional[str]:
    skill = result.overall.get(naive_skill.NAME)
    if skill is None or not skill >= NEAR_PERFECT:
        return None
    return (f"warning: {naive_skill.NAME} {skill:.3f}: the model is nearly perfect. Unless the label is that "
            "easy to tell, a feature may be computed from it (init names single features that copy it "
            "and sums of several; a ratio goes unseen): check what each feature means before trusting the "
            "model, and move such columns to `excluded:` in dataset.yaml.")


def served_collapsed_warning(result: Evaluation) -> Optional[str]:
    """The served model, blessed for beating the naive baseline, does no better than it on this
    run's eval split: its answers no longer fit these labels. A new model can still look better than
    it (the taxi sample's tips shuffled: AUC 0.66, +0.18 against the served model's 0.48), and only
    an absolute threshold would then keep it from being pushed."""
    skill = result.baseline.get(naive_skill.NAME)
    if skill is None or skill > 0:
        return None
    return (f"warning: the served model does no better than the naive baseline on this data ({naive_skill.NAME} "
            f"{skill:.3f}), though it was blessed for beating it: its answers no longer fit these labels. Unless "
            "what is labelled changed that much, the labels are broken (shuffled, from another column, recoded): "
            "check the data; `tfxpipe exclude-span N --reason ...` keeps a span out of training and comparisons")


# A refusal by the change against the served model worth fewer eval rows than this may be chance:
# two models of the same data disagree on a few rows either way (mroz's 80 eval rows: AUC 0.023
# behind, under two rows' worth, on a random half of the same data)
CLOSE_CALL_ROWS = 5


def close_call_warning(result: Evaluation, classes: Sequence[str]) -> Optional[str]:
    """What the run summary and report say when a classifier was refused for falling behind the
    served model by a few eval rows' worth of its main metric (AUC for two classes, accuracy for
    more): the unit of the --max-drop comparison, one row, is then near the drop itself. Not where a
    threshold on a value refused it too: a larger --max-drop would not let it through."""
    if not result.refused_by_change or result.refused_by_value or len(classes) < 2:
        return None
    main = "auc" if len(classes) == 2 else "accuracy"
    rows, change = result.overall.get("example_count"), result.change.get(main)
    if not rows or change is None or -change * rows >= CLOSE_CALL_ROWS:
        return None
    allowed = math.ceil(-change * 100) / 100
    return (f"warning: the {main} drop that refused this model, {-change:.4f}, is {-change * rows:.1f} times the "
            f"share of one of the {rows:.0f} eval rows (1/{rows:.0f} = {1 / rows:.4f}): "
            "so small a difference on so few rows may be chance, not a worse model. Bigger spans make the "
            f"comparison firm; to replace the served model anyway, run once with `--max-drop {allowed:g}`.")


def warnings(result: Evaluation, classes: Sequence[str]) -> Dict[str, str]:
    """The warnings about an evaluation the run summary and report show, by a name for each."""
    found = {"few-eval-rows": few_rows_warning(result), "never-predicted": never_predicted_warning(result, classes),
             "near-perfect": near_perfect_warning(result), "close-call": close_call_warning(result, classes),
             "served-collapsed": served_collapsed_warning(result)}
    return {name: text for name, text in found.items() if text}
