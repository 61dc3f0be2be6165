"""TFDV's statistics of a CSV read as the pipeline reads it (schema/csv_statistics.py): TFDV's own
statistics, without its pass that holds every row, and with quoted line breaks kept whole."""
import csv

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

from benchmarks import public_datasets
from schema import calibration, csv_statistics


def _tfdv_statistics(path: str, missing, tmp_path, options=None):
    """TFDV's own `generate_statistics_from_csv`, which infers the types in its decoding pass, of a
    copy of `path` with its `missing` cells made empty (TFDV reads only empty cells as missing)."""
    copy = str(tmp_path / "blanked.csv")
    with open(path, newline="", encoding="utf-8-sig") as source, open(copy, "w", newline="") as target:
        header, *rows = csv.reader(source)
        csv.writer(target).writerows([header, *([("" if c in missing else c) for c in r] for r in rows)])
    return tfdv.generate_statistics_from_csv(copy, stats_options=options or tfdv.StatsOptions(),
                                             output_path=str(tmp_path / "tfdv.tfrecord"))


@pytest.mark.parametrize("emptied", ["", "Comments", "Culmen Length (mm)"])
def test_statistics_with_the_types_inferred_in_a_pass_of_their_own_are_tfdvs(tmp_path, emptied):
    """`validate`, `calibrate`, `schema-diff` and `monitor` get TFDV's statistics, types inferred
    from the data, without TFDV's pass that holds every row: the same statistics, also for a column
    left with no value at all (a text and a number column emptied), and with the curated schema's
    options (integer codes)."""
    path = str(tmp_path / "penguins_raw.csv")
    public_datasets.PENGUINS_RAW.write_csv(path)
    if emptied:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame[emptied] = ""
        frame.to_csv(path, index=False)
    missing = ["", "NA"]
    assert csv_statistics.statistics_of_csv(path, missing) == _tfdv_statistics(path, missing, tmp_path)
    typed = tfdv.infer_schema(_tfdv_statistics(path, missing, tmp_path))
    codes = tfdv.StatsOptions(schema=calibration.mark_codes(typed, ["Sample Number"]))
    coded = csv_statistics.statistics_of_csv(path, missing, codes)
    assert coded == _tfdv_statistics(path, missing, tmp_path, codes)
    assert next(f for f in coded.datasets[0].features if f.path.step == ["Sample Number"]).string_stats.unique


def test_a_quoted_line_break_stays_inside_its_row(tmp_path):
    """A comment written over two lines (as a spreadsheet keeps it) is one row's cell, as in the
    pipeline's CsvExampleGen: the same rows, and every other column's statistics unchanged (TFDV's
    own reader cut such a row in two, and then failed)."""
    path = str(tmp_path / "penguins_raw.csv")
    public_datasets.PENGUINS_RAW.write_csv(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    commented = frame["Comments"] != ""
    split = frame.assign(Comments=frame["Comments"].where(~commented, frame["Comments"] + "\nchecked"))
    split.to_csv(tmp_path / "split.csv", index=False)
    missing = ["", "NA"]
    whole = csv_statistics.statistics_of_csv(path, missing).datasets[0]
    broken = csv_statistics.statistics_of_csv(str(tmp_path / "split.csv"), missing).datasets[0]
    assert commented.sum() > 10 and broken.num_examples == whole.num_examples == len(frame)
    by_name = lambda stats: {f.path.step[0]: f for f in stats.features}  # noqa: E731
    assert {n: f for n, f in by_name(broken).items() if n != "Comments"} == \
        {n: f for n, f in by_name(whole).items() if n != "Comments"}
    comments = by_name(broken)["Comments"].string_stats
    assert comments.unique == frame.loc[commented, "Comments"].nunique()
    assert comments.top_values and all(v.value.endswith("\nchecked") for v in comments.top_values)
