"""A numeric label that is a sum or a difference of features (schema/label_copies.linear_combination),
on real public data: vega_datasets' US employment counts add up exactly, the other datasets' labels
are measured, not added up. (The single-column copies are tested with `init` in test_infer_labels.py.)"""
import os

import pandas as pd
import pytest
import vega_datasets

from benchmarks import public_datasets
from schema import infer, label_copies
from tests.conftest import TAXI_CSV


def _us_employment() -> pd.DataFrame:
    """Monthly US jobs (thousands), 2006-2015: nonfarm = private + government, and each subtotal is
    the sum of its parts (goods_producing = mining_and_logging + construction + manufacturing)."""
    return pd.read_csv(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "us-employment.csv"), dtype=str)


def _numbers(frame: pd.DataFrame, label: str):
    return [c for c in frame.columns if c != label and pd.to_numeric(frame[c], errors="coerce").notna().all()]


@pytest.mark.parametrize("label, parts", [
    ("nonfarm", ["private", "government"]),  # a total that includes the label's parts
    ("private", ["nonfarm", "government"]),  # a difference that leaves the label (total minus the rest)
    ("goods_producing", ["manufacturing", "construction", "mining_and_logging"]),
])
def test_a_label_that_is_a_sum_or_difference_of_features_is_named_with_its_fewest_parts(label, parts):
    frame = _us_employment()
    found = label_copies.linear_combination(frame, label, _numbers(frame, label))
    assert found is not None and found[0] == parts and found[1] >= label_copies.EXACT_R2


def _public(name: str, tmp_path) -> pd.DataFrame:
    dataset = {d.name: d for d in (*public_datasets.ALL, *public_datasets.TIMESTAMPED)}[name]
    path = str(tmp_path / f"{name}.csv")
    dataset.write_csv(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=["", "NA"])


@pytest.mark.parametrize("name, label", [
    ("diabetes", "target"), ("diabetes", "s1"), ("breast_cancer", "mean area"), ("breast_cancer", "worst perimeter"),
    ("penguins", "body_mass_g"), ("seattle_weather", "temp_max"), ("stocks", "price"),
])
def test_a_measured_label_is_no_combination_of_the_other_columns(name, label, tmp_path):
    frame = _public(name, tmp_path)
    assert label_copies.linear_combination(frame, label, _numbers(frame, label)) is None


@pytest.mark.parametrize("label", ["fare", "tips", "trip_seconds"])
def test_the_taxi_trips_amounts_are_no_combination_of_the_other_columns(label):
    frame = pd.read_csv(TAXI_CSV, dtype=str)
    assert label_copies.linear_combination(frame, label, _numbers(frame, label)) is None


def test_the_label_in_another_unit_is_a_copy_not_a_combination(tmp_path):
    """One column alone that is the label rescaled is named by label_copies, once."""
    frame = _public("diabetes", tmp_path)
    frame["target_scaled"] = pd.to_numeric(frame["target"]) * 1.609
    assert label_copies.linear_combination(frame, "target", _numbers(frame, "target")) is None


def test_init_names_the_columns_a_label_adds_up_to(tmp_path):
    path = str(tmp_path / "us_employment.csv")
    _us_employment().to_csv(path, index=False)
    checks = infer.infer(path, "nonfarm").checks
    assert any(check.startswith("'nonfarm' is a linear combination of 'private', 'government' (R² 1.0000")
               for check in checks), checks


def test_a_label_missing_in_some_rows_is_checked_on_the_rows_that_have_it():
    """A tenth of the months without their total: the rows that have it still add up."""
    frame = _us_employment()
    frame.loc[frame.index % 10 == 3, "nonfarm"] = None
    found = label_copies.linear_combination(frame, "nonfarm", _numbers(frame, "nonfarm"))
    assert found is not None and found[0] == ["private", "government"]


@pytest.mark.parametrize("unit", [1e-200, 1e200, 1e300])
def test_counts_in_any_unit_add_up_alike(unit):
    """The job counts in units so small or so large that their squares underflow or overflow a float."""
    frame = _us_employment()
    columns = ["nonfarm", "private", "government", "construction", "information"]
    scaled = frame[columns].astype(float) * unit
    assert label_copies.linear_combination(scaled, "nonfarm", columns[1:])[0] == ["private", "government"]
