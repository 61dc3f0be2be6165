"""CSV records as the pipeline reads them (schema/csv_records.py): record-aligned ranges that keep
quoted line breaks whole, read by CsvExampleGen, `score` and the statistics of `validate`."""
import csv
import io
import os

import pytest

from schema import csv_records
from tests.bad_data import write_rows

# Quoted fields with commas, doubled quotes and line breaks, and empty cells: what must stay whole.
TRICKY_ROWS = [
    ["id", "note", "amount"],
    ["1", "plain", "1.5"],
    ["2", "comma, inside", ""],
    ["3", 'said "hi"\nthen left', "2"],
    ["4", "", "3.25"],
    ["5", "two\nline\nbreaks", "4"],
    ["6", "last", "5"],
]


def _records(path, chunk_bytes):
    ranges = list(csv_records.plan_ranges(path, chunk_bytes))
    return ranges, [r for byte_range in ranges for r in csv_records.read_records(byte_range)]


@pytest.mark.parametrize("chunk_bytes", [1, 20, 1 << 20])
def test_ranges_cover_every_record_once_keep_quoted_line_breaks_whole_and_know_their_line(tmp_path, chunk_bytes):
    path = str(tmp_path / "data.csv")
    write_rows(str(tmp_path), TRICKY_ROWS)
    ranges, records = _records(path, chunk_bytes)
    assert [list(next(csv.reader(io.StringIO(r)))) for r in records] == TRICKY_ROWS[1:]
    assert all(a[2] == b[1] for a, b in zip(ranges, ranges[1:]))  # contiguous, no overlap
    assert ranges[-1][2] == os.path.getsize(path)
    with open(path, "rb") as f:
        data = f.read()
    assert [r.line for r in ranges] == [data[:r.start].count(b"\n") + 1 for r in ranges]
    if chunk_bytes == 1:
        assert len(ranges) == len(TRICKY_ROWS) - 1  # one record per range at the smallest size


def test_unbalanced_quotes_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text('a,b\n1,"open\n2,3\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unbalanced quotes.*data.csv"):
        list(csv_records.plan_ranges(str(path), 4))
