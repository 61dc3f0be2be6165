"""Data bugs the gate must catch, made from a real dataset: a span is one random half of the data,
the previous span the other half, and each case breaks one column of the new span the way
production data breaks (a unit change, a shift, values gone missing, a category mix changed, the
label's classes or units changed).

Shared by the detection-matrix tests (tests/e2e/test_drift_matrix.py) and the benchmark
(benchmarks/drift_matrix.py). Cells are kept as the CSV's own strings; only the broken column is
rewritten.
"""
import dataclasses
import os
from typing import Callable, List, Optional, Tuple

import numpy as np
import pandas as pd

from models import dataset as ds
from schema.columns import EPOCH, MISSING_TOKENS


@dataclasses.dataclass(frozen=True)
class DriftCase:
    name: str
    about: str
    column: Callable[[ds.Dataset, pd.DataFrame], Optional[str]]  # the column it breaks, None: n/a
    breaks: Callable[[pd.Series, np.random.Generator], pd.Series]


def read(path: str) -> pd.DataFrame:
    """The CSV's cells as strings, exactly as written."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def halves(frame: pd.DataFrame, seed: int) -> Tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    middle = len(frame) // 2
    return frame.iloc[order[:middle]], frame.iloc[order[middle:]]


def _numbers(cells: pd.Series) -> pd.Series:
    return pd.to_numeric(cells, errors="coerce")


def _rewrite(cells: pd.Series, values: pd.Series) -> pd.Series:
    """`values` where the cell held a number, in the column's style (integers stay integers)."""
    integers = cells[_numbers(cells).notna()].str.fullmatch(r"-?\d+").all()
    shown = values.round().astype("Int64").astype(str) if integers else values.map(_decimal)
    return cells.where(_numbers(cells).isna(), shown)


def _decimal(value: float) -> str:
    """A float as a CSV writer of decimals writes it: always with a decimal point."""
    text = f"{value:.6g}"
    return text if any(c in text for c in ".en") else f"{text}.0"


def _numeric_feature(declaration: ds.Dataset, frame: pd.DataFrame) -> Optional[str]:
    """The first numeric feature whose values are fractional: a measurement, not a count."""
    for feature in declaration.features:
        values = _numbers(frame[feature.name]).dropna()
        if feature.kind == ds.Kind.NUMERIC and len(values) and (values % 1 != 0).any():
            return feature.name
    return None


MEASUREMENT_MIN_VALUES = 20  # fewer distinct values: a count, code or year, not a measured quantity


def _most_tied_numeric_feature(declaration: ds.Dataset, frame: pd.DataFrame) -> Optional[str]:
    """The measurement (a numeric feature of over MEASUREMENT_MIN_VALUES values) whose most common
    value holds the largest share of its values (taxi's trip_miles: 27 % are 0): where quantile
    histograms are noisiest between samples."""
    shares = {f.name: values.value_counts(normalize=True).iloc[0] for f in declaration.features
              if f.kind == ds.Kind.NUMERIC
              and (values := _numbers(frame[f.name]).dropna()).nunique() > MEASUREMENT_MIN_VALUES}
    return max(shares, key=shares.get) if shares else None


ZERO_HEAVY_SHARE = 0.25  # zeros in at least this share of a measurement's values: most of a JSD is theirs


def _zero_heavy_numeric_feature(declaration: ds.Dataset, frame: pd.DataFrame) -> Optional[str]:
    """The measurement (a numeric feature of over MEASUREMENT_MIN_VALUES values) with the largest
    share of zeros, at least ZERO_HEAVY_SHARE (daily rain: 59 %; taxi's trip_miles: 27 %)."""
    shares = {f.name: (values == 0).mean() for f in declaration.features
              if f.kind == ds.Kind.NUMERIC
              and (values := _numbers(frame[f.name]).dropna()).nunique() > MEASUREMENT_MIN_VALUES}
    heavy = {name: share for name, share in shares.items() if share >= ZERO_HEAVY_SHARE}
    return max(heavy, key=heavy.get) if heavy else None


def _optional_or_numeric(declaration: ds.Dataset, frame: pd.DataFrame) -> Optional[str]:
    """A feature that already has gaps (its presence minimum is calibrated), else the numeric one."""
    for feature in declaration.features:
        if frame[feature.name].isin(declaration.missing_values).any():
            return feature.name
    return _numeric_feature(declaration, frame)


def _categorical_feature(declaration: ds.Dataset, frame: pd.DataFrame) -> Optional[str]:
    kinds = (ds.Kind.CATEGORICAL_STRING, ds.Kind.CATEGORICAL_INT)
    return next((f.name for kind in kinds for f in declaration.features if f.kind == kind), None)


def _class_label(declaration: ds.Dataset, frame: pd.DataFrame) -> Optional[str]:
    """The label column of a classification dataset whose classes are in the data (not derived)."""
    return declaration.label.column if declaration.label.classes_in_column else None


def _numeric_target(declaration: ds.Dataset, frame: pd.DataFrame) -> Optional[str]:
    """The column a regression target or a derived label (taxi's `tips`) is read from."""
    label = declaration.label
    return label.label_only_column if label.task is ds.Task.REGRESSION or label.derived else None


def _timestamp_column(declaration: ds.Dataset, frame: pd.DataFrame) -> Optional[str]:
    """An integer column of seconds since 1970 (a time from 2000 to 2100), feature or not."""
    for column in frame.columns:
        values = _numbers(frame[column]).dropna()
        low, high = EPOCH
        if len(values) and (values % 1 == 0).all() and values.between(low, high).all():
            return column
    return None


def _scaled(factor: float):
    return lambda cells, rng: _rewrite(cells, _numbers(cells) * factor)


def _shifted(cells: pd.Series, rng: np.random.Generator) -> pd.Series:
    values = _numbers(cells)
    return _rewrite(cells, values + 2 * values.std())


def _missing(cells: pd.Series, rng: np.random.Generator) -> pd.Series:
    present = np.flatnonzero((cells.ne("") & ~cells.isin(MISSING_TOKENS)).to_numpy())
    gone = rng.choice(present, int(0.3 * len(present)), replace=False)
    broken = cells.copy()
    broken.iloc[gone] = ""
    return broken


def _mix_changed(cells: pd.Series, rng: np.random.Generator) -> pd.Series:
    """The most common value's rows now carry the second most common one: a category collapsed
    into another upstream (a remapped code, a broken join)."""
    top, second = cells[cells != ""].value_counts().index[:2]
    return cells.where(cells != top, second)


CASES: Tuple[DriftCase, ...] = (
    DriftCase("times_10", "a numeric column x10 (dollars read as dimes)", _numeric_feature, _scaled(10)),
    DriftCase("times_0.1", "a numeric column x0.1", _numeric_feature, _scaled(0.1)),
    DriftCase("milliseconds", "timestamps in milliseconds instead of seconds", _timestamp_column,
              _scaled(1000)),
    DriftCase("miles_as_km", "the most tied numeric column x1.609 (miles recorded as kilometres)",
              _most_tied_numeric_feature, _scaled(1.609)),
    DriftCase("mm_as_inches", "the numeric column with the most zeros /25.4 (millimetres recorded as inches)",
              _zero_heavy_numeric_feature, _scaled(1 / 25.4)),
    DriftCase("mean_shift", "a numeric column's mean moved by 2 standard deviations", _numeric_feature,
              _shifted),
    DriftCase("missing_30pct", "30 % of a column's values newly missing", _optional_or_numeric, _missing),
    DriftCase("category_mix", "the most common category collapsed into the second most common",
              _categorical_feature, _mix_changed),
    DriftCase("class_mix", "the label's most common class relabelled as the second (a remapped label)",
              _class_label, _mix_changed),
    DriftCase("target_times_0.1", "the label's numbers x0.1 (the target recorded in another unit)",
              _numeric_target, _scaled(0.1)),
)


def broken_span(case: DriftCase, declaration: ds.Dataset, span: pd.DataFrame, seed: int = 0
                ) -> Tuple[Optional[str], pd.DataFrame]:
    """(the broken column, the span with it broken), or (None, span) when the case does not apply."""
    column = case.column(declaration, span)
    if column is None:
        return None, span
    broken = span.copy()
    broken[column] = case.breaks(span[column], np.random.default_rng(seed))
    return column, broken


def write_spans(folder: str, spans: List[pd.DataFrame]) -> str:
    """`folder/span-1/data.csv`, `span-2/...`: the data root of a run or of `validate`."""
    for number, span in enumerate(spans, start=1):
        os.makedirs(os.path.join(folder, f"span-{number}"), exist_ok=True)
        span.to_csv(os.path.join(folder, f"span-{number}", "data.csv"), index=False)
    return folder
