"""Dates the model reads only in part (schema/date_cells.py), on San Francisco's hourly temperatures
(vega_datasets, dates written `2010/01/01 00:00:00`): an export that drops the time of day is
refused where the hour is a part, a few dates without one are not, and `score` and `predict` say
how many they sent."""
import collections
import os

import pandas as pd
import pytest
from tensorflow_metadata.proto.v0 import statistics_pb2

from benchmarks import public_datasets
from schema import calendar_hint, cell_counts, cell_lines, checks, date_cells, infer, report


@pytest.fixture(scope="module")
def temperatures(tmp_path_factory) -> pd.DataFrame:
    folder = public_datasets.SF_TEMPS.write_folder(str(tmp_path_factory.mktemp("sf")))
    return pd.read_csv(os.path.join(folder, "sf_temps.csv"), dtype=str)


def _day_only(frame: pd.DataFrame, share: float) -> pd.DataFrame:
    """`frame` with the first `share` of its rows' dates cut to the day (`2010/01/01`)."""
    cut = frame.copy()
    rows = int(len(cut) * share)
    cut.loc[: rows - 1, "date"] = cut.loc[: rows - 1, "date"].str.slice(0, 10)
    return cut


def _undated(frame: pd.DataFrame, path, timed=("date",)):
    frame.to_csv(path, index=False)
    return cell_lines.undated_cells(str(path), ["date"], ("",), timed)


def test_dates_that_lost_their_time_are_refused_where_the_hour_is_a_part(temperatures, tmp_path):
    [finding] = _undated(_day_only(temperatures, 1.0), tmp_path / "days.csv")
    assert (finding.feature, finding.problem) == ("date", checks.NO_TIME)
    assert finding.detail.startswith(f"{len(temperatures):,} of {len(temperatures):,} dates carry no time of day")
    assert "take `hour` out of the feature's parts in dataset.yaml" in finding.detail
    assert (finding.expected, finding.actual) == ("a time of day in at least 90% of the dates", "0% with a time")
    assert finding.examples[0] == "line 2: '2010/01/01'"
    assert report.next_steps([finding]) == report.DATE_NEXT_STEPS
    assert not _undated(_day_only(temperatures, 1.0), tmp_path / "days.csv", timed=())  # no hour part: fine


def test_a_few_dates_without_a_time_pass_and_more_than_a_tenth_do_not(temperatures, tmp_path):
    assert not _undated(temperatures, tmp_path / "as_written.csv")
    assert not _undated(_day_only(temperatures, 0.09), tmp_path / "few.csv")
    [finding] = _undated(_day_only(temperatures, 0.2), tmp_path / "many.csv")
    assert finding.actual == "80% with a time"


def test_a_cell_that_is_no_date_and_one_without_a_time_are_told_apart(temperatures, tmp_path):
    frame = _day_only(temperatures, 0.5)
    frame.loc[len(frame) - 1, "date"] = "12/31/2010 23:00"
    found = {f.problem: f for f in _undated(frame, tmp_path / "both.csv")}
    assert set(found) == {checks.NOT_A_DATE, checks.NO_TIME}
    assert found[checks.NOT_A_DATE].examples == (f"line {len(frame) + 1}: '12/31/2010 23:00'",)
    assert found[checks.NO_TIME].detail.startswith(f"{len(frame) // 2:,} of {len(frame) - 1:,} dates")


def _stat() -> statistics_pb2.FeatureNameStatistics:
    return statistics_pb2.FeatureNameStatistics(type=statistics_pb2.FeatureNameStatistics.STRING)


def test_init_declares_the_hour_only_where_nearly_every_date_carries_one(temperatures):
    spec, decision = calendar_hint.date_feature("date", _stat(), collections.Counter(temperatures["date"]), {})
    assert spec["parts"] == ["hour", "weekday", "month"] and "no hour" not in decision
    cut = collections.Counter(_day_only(temperatures, 0.3)["date"])
    spec, decision = calendar_hint.date_feature("date", _stat(), cut, {})
    assert spec["parts"] == ["weekday", "month"]
    assert decision.endswith("no hour: 70% of its dates carry a time of day, fewer than the 95% the hour part needs)")


@pytest.mark.usefixtures("few_calibration_draws")
def test_init_measures_times_over_the_whole_file_where_it_counted_only_the_first_dates(
        temperatures, tmp_path, monkeypatch):
    """init counts a column's first distinct values only (cell_counts.COUNTED, 20,000): a file whose
    later dates lost their time still gets no hour part, which its first run's gate would refuse."""
    monkeypatch.setattr(cell_counts, "COUNTED", 2000)
    late = temperatures.copy()
    cut = late.index >= int(len(late) * 0.7)  # the last 30 % cut to the day
    late.loc[cut, "date"] = late.loc[cut, "date"].str.slice(0, 10)
    path = str(tmp_path / "sf.csv")
    late.to_csv(path, index=False)
    draft = infer.infer(path, "temp")
    assert draft.declaration["features"]["date"]["parts"] == ["weekday", "month"]
    timed = date_cells.share_text(int(len(late) * 0.7) / len(late))  # 69.9%: rounded down
    assert f"no hour: {timed} of its dates carry a time of day" in next(d for d in draft.decisions if d.startswith("date:"))
    assert not cell_lines.undated_cells(path, ["date"], ("",), ())  # what the first run's gate then checks


def test_score_and_predict_count_dates_read_in_part_over_every_worker(temperatures):
    """Two workers' counts, summed as Beam sums counters, say what one pass over the rows says."""
    rows = _day_only(temperatures, 0.5).to_dict("records")
    rows[-1]["date"] = "31.12.2010 23:00"
    timed = {"date": True}
    whole, first, second = date_cells.DateCells(), date_cells.DateCells(), date_cells.DateCells()
    for index, row in enumerate(rows):
        whole.check(row, timed, ("",))
        (first if index % 2 else second).check(row, timed, ("",))
    summed = collections.Counter(first.as_counters()) + collections.Counter(second.as_counters())
    counted = date_cells.DateCells.from_counters(summed)
    assert counted.present.counts == whole.present.counts == {"date": len(rows)}
    assert {found: t.counts for found, t in counted.read.items()} == {found: t.counts for found, t in whole.read.items()}
    assert counted.read[date_cells.NO_TIME].counts == {"date": len(rows) // 2}
    assert counted.read[date_cells.NO_DATE].counts == {"date": 1}
    said = counted.warning(len(rows), "sf.csv", has_label=True)
    assert said.startswith(f"warning: dates the model reads only in part, among {len(rows):,} rows: date: 1 "
                           "cell(s) are no date it reads ('31.12.2010 23:00')")
    assert f"date: {len(rows) // 2:,} of {len(rows) - 1:,} dates carry no time of day ('2010/01/01'" in said
    assert said.endswith("`tfxpipe validate sf.csv` checks the file against the schema.")
    assert date_cells.DateCells().warning(10, "sf.csv", has_label=True) is None
    untimed_few = date_cells.DateCells()
    for row in _day_only(temperatures, 0.05).to_dict("records"):
        untimed_few.check(row, timed, ("",))
    assert untimed_few.warning(len(temperatures), "sf.csv", has_label=True) is None
