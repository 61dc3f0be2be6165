"""Each column's cells, in memory that does not grow with the data: what `tfxpipe init` reads
besides TFDV's statistics (schema/infer.py says what and why), and each column's type.

Counting every distinct cell of every column takes memory in proportion to the data, while the
pipeline itself reads any size in flat memory. So a column counts its first `COUNTED` distinct
values exactly, which is all of them for the label and for the columns whose values repeat: the
decisions that hinge on exact values (classes, integer codes, constant columns, missing-value
tokens) are about at most a few hundred. A column with more distinct values than that goes on with
TFDV's own KMV sketch (tfx_bsl), whose estimate of its distinct values only tells an ID from a
quantity. Its later cells are still looked at for missing-value tokens, text among numbers and the
column's type.
"""
import collections
import json
import os
from typing import Collection, Counter, Dict, FrozenSet, Iterable, List, Optional, Tuple

import apache_beam as beam
import pyarrow as pa
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx_bsl import sketches
from tfx_bsl.coders import csv_decoder

from schema.csv_records import ByteRange, ParsedRows, as_integer

COUNTED = 20_000  # distinct values counted exactly per column
KMV_BUCKETS = 4096  # relative error about 1 / sqrt(buckets)

ColumnType = csv_decoder.ColumnType
# The schema type TFDV gives each CSV column type; a column without values is typed as TFDV types it
SCHEMA_TYPE = {ColumnType.UNKNOWN: schema_pb2.BYTES, ColumnType.INT: schema_pb2.INT,
               ColumnType.FLOAT: schema_pb2.FLOAT, ColumnType.STRING: schema_pb2.BYTES}


class ColumnTypes(csv_decoder.ColumnTypeInferrer):
    """tfx_bsl's inference of CSV columns' types, what CsvExampleGen and TFDV infer (a cell's type:
    empty UNKNOWN, then INT < FLOAT < STRING; a column's: the highest of its cells'), in half the
    time: tfx_bsl works out every cell's type anew, and that was half of a CSV pass over the data.
    Here a distinct cell's type is worked out once (cells repeat: codes, categories, rounded numbers)
    and a column already typed STRING, the top, is not looked at again. Same types, by tfx_bsl's own
    per-cell rule (tests/unit/test_cell_counts.py). A column in `floats` (the schema types it FLOAT)
    whose cells are all integers is FLOAT: `2`, `3` are numbers of a FLOAT column written without
    fractions, as pandas writes a float column of whole values after `.astype(int)`."""
    REMEMBERED = 100_000  # distinct cells whose type is kept (a few MiB)

    def __init__(self, column_names: List[str], floats: Collection[str] = ()):
        super().__init__(column_names, skip_blank_lines=True)
        self._names = list(column_names)
        self._floats = frozenset(floats)
        self._types: Dict[bytes, ColumnType] = {}

    def add_input(self, accumulator: Dict[str, ColumnType], cells: List[bytes]) -> Dict[str, ColumnType]:
        if cells and len(cells) != len(self._names):
            return super().add_input(accumulator, cells)  # tfx_bsl's own error, naming the columns
        for name, cell in zip(self._names, cells):
            previous = accumulator.get(name)
            if previous == ColumnType.STRING:
                continue
            kind = self._types.get(cell)
            if kind is None:
                kind = _cell_type(cell)
                if len(self._types) < self.REMEMBERED:
                    self._types[cell] = kind
            if previous is None or kind > previous:
                accumulator[name] = kind
        return accumulator

    def extract_output(self, accumulator: Dict[str, ColumnType]) -> List[csv_decoder.ColumnInfo]:
        return [csv_decoder.ColumnInfo(info.name, ColumnType.FLOAT)
                if info.name in self._floats and info.type == ColumnType.INT else info
                for info in super().extract_output(accumulator)]


def declared_numbers(types: Dict[str, int], column_names: List[str]) -> Tuple[FrozenSet[int], FrozenSet[str]]:
    """How the CSV readers read the numbers a schema declares (`types`: column -> schema type): the
    indexes of the columns it types INT (`ParsedRecords`' `integers`) and the names of those it types
    FLOAT (`ColumnTypes`' `floats`)."""
    return (frozenset(i for i, name in enumerate(column_names) if types.get(name) == schema_pb2.INT),
            frozenset(name for name in column_names if types.get(name) == schema_pb2.FLOAT))


def _cell_type(cell: bytes) -> ColumnType:
    """A cell's type by tfx_bsl's rule (private in tfx_bsl: no public function types one cell)."""
    return csv_decoder._InferValueType(cell)  # pylint: disable=protected-access


def is_number(cell: str, schema_type: int) -> bool:
    """Whether a CSV cell reads as a value of an INT or FLOAT schema column, by the rule TFX's CSV
    reader types cells with (tfx_bsl's; `1_000` and `inf` are numbers to it, a 20-digit integer not),
    whole numbers written as floats (`540.0`) integers (`as_integer`)."""
    if schema_type == schema_pb2.INT:
        return _cell_type(as_integer(cell.encode())) == ColumnType.INT
    return _cell_type(cell.encode()) in (ColumnType.INT, ColumnType.FLOAT)


def column_type(values: Iterable[str]) -> ColumnType:
    """The type TFX's CSV readers (CsvExampleGen, TFDV) infer for a column of `values` (`ColumnTypes`)."""
    inferrer = ColumnTypes(["column"])
    accumulator: dict = {}
    for value in values:
        accumulator = inferrer.add_input(accumulator, [value.encode()])
    return inferrer.extract_output(accumulator)[0].type


def types_schema(types: Dict[str, ColumnType]) -> schema_pb2.Schema:
    """A schema of the columns' types only: given to TFDV with `infer_type_from_schema`, its CSV
    reader skips its own type-inference pass, which holds every parsed row in memory."""
    return schema_pb2.Schema(feature=[schema_pb2.Feature(name=name, type=SCHEMA_TYPE[kind])
                                      for name, kind in types.items()])


def inferred_types(ranges: List[ByteRange], column_names: List[str], scratch: str,
                   tokens: FrozenSet[bytes] = frozenset(),
                   declared: Tuple[FrozenSet[int], FrozenSet[str]] = (frozenset(), frozenset())
                   ) -> Dict[str, ColumnType]:
    """The types TFDV's CSV reader infers for the columns of the CSV records in `ranges` (cells in
    `tokens` read as missing, numbers as `declared` by a schema: `declared_numbers`), in a Beam pass
    of its own that streams the rows (tfx_bsl's inference, so the types are TFDV's). TFDV infers them
    in the pass that decodes the rows, and for that the runner holds every parsed row in memory.
    `scratch`: a folder for the pass's result."""
    result = os.path.join(scratch, "column-types.json")
    integers, floats = declared
    with beam.Pipeline() as pipeline:
        _ = (pipeline
             | "Ranges" >> beam.Create(ranges)
             | "Rows" >> ParsedRows(tokens, integers)  # pylint: disable=no-value-for-parameter
             | "Infer" >> beam.CombineGlobally(ColumnTypes(column_names, floats))
             | "Serialize" >> beam.Map(lambda infos: json.dumps([int(info.type) for info in infos]))
             | "Write" >> beam.io.WriteToText(result, shard_name_template=""))
    with open(result, encoding="utf-8") as f:
        return dict(zip(column_names, (ColumnType(kind) for kind in json.loads(f.read()))))


class ColumnCells:
    """One column's cells: `counts`, every distinct value's count while there are at most `COUNTED`
    (then those of the rows read so far, and of missing-value tokens throughout), and past that an
    estimate of how many distinct values the column has."""

    def __init__(self, tokens: Iterable[str]):
        """`tokens`: cells that may mean "missing" (the empty one among them): always counted."""
        self.counts: Counter = collections.Counter()
        self._tokens = frozenset(tokens)
        self._sketch: Optional[sketches.KmvSketch] = None
        self._type_past_counts = ColumnType.UNKNOWN  # of the cells past the counted ones but tokens

    def add(self, cells: List[str]) -> None:
        if self._sketch is None:
            self.counts.update(cells)
            if len(self.counts) > COUNTED:
                self._sketch = sketches.KmvSketch(KMV_BUCKETS)
                self._sketch.AddValues(pa.array(list(self.counts)))
            return
        self._sketch.AddValues(pa.array(cells))
        distinct = set(cells)
        for token in self._tokens.intersection(distinct):
            self.counts[token] += cells.count(token)
        others = [c for c in distinct if c not in self._tokens]
        if others and self._type_past_counts < ColumnType.STRING:
            self._type_past_counts = max(self._type_past_counts, column_type(others))

    @property
    def text_past_counts(self) -> bool:
        """Whether a cell past the counted ones was neither empty, a token nor a number."""
        return self._type_past_counts == ColumnType.STRING

    def estimate(self, missing: Iterable[str]) -> Optional[int]:
        """The sketch's estimate of the column's distinct values but the `missing` ones (exact below
        `KMV_BUCKETS` of them); None while `counts` holds them all."""
        if self._sketch is None:
            return None
        return self._sketch.Estimate() - sum(1 for value in set(missing) if value in self.counts)

    def column_type(self, missing: Iterable[str]) -> ColumnType:
        """The column's type as TFX's CSV readers infer it, cells in `missing` read as empty."""
        missing = set(missing)
        return max(self._type_past_counts, column_type(v for v in self.counts if v not in missing))
