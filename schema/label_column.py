"""`tfxpipe init`'s decision about the label column: the task (classes or a quantity), the classes
in their order, and each refusal (no label, one value, fractions as classes, too many classes)."""
import collections
from typing import Counter, List, Optional, Sequence, Tuple

from schema.columns import FLOAT, INT, STRING, InitError, Stats, present_count

MAX_CLASSES, AUTO_MAX_INT_CLASSES = 100, 10  # more: an ID or a quantity, not classes (57 US states are)
FEW_CLASS_ROWS = 5  # a class with fewer rows may have none in the eval split, and its scores mean little


# Cells pandas' read_csv reads as missing by default (pandas._libs.parsers.STR_NA_VALUES).
PANDAS_MISSING = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                            "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"})


def label_decision(column: str, stat: Optional[Stats], cells: Counter, task: str, rows: int,
                   estimate: Optional[int] = None, missing_tokens: Sequence[str] = ()) -> Tuple[str, List[str], str]:
    """(task, classes, decision) for the label column; InitError when it cannot be learned. `cells`:
    the counted values; `estimate`: the distinct values when there are more (schema/cell_counts.py);
    `missing_tokens`: the cells of the label read as missing."""
    missing = rows - present_count(stat)
    if missing:
        others = sorted(set(missing_tokens) - PANDAS_MISSING)  # pandas reads them as values unless told
        read = f"pd.read_csv(FILE, na_values={others!r})" if others else "df"
        raise InitError(f"label {column!r} is missing in {missing} of {rows} rows: every training row "
                        "needs a label; fill in or drop those rows, e.g. with pandas: "
                        f"`df = {read}.dropna(subset=[{column!r}])`, then init again (once a model is "
                        "pushed, `tfxpipe score` predicts the rows left out)")
    kind = stat.type
    numbers = sorted({float(c) for c in cells}) if kind in (INT, FLOAT) else []
    values = ([str(int(v)) for v in numbers] if all(v.is_integer() for v in numbers) else
              [f"{v:g}" for v in numbers]) if numbers else sorted(cells)
    count = estimate or len(values)
    if count < 2:
        raise InitError(f"label {column!r} has one value ({values[0]!r}) in all {rows} rows: there is "
                        "nothing to predict; choose another --label")
    whole = bool(numbers) and all(v.is_integer() for v in numbers)
    hint = ""
    if task == "auto":
        # Few whole numbers are classes, written as integers or as floats (0.0/1.0, 0.0..6.0: pandas
        # and statsmodels write integer columns so once they had gaps or went through arithmetic)
        classify = kind == STRING or (whole and count <= AUTO_MAX_INT_CLASSES)
        task = ("binary" if count == 2 else "multiclass") if classify else "regression"
        # either way a guess (not for 0/1): how to take the other; values that come about once each
        # (a yearly figure of 51 years) are no classes
        if whole and 2 < count <= MAX_CLASSES and (classify or rows >= 2 * count):
            hint = ("; --task regression if they are a quantity" if classify
                    else f"; {count} whole values: --task multiclass if they are classes")
    if task == "regression":
        if not numbers:
            raise InitError(f"--task regression needs a numeric label; {column!r} holds text (e.g. "
                            f"{', '.join(values[:3])}): use --task binary or multiclass")
        low, high = stat.num_stats.min, stat.num_stats.max  # every value, counted or not
        return task, [], f"{column}: label, regression (numbers from {low:g} to {high:g}{hint})"
    if not all(v.is_integer() for v in numbers):
        raise InitError(f"label {column!r} holds fractional numbers, not classes: use --task regression; if "
                        "they are names of classes, write them as text, e.g. with pandas: "
                        f"`df[{column!r}] = 'class ' + df[{column!r}].astype(str)`, then init again")
    if count > MAX_CLASSES:
        about = "about " if estimate else ""
        raise InitError(f"label {column!r} has {about}{count} distinct values, more than {MAX_CLASSES} classes: "
                        "if it is a quantity use --task regression, else group it into fewer classes")
    if task == "binary" and len(values) != 2:
        raise InitError(f"--task binary needs a label with two values; {column!r} has {len(values)}: "
                        "use --task multiclass")
    shown = ", ".join(values[:10]) + (", ..." if len(values) > 10 else "")
    rows_of = collections.Counter()
    for cell, n in cells.items():
        rows_of[str(int(float(cell))) if numbers else cell] += n
    rare = [f"{v} ({rows_of[v]})" for v in values if rows_of[v] < FEW_CLASS_ROWS]
    if rare:
        hint += (f"; {len(rare)} class(es) with fewer than {FEW_CLASS_ROWS} rows, too few to learn or "
                 f"to measure: {', '.join(rare[:5])}{', ...' if len(rare) > 5 else ''}; merge them or "
                 "gather more rows")
    return task, values, f"{column}: label, {task} with {len(values)} classes ({shown}{hint})"


def same_class_written_twice(column: str, classes: Sequence[str]) -> Optional[str]:
    """A line for init's checks when classes of the label differ only in case or surrounding spaces
    (`Yes`, `yes`): most often one class written two ways, which the model would learn apart."""
    groups: dict = {}
    for name in classes:
        groups.setdefault(name.strip().casefold(), []).append(name)
    twice = [names for names in groups.values() if len(names) > 1]
    if not twice:
        return None
    told = ", ".join(" and ".join(map(repr, names)) for names in twice)
    return (f"label {column!r}: classes {told} differ only in case or spaces: one class written two ways? The "
            f"model learns them as different classes. Write each one way, e.g. with pandas: "
            f"`df[{column!r}] = df[{column!r}].str.strip().str.lower()`, then init again")
