"""What the Evaluator measures and when it blesses, derived from the dataset's task.

Metric names are the short ones users write in the declaration's `blessing` and on the command line
(`--min auc=0.8`, `--max rmse=40`); each maps to a TFMA or Keras metric, renamed so TFMA's results
carry the same short name.
- binary: auc, accuracy, precision, recall, calibration; main metric auc;
- multi-class: accuracy, macro_f1, macro_precision, macro_recall (each with its score per class,
  `pipeline/class_scores.py`); main metric accuracy;
- regression: rmse, mae; main metric rmse (lower is better);
- all: skill_vs_naive (`pipeline/naive_skill.py`), example_count.

The TFMA configuration built from these is `pipeline/eval_config.py`'s: this module imports no
TensorFlow, so `tfxpipe runs` and the option checks name and show metrics without loading it.
"""
import math
from typing import Mapping, Optional, Tuple

from models.dataset import Task

SKILL = "skill_vs_naive"  # pipeline/naive_skill.py's metric, by the name the EvalConfig gives it
EXAMPLE_COUNT = "example_count"  # TFMA's ExampleCount: the eval split's rows
# A candidate compared with a served model needs at least this many eval rows (a fifth of a span:
# spans of about 100 rows) unless the blessing bounds example_count itself: on fewer, a change
# against the served model is mostly which rows fell in the eval split (a 20-row span's 6 eval rows
# blessed a model worse on every other row).
ROWS_TO_REPLACE = 20
CLASS_SCORES = ("precision", "recall", "f1")  # each a macro_ metric (pipeline/class_scores.py's scores)
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
BY_TASK = {Task.BINARY: _BINARY, Task.MULTICLASS: _MULTICLASS, Task.REGRESSION: _REGRESSION}
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
    """The metrics a blessing can bound (`--min example_count=10`: the eval rows a blessing needs)."""
    per_class = tuple(f"macro_{m}" for m in CLASS_SCORES) if task is Task.MULTICLASS else ()
    return (*BY_TASK[task], *per_class, SKILL, EXAMPLE_COUNT)


def check_bounds(task: Task, bounds: Mapping[str, float]) -> None:
    unknown = sorted(set(bounds) - set(known_metrics(task)))
    if unknown:
        raise ValueError(f"no metric {', '.join(unknown)} for a {task.value} task; "
                         f"known: {', '.join(known_metrics(task))}")
