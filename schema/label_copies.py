"""Features that nearly copy the label, which `tfxpipe init` names for a person to check.

A column recorded with or after the outcome (the answer under another name or unit, a total that
includes it, the column a label was derived from) gives a model that scores near perfectly in
evaluation and fails where it serves, where that column is not yet known; only a person can tell
whether it is. TFDV measures no column's power to predict another (its lift statistics cover pairs of
categorical columns only), so each drafted feature is scored alone with scikit-learn on a sample of
rows: a shallow tree for numbers, the class or mean of each value for categories, both judged on rows
they were not fitted on, with a missing value one more value for classes (a date of death is filled
in for the dead only), and for a numeric label the rank correlation (a copy in another unit or on a
log scale is monotone). A numeric label may also add up from several features (a total of its parts,
total minus fare for the tip): least squares on their numbers, which scikit-learn's models would fit
no better, names its fewest parts (`linear_combination`).
"""
import dataclasses
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
from scipy import stats
from sklearn import metrics, model_selection, tree

from models import dataset as ds
from schema import csv_files, data_folder

# Rows read, at random over the whole file (a file sorted by its label starts with one class): enough
# to tell a copy, seconds on a file of millions; fewer for a wide file, so memory stays bounded
SAMPLE_ROWS, SAMPLE_CELLS = 50_000, 2_000_000
HELD_OUT, SEED = 0.3, 0
MIN_ROWS = 50  # rows compared: fewer tell no copy (any 3 rows rank-correlate perfectly)
TREE_DEPTH = 4  # at most 16 intervals of a number: a rule, not a lookup of its values
# A copy predicts at least this share of the held-out classes right, with at most this share of
# the errors that always answering the most common class makes (so 99.5 % of one class is no copy;
# the recorded week of an arrest, 52 for none, copies the arrest but for 4 rows in 432)
COPY_ACCURACY, COPY_ERROR_SHARE = 0.97, 0.15
COPY_RANK_CORRELATION, COPY_R2 = 0.99, 0.98  # numeric label: a number's |Spearman|, a category's R²
# A number in the label's own order throughout (its logarithm, another unit) is the label: `init`
# excludes it rather than ask, since no request can carry it that would not make the model needless
EXACT_RANK_CORRELATION = 0.9995
# A numeric label this close to a weighted sum of at most COMBINED numeric features (of those present
# in PRESENT_SHARE of rows) is a total or a difference of them: no measurement is that exact.
EXACT_R2, COMBINED, PRESENT_SHARE = 0.9999, 4, 0.95
NUMBER_KINDS = ("numeric",)  # integer codes are categories: their order means nothing
MISSING = "(missing)"


@dataclasses.dataclass(frozen=True)
class Copy:
    column: str
    score: str  # how well it predicts the label alone, e.g. "accuracy 1.00 on held-out rows"
    exact: bool = False  # the label in another unit or scale: excluded, not only named


def exclusion_reason(copy: Copy) -> str:
    """Why `init` excludes an exact copy of the label."""
    return (f"the label in another unit or scale ({copy.score}): known only with it; move it back to "
            "`features` if requests carry it")


def check_line(copies: Sequence[Copy]) -> str:
    """What a person must check about `copies` and what to do: one line."""
    named = " and ".join(f"{c.column!r} ({c.score})" for c in copies)
    return (f"{named} {'each predict' if len(copies) > 1 else 'predicts'} the label nearly perfectly on "
            "its own. Where a feature's value is known only with or after the label (the answer under "
            "another name or unit, a total that includes it, a column filled in only once the outcome is "
            "known, the column the label was derived from), move "
            f"it from `features` to `excluded` in {ds.DECLARATION_FILE}: a model would score well in "
            "evaluation and fail where it serves")


def combination_line(label: str, columns: Sequence[str], r2: float) -> str:
    """What a person must check when the label is a sum or difference of `columns`: one line."""
    return (f"'{label}' is a linear combination of {', '.join(map(repr, columns))} (R² {r2:.4f} on held-out "
            "rows): a total that includes the label or a difference that leaves it (total minus fare for "
            "the tip) is known only with the label. Unless requests carry all of them, move at least one "
            f"from `features` to `excluded` in {ds.DECLARATION_FILE}")


def linear_combination(frame: pd.DataFrame, label: str, numbers: Sequence[str]) -> Optional[Tuple[List[str], float]]:
    """The fewest (up to COMBINED) of the `numbers` columns of `frame` whose weighted sum is the numeric
    `label` (held-out R² of a least-squares fit at least EXACT_R2), and that R²; None when none is.
    A column alone is a copy (`label_copies`); picked greedily, each step the column that leaves the
    least residual, as a sum's parts can be written several ways (a total of its subtotals)."""
    values = frame[[label, *numbers]].apply(pd.to_numeric, errors="coerce")
    values = values[np.isfinite(values[label])]
    kept = [c for c in numbers if values[c].notna().mean() >= PRESENT_SHARE]
    values = values[[label, *kept]].dropna()
    values = values[np.isfinite(values).all(axis=1)]
    values = values / values.abs().max().replace(0, 1)  # within ±1 first: std() squares the values
    spread = values.std()
    candidates = [c for c in kept if spread[c] > 0]
    if len(values) < MIN_ROWS or len(candidates) < 2 or not spread[label] > 0:
        return None
    # standardized, so that sums of squares neither overflow nor vanish, whatever the units
    values = (values[[label, *candidates]] - values.mean()) / spread
    fit, test = model_selection.train_test_split(values, test_size=HELD_OUT, random_state=SEED)

    def residual(columns: List[str], rows: pd.DataFrame, fitted: pd.DataFrame) -> np.ndarray:
        weights = np.linalg.lstsq(np.c_[np.ones(len(fitted)), fitted[columns]], fitted[label], rcond=None)[0]
        return rows[label].to_numpy() - np.c_[np.ones(len(rows)), rows[columns]] @ weights

    spread_held_out = np.sum((test[label] - test[label].mean()) ** 2)
    chosen: List[str] = []
    for _ in range(min(COMBINED, len(candidates))):
        chosen.append(min((c for c in candidates if c not in chosen),
                          key=lambda c: float(np.sum(residual([*chosen, c], fit, fit) ** 2))))
        r2 = 1 - np.sum(residual(chosen, test, fit) ** 2) / spread_held_out if spread_held_out > 0 else 0.0
        if r2 >= EXACT_R2:  # one column alone: a copy in another unit, which `label_copies` names
            return (chosen, float(r2)) if len(chosen) > 1 else None
    return None


def sample(path: str, columns: Sequence[str], missing_values: Sequence[str], rows: int) -> pd.DataFrame:
    """About SAMPLE_ROWS (fewer for many columns) of the `rows` rows of `columns` in the file or
    folder `path`, drawn at random, as text (NaN: missing)."""
    files = data_folder.data_files(path) if os.path.isdir(path) else [path]
    share = min(SAMPLE_ROWS, SAMPLE_CELLS // max(len(columns), 1)) / max(rows, 1)
    draw = np.random.RandomState(SEED)
    frames = [pd.read_csv(file, usecols=list(columns), dtype=str, keep_default_na=False,
                          na_values=list(missing_values), encoding=csv_files.ENCODING,
                          skiprows=lambda i: i > 0 and draw.random_sample() >= share)
              for file in files]
    return pd.concat(frames, ignore_index=True)


def _by_value(x_fit: pd.Series, y_fit: pd.Series, x_test: pd.Series, classify: bool) -> np.ndarray:
    """Each held-out value's most common class (or mean) among the fitted rows with that value; the
    overall one for a value they do not have."""
    frame = pd.DataFrame({"x": x_fit.values, "y": y_fit.values})
    if classify:
        counts = frame.groupby(["x", "y"]).size()
        table = counts.groupby(level="x").idxmax().map(lambda pair: pair[1])
        overall = y_fit.mode().iloc[0]
    else:
        table, overall = frame.groupby("x")["y"].mean(), y_fit.mean()
    return x_test.map(table).fillna(overall).to_numpy()


def _copy_score(x: pd.Series, y: pd.Series, kind: str, classify: bool) -> Optional[Copy]:
    """How well `x` alone predicts `y` when it nearly copies it (a Copy without its column), else
    None. For classes a missing value is one more value (a column filled in only for one class
    copies it as well)."""
    if kind in NUMBER_KINDS:
        x = pd.to_numeric(x, errors="coerce")
    if not classify:
        x, y = x[x.notna()], y[x.notna()]
    elif kind in NUMBER_KINDS:  # below every value, where a tree's split can set it apart
        x = x.fillna(x.min() - 1 - (x.max() - x.min()) if x.notna().any() else 0.0)
    else:
        x = x.fillna(MISSING)
    if len(x) < MIN_ROWS or x.nunique() < 2:
        return None
    if kind in NUMBER_KINDS and not classify:
        rho = stats.spearmanr(x, y).statistic
        return Copy("", f"rank correlation {rho:+.3f}", abs(rho) >= EXACT_RANK_CORRELATION) \
            if abs(rho) >= COPY_RANK_CORRELATION else None
    x_fit, x_test, y_fit, y_test = model_selection.train_test_split(x, y, test_size=HELD_OUT, random_state=SEED)
    if kind in NUMBER_KINDS:
        model = tree.DecisionTreeClassifier(max_depth=TREE_DEPTH, random_state=SEED)
        predicted = model.fit(x_fit.to_frame(), y_fit).predict(x_test.to_frame())
    else:
        predicted = _by_value(x_fit, y_fit, x_test, classify)
    if not classify:
        r2 = metrics.r2_score(y_test, predicted)
        return Copy("", f"R² {r2:.3f} on held-out rows") if r2 >= COPY_R2 else None
    accuracy = metrics.accuracy_score(y_test, predicted)
    majority = y_test.value_counts(normalize=True).iloc[0]
    if majority == 1.0:
        return None
    if accuracy >= COPY_ACCURACY and 1 - accuracy <= COPY_ERROR_SHARE * (1 - majority):
        return Copy("", f"accuracy {accuracy:.3f} on held-out rows, {majority:.3f} for the most common class")
    return None


def label_copies(path: str, label: str, task: str, features: Dict[str, dict],
                 missing_values: Sequence[str], rows: int, frame: Optional[pd.DataFrame] = None) -> List[Copy]:
    """The drafted `features` (name -> spec) of the CSV file or folder `path` (`rows` rows) that
    alone predict `label` nearly perfectly on a sample of its rows (`frame`: that sample, if drawn)."""
    frame = sample(path, [label, *features], missing_values, rows) if frame is None else frame
    classify = task != "regression"
    y = frame[label] if classify else pd.to_numeric(frame[label], errors="coerce")
    if y.nunique() < 2:  # nothing to tell apart: every feature would "predict" the one class
        return []
    found = []
    for column, spec in features.items():
        copy = _copy_score(frame[column][y.notna()], y[y.notna()], spec["kind"], classify)
        if copy:
            found.append(dataclasses.replace(copy, column=column))
    return found
