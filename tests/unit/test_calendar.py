"""A date feature's calendar parts (models/calendar.py), computed in the graph from dates as real
files write them, equal pandas'; the gate's Python test of a cell agrees with what the graph reads;
the declaration and the schema say what is wrong with a date declared amiss."""
import collections
import os

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import vega_datasets
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from benchmarks import public_datasets
from models import calendar
from models.dataset import DeclarationError, Feature, parse
from schema import calendar_hint, cell_lines, checks, declaration_fit

SHIPPED = os.path.join(os.path.dirname(vega_datasets.__file__), "_data")
EVERY_PART = ("hour", "weekday", "month")
# Cells the graph must not read as a date: no such day or time, another order, a date in words
NO_DATES = ["2021-02-30", "2021-13-01", "2021-00-10", "2021-01-01 24:00", "2021-01-01 10:60", "31.01.2021",
            "01/31/2021", "Jan 31 2021", "2021", "2021-01", "20210131", "2021-01-31 8", "today",
            "0000-01-01", "2021-01-31\xa0"]  # no year 0; a space TensorFlow does not strip (str.strip does)


def _ids(values, unit: str = "") -> dict:
    tensor = tf.constant(values)
    found = calendar.part_ids(tensor, tf.ones_like(tensor, tf.bool), unit, EVERY_PART)
    return {part: ids.numpy().ravel() for part, ids in found.items()}


def _pandas_ids(times: pd.Series) -> dict:
    return {"hour": times.dt.hour.to_numpy(), "weekday": times.dt.weekday.to_numpy(),
            "month": times.dt.month.to_numpy() - 1}


def test_hourly_dates_as_written_and_as_seconds_or_milliseconds_give_pandas_parts():
    """vega_datasets' hourly Seattle temperatures of 2010 (2010/01/01 00:00, 8,759 hours), as
    written, in ISO form with a T and seconds, and as seconds and milliseconds since 1970."""
    written = pd.read_csv(os.path.join(SHIPPED, "seattle-temps.csv"))["date"]
    times = pd.to_datetime(written)
    expected = _pandas_ids(times)
    seconds = times.astype("int64").to_numpy() // 10**9
    for case, found in (("written", _ids(written.tolist())),
                        ("iso", _ids(times.dt.strftime("%Y-%m-%dT%H:%M:%S").tolist())),
                        ("seconds", _ids(seconds, "seconds")), ("milliseconds", _ids(seconds * 1000, "milliseconds"))):
        for part in EVERY_PART:
            np.testing.assert_array_equal(found[part], expected[part], err_msg=f"{case} {part}")


def test_written_offsets_keep_the_hour_as_written():
    """The same hours with the summer-time offsets of Seattle (-08:00, -07:00) and in UTC (Z): the
    hour is the one written, the local hour daily cycles follow."""
    times = pd.to_datetime(pd.read_csv(os.path.join(SHIPPED, "seattle-temps.csv"))["date"]).iloc[::5]
    local = times.dt.tz_localize("America/Los_Angeles", ambiguous=False, nonexistent="shift_forward")
    offsets = local.map(lambda t: t.isoformat()).tolist()
    assert {o[-6:] for o in offsets} == {"-08:00", "-07:00"}
    found = _ids(offsets)
    expected = _pandas_ids(local)
    for part in EVERY_PART:
        np.testing.assert_array_equal(found[part], expected[part], err_msg=part)
    np.testing.assert_array_equal(_ids([t.strftime("%Y-%m-%dT%H:%MZ") for t in times])["hour"], times.dt.hour)


@pytest.fixture(scope="module")
def egg_dates(tmp_path_factory) -> pd.Series:
    folder = public_datasets.PENGUINS_RAW.write_folder(str(tmp_path_factory.mktemp("raw")))
    return pd.read_csv(os.path.join(folder, "penguins_raw.csv"))["Date Egg"]


def test_egg_dates_without_a_time_have_a_missing_hour_and_pandas_weekday_and_month(egg_dates):
    """palmerpenguins' raw egg dates (2007-11-11): no time, so the hour is the missing id."""
    found = _ids(egg_dates.tolist())
    expected = _pandas_ids(pd.to_datetime(egg_dates))
    np.testing.assert_array_equal(found["weekday"], expected["weekday"])
    np.testing.assert_array_equal(found["month"], expected["month"])
    assert set(found["hour"]) == {calendar.PARTS["hour"]}
    assert len(set(found["weekday"])) == 7


def test_the_gates_test_of_a_cell_agrees_with_what_the_graph_reads(egg_dates):
    """Real cells and cells that are no date: the graph reads every part as missing exactly where
    `is_date` (the gate's test) says no; absent values are missing too."""
    cells = egg_dates.tolist()[:50] + NO_DATES + ["2020-02-29", "2021-1-5T7:05:00.5+01:00", " 2021-01-31 "]
    found = _ids(cells)
    unread = (found["weekday"] == calendar.PARTS["weekday"]) & (found["month"] == calendar.PARTS["month"])
    assert [cell for cell, no in zip(cells, unread) if no] == NO_DATES
    assert [calendar.is_date(cell) for cell in cells] == [not no for no in unread]
    tensor = tf.constant(cells[:3])
    absent = calendar.part_ids(tensor, tf.zeros_like(tensor, tf.bool), "", EVERY_PART)
    assert all((ids.numpy() == calendar.PARTS[part]).all() for part, ids in absent.items())


def test_the_gate_names_the_lines_of_cells_that_are_no_date(egg_dates, tmp_path):
    frame = pd.DataFrame({"Date Egg": egg_dates})
    frame.loc[[4, 9], "Date Egg"] = ["11.11.2007", "2007-11-31"]
    frame.loc[12, "Date Egg"] = None  # empty: missing, no problem
    frame.to_csv(tmp_path / "eggs.csv", index=False)
    [finding] = cell_lines.undated_cells(str(tmp_path / "eggs.csv"), ["Date Egg"])
    assert (finding.feature, finding.problem) == ("Date Egg", checks.NOT_A_DATE)
    assert finding.examples == ("line 6: '11.11.2007'", "line 11: '2007-11-31'")
    assert finding.detail.startswith("2 cell(s) are no date the model reads")
    assert not cell_lines.undated_cells(str(tmp_path / "eggs.csv"), ["Date Egg"], ["", "11.11.2007", "2007-11-31"])


def _declared(**spec) -> Feature:
    declaration = parse({"name": "eggs", "task": "regression", "label": {"column": "mass"},
                         "features": {"laid": {"kind": "date", **spec}}})
    return declaration.features[0]


def test_a_date_declares_its_parts_and_each_part_is_a_model_input_of_its_own():
    laid = _declared(parts=["weekday", "month"])
    assert [(i.name, i.cardinality) for i in laid.model_inputs] == [("laid_weekday_xf", 8), ("laid_month_xf", 13)]
    for spec, named in (({}, "needs `parts`"), ({"parts": ["day"]}, "needs `parts`"),
                        ({"parts": ["hour", "hour"]}, "each once"),
                        ({"parts": ["hour"], "unit": "minutes"}, "unit 'minutes'")):
        with pytest.raises(DeclarationError, match=named):
            _declared(**spec)
    with pytest.raises(DeclarationError, match="`parts` and `unit` are a date's settings"):
        parse({"name": "eggs", "task": "regression", "label": {"column": "mass"},
               "features": {"laid": {"kind": "numeric", "unit": "seconds"}}})


def test_a_date_whose_unit_does_not_fit_the_schemas_type_is_named_before_a_run():
    schema = schema_pb2.Schema()
    schema.feature.add(name="laid", type=schema_pb2.BYTES)
    schema.feature.add(name="mass", type=schema_pb2.FLOAT)
    declaration = parse({"name": "eggs", "task": "regression", "label": {"column": "mass"},
                         "features": {"laid": {"kind": "date", "parts": ["month"], "unit": "seconds"}}})
    [problem] = declaration_fit.mismatches(declaration, schema)
    assert "feature 'laid' is declared date" in problem and "holds text (BYTES)" in problem
    assert "a date written as text has no `unit`" in problem


def test_init_drafts_egg_dates_with_a_no_end_date_among_them_and_leaves_a_parts_name_to_its_column(egg_dates):
    """`9999-12-31` (an open end, past what pandas holds) among the egg dates still drafts a date
    feature; a part whose model input would share another column's name (`Date_Egg month`) is not
    drafted."""
    stat = statistics_pb2.FeatureNameStatistics(type=statistics_pb2.FeatureNameStatistics.STRING)
    cells = collections.Counter(egg_dates.tolist() + ["9999-12-31"])
    spec, decision = calendar_hint.date_feature("Date Egg", stat, cells, {})
    assert spec == {"kind": "date", "parts": ["weekday", "month"]} and decision.startswith("date, parts weekday, month")
    spec, _ = calendar_hint.date_feature("Date Egg", stat, cells, {"Date_Egg month": collections.Counter({"11": 3})})
    assert spec == {"kind": "date", "parts": ["weekday"]}
