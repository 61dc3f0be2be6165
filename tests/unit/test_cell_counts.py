"""`init`'s cell counts (schema/cell_counts.py): exact while a column's values repeat, bounded and
estimated past `COUNTED` distinct values, missing-value tokens and text never lost; column types as
TFDV infers them."""
import csv

import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx_bsl.coders import csv_decoder

from benchmarks import public_datasets
from schema import cell_counts, csv_records, csv_statistics, infer
from schema.cell_counts import COUNTED, ColumnCells, ColumnType
from schema.columns import MISSING_TOKENS, missing_tokens

TOKENS = ("", *MISSING_TOKENS)
CHUNK = 10_000


def _column(cells):
    column = ColumnCells(TOKENS)
    for start in range(0, len(cells), CHUNK):
        column.add(cells[start:start + CHUNK])
    return column


def test_a_column_whose_values_repeat_is_counted_exactly():
    cells = [str(i % 500) for i in range(60_000)] + ["NA"] * 7
    column = _column(cells)
    assert column.estimate(["", "NA"]) is None
    assert column.counts == {**{str(i): 120 for i in range(500)}, "NA": 7}


def test_past_the_counted_values_memory_stays_bounded_and_distinct_values_are_estimated():
    rows = 5 * COUNTED
    column = _column([f"{i}.5" for i in range(rows)] + [""] * 3)
    assert len(column.counts) <= COUNTED + CHUNK + 1
    estimate = column.estimate([""])
    assert abs(estimate - rows) < 0.05 * rows, estimate


def test_few_distinct_values_past_the_counted_ones_are_estimated_exactly(monkeypatch):
    monkeypatch.setattr(cell_counts, "COUNTED", 100)
    column = _column([str(i) for i in range(3000)] * 2 + ["NA", ""])
    assert column.estimate(["", "NA"]) == 3000


def test_a_missing_value_token_first_seen_past_the_counted_values_is_still_found():
    numbers = [f"{i / 7:.4f}" for i in range(3 * COUNTED)]
    late_token = _column(numbers + ["NA", "NA"])
    assert late_token.counts["NA"] == 2 and not late_token.text_past_counts
    assert missing_tokens({"weight": late_token}) == {"NA": ["weight"]}


def test_text_past_the_counted_values_keeps_a_token_from_reading_as_missing():
    numbers = [f"{i / 7:.4f}" for i in range(3 * COUNTED)]
    texts = _column(["NA"] + numbers + ["about 3"])
    assert texts.text_past_counts
    assert missing_tokens({"weight": texts}) == {}


def test_a_token_reads_as_missing_where_the_csv_reader_takes_the_other_cells_for_numbers():
    """Numbers by tfx_bsl's own rule, the one that types the column in the run: R writes infinities
    as `Inf`, spreadsheets pad cells with spaces; a 20-digit integer is text to the reader."""
    numbers = [f"{i / 7:.4f}" for i in range(3 * COUNTED)]
    as_r_writes = _column(["NA", "Inf", "-Inf", " 2.5 "] + numbers)
    assert missing_tokens({"rate": as_r_writes}) == {"NA": ["rate"]}
    assert as_r_writes.column_type(["", "NA"]) == ColumnType.FLOAT
    long_integer = _column(["NA"] + numbers + ["12345678901234567890123"])
    assert long_integer.text_past_counts
    assert missing_tokens({"id": long_integer}) == {}


@pytest.mark.parametrize("dataset", [public_datasets.PENGUINS, public_datasets.PENGUINS_RAW], ids=lambda d: d.name)
def test_column_types_from_the_cells_give_tfdv_the_statistics_of_its_own_type_inference(tmp_path, dataset):
    """`init` hands TFDV the types (its CSV reader then keeps no row in memory): they must be the
    ones TFDV infers itself, `NA` read as missing, text, dates, integers and floats alike."""
    path = str(tmp_path / f"{dataset.name}.csv")
    dataset.write_csv(path)
    header, counts, _ = infer._read(path)
    missing = ["", "NA"]
    typed = cell_counts.types_schema({c: counts[c].column_type(missing) for c in header})
    inferred = csv_statistics.statistics_of_csv(path, missing)
    given = csv_statistics.statistics_of_csv(path, missing, tfdv.StatsOptions(schema=typed, infer_type_from_schema=True))
    assert {f.type for f in typed.feature} == {schema_pb2.INT, schema_pb2.FLOAT, schema_pb2.BYTES}
    assert given == inferred


def _types(inferrer, rows):
    accumulator = inferrer.create_accumulator()
    for row in rows:
        accumulator = inferrer.add_input(accumulator, row)
    return [info.type for info in inferrer.extract_output(accumulator)]


@pytest.mark.parametrize("remembered", [100_000, 3])
def test_column_types_are_tfx_bsls_own_for_every_kind_of_cell_and_public_dataset(tmp_path, monkeypatch, remembered):
    """`ColumnTypes` (CsvExampleGen's and the statistics' type pass) infers what tfx_bsl's
    ColumnTypeInferrer infers, with each distinct cell's type remembered (or, past `REMEMBERED`, not)
    and STRING columns no longer looked at: cells of every type and order, an integer too long for
    int64 (STRING), and every column of the public datasets."""
    monkeypatch.setattr(cell_counts.ColumnTypes, "REMEMBERED", remembered)
    cells = [b"", b"7", b"-3", b"7.5", b"1e5", b"nan", b"inf", b"99999999999999999999", b"abc", b" 4 "]
    columns = [cells[i:] + cells[:i] for i in range(len(cells))]  # each column its own order
    rows = [list(row) for row in zip(*columns)] + [[b""] * len(columns), []]
    rows += [[cells[j % 3] for j in range(len(columns))]] * 3  # repeated cells: remembered
    names = [f"c{i}" for i in range(len(columns))]
    assert _types(cell_counts.ColumnTypes(names), rows) == \
        _types(csv_decoder.ColumnTypeInferrer(names, skip_blank_lines=True), rows)
    seen = set()
    for dataset in public_datasets.ALL:
        path = tmp_path / f"{dataset.name}.csv"
        dataset.write_csv(str(path))
        with open(path, newline="", encoding="utf-8-sig") as f:
            header, *table = [[cell.encode() for cell in row] for row in csv.reader(f)]
        names = [name.decode() for name in header]
        ours = _types(cell_counts.ColumnTypes(names), table)
        assert ours == _types(csv_decoder.ColumnTypeInferrer(names, skip_blank_lines=True), table)
        seen.update(ours)
    assert seen == {ColumnType.INT, ColumnType.FLOAT, ColumnType.STRING}


def test_a_row_with_too_few_cells_is_refused_as_tfx_bsl_refuses_it():
    with pytest.raises(ValueError, match="Columns do not match specified csv headers"):
        _types(cell_counts.ColumnTypes(["a", "b"]), [[b"1"]])


@pytest.mark.parametrize("cell, read", [
    (b"540.0", b"540"), (b"-3.0", b"-3"), (b"1e3", b"1000"), (b"2E2", b"200"), (b"-0.0", b"0"),
    (b"540", b"540"), (b"540.5", b"540.5"), (b"nan", b"nan"), (b"inf", b"inf"), (b"", b""), (b"n.a.", b"n.a."),
    (b"9007199254740993.0", b"9007199254740993.0"),  # past 2**53 a float holds no exact integer
    (b"1.0000000000000001", b"1.0000000000000001"), (b"1e-400", b"1e-400"), (b"1.5e3", b"1500"),  # as written
    (b"1e999999", b"1e999999"), (b"+5.0", b"5"),
])
def test_a_whole_number_written_as_a_float_reads_as_an_integer_and_nothing_else_changes(cell, read):
    assert csv_records.as_integer(cell) == read
    assert cell_counts.is_number(cell.decode(), schema_pb2.INT) == (
        read != b"" and csv_decoder._InferValueType(read) == ColumnType.INT)  # pylint: disable=protected-access


def test_columns_the_schema_declares_are_typed_by_its_whole_numbers():
    """`540.0` cells, read as integers, keep an INT column INT; a FLOAT column of integer cells is
    FLOAT; undeclared columns are typed as tfx_bsl types them."""
    rows = [[csv_records.as_integer(b"540.0"), b"3", b"3"], [b"7", b"4", b"4"]]
    assert _types(cell_counts.ColumnTypes(["seconds", "fare", "count"], floats={"fare"}), rows) == \
        [ColumnType.INT, ColumnType.FLOAT, ColumnType.INT]
    assert _types(cell_counts.ColumnTypes(["seconds"]), [[b"540.0"], [b"7"]]) == [ColumnType.FLOAT]


def test_a_missing_value_token_written_as_a_float_in_an_integer_column_is_missing():
    """pandas writes the sentinel -999 as -999.0 once the column has a gap: still the token."""
    cells, _ = csv_records._read(([b"-999.0", b"NA", b"3.0", b"-999.0"], "text"),  # pylint: disable=protected-access
                                 frozenset({b"-999", b"NA"}), frozenset({0, 1, 2}))
    assert cells == [b"", b"", b"3", b"-999.0"]  # the last column is not declared INT: as TFX reads it
