"""CSV records as the pipeline reads them: a file cut into record-aligned byte ranges, each range's
records with quoted line breaks kept whole (as TFX's CSV reader joins them), and on Beam their cells
(`ParsedRecords`, `ParsedRows`). The pipeline's CsvExampleGen (`pipeline/csv_example_gen.py`), `score` and the
statistics of `validate` (`csv_statistics.statistics_of_csv`) read their files through it, so all
three see the same rows; Beam's `ReadFromText`, which TFDV's own CSV reader uses, cuts a quoted line
break into two rows.

Cells are read by the column's declared type where the schema gives one: a whole number written as a
float (`540.0`) is an integer in a column the schema types INT (`as_integer`), as pandas writes an
integer column on a day it has a gap; TFX's reader would type that day's column FLOAT, and the gate
would refuse a type change no one made.
"""
import decimal
from typing import FrozenSet, Iterable, List, NamedTuple, Tuple

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from tfx.components.example_gen.csv_example_gen import executor as tfx_csv
from tfx_bsl.coders import csv_decoder

CHUNK_BYTES = 4 << 20  # tens of thousands of rows: enough ranges to keep every worker busy


class ByteRange(NamedTuple):
    path: str
    start: int  # offset of its first record
    end: int  # offset past its last record
    line: int  # the file's line number (from 1) where its first record starts


def plan_ranges(path: str, chunk_bytes: int) -> Iterable[ByteRange]:
    """Record-aligned byte ranges of about `chunk_bytes` covering a CSV file after its header."""
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        start = offset = len(f.readline())
        start_line = lines = 2
        open_quotes = False
        for line in f:
            offset += len(line)
            lines += 1
            open_quotes ^= line.count(b'"') % 2 == 1
            if not open_quotes and offset - start >= chunk_bytes:
                yield ByteRange(path, start, offset, start_line)
                start, start_line = offset, lines
        if open_quotes:
            raise ValueError(f"Csv record had unbalanced quotes. File: {path}")
        if offset > start:
            yield ByteRange(path, start, offset, start_line)


def read_records(byte_range: ByteRange) -> Iterable[str]:
    """The CSV records of one range, multi-line quoted fields joined (as TFX's reader does)."""
    path, start, end, _ = byte_range
    buffer = tfx_csv._CsvLineBuffer()  # pylint: disable=protected-access
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        f.seek(start)
        offset = start
        while offset < end:
            line = f.readline()
            if not line:
                raise ValueError(f"{path} changed while it was read (ends before byte {end})")
            offset += len(line)
            buffer.write(line.decode("utf-8"))
            if buffer.is_complete_line():
                yield buffer.read()


def record_count(paths: Iterable[str]) -> int:
    """The CSV records of these files (blank lines are no rows, as in CsvExampleGen)."""
    return sum(1 for path in paths for byte_range in plan_ranges(path, CHUNK_BYTES)
               for record in read_records(byte_range) if record.strip())


WHOLE_LIMIT = 2 ** 53  # from it on a float64 no longer holds every integer: such a cell stays a float


def as_integer(cell: bytes) -> bytes:
    """A cell of a column the schema types INT, as the reader types and converts it: a whole number
    written as a float (`540.0`, `1e3`) as its integer text; any other cell as it is (a fraction
    stays one, and the gate refuses the FLOAT type it gives the column)."""
    if cell.isdigit() or (b"." not in cell and b"e" not in cell.lower()):
        return cell
    try:  # exactly, as written: a float would round 1.0000000000000001 to a whole 1
        number = decimal.Decimal(cell.decode())
    except (decimal.InvalidOperation, UnicodeDecodeError):
        return cell
    whole = number.is_finite() and abs(number) < WHOLE_LIMIT and number == number.to_integral_value()
    return b"%d" % int(number) if whole else cell


def _read(record: Tuple[List[bytes], str], tokens: FrozenSet[bytes], integers: FrozenSet[int]
          ) -> Tuple[List[bytes], str]:
    cells, text = record
    cells = [b"" if cell in tokens else cell for cell in cells] if tokens else list(cells)
    for index in integers:
        if index < len(cells):
            whole = as_integer(cells[index])
            cells[index] = b"" if whole in tokens else whole  # `-999.0` is the token `-999` too
    return cells, text


@beam.ptransform_fn
def ParsedRecords(ranges, tokens: FrozenSet[bytes] = frozenset(),  # pylint: disable=invalid-name
                  integers: FrozenSet[int] = frozenset()):
    """`ByteRange`s -> each record as (its cells (bytes), its text), parsed as TFX's CSV reader parses
    it (tfx_bsl's `ParseCSVLine`, whose pairs tfx_bsl's decoders take), cells in `tokens` (the
    dataset's missing-value tokens) made empty, and in the columns at the indexes `integers` (those
    the schema types INT) whole numbers written as floats made integers (`as_integer`)."""
    records = (ranges
               | "Read" >> beam.FlatMap(read_records)
               | "Parse" >> beam.ParDo(csv_decoder.ParseCSVLine(delimiter=",")))
    if not tokens and not integers:
        return records
    return records | "ReadByType" >> beam.Map(_read, tokens, integers)


@beam.ptransform_fn
def ParsedRows(ranges, tokens: FrozenSet[bytes] = frozenset(),  # pylint: disable=invalid-name
               integers: FrozenSet[int] = frozenset()):
    """`ByteRange`s -> each record's cells, as `ParsedRecords` parses them."""
    return ranges | "Records" >> ParsedRecords(tokens, integers) | "Cells" >> beam.Keys()  # pylint: disable=no-value-for-parameter
