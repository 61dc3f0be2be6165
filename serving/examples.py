"""Raw CSV rows -> serialized `tf.Example`s typed by the curated schema: what a client sends to the
exported model's signatures (and to TF Serving's predict/classify APIs)."""
import csv
from typing import Dict, Iterable, List, Mapping, Sequence

import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2

from schema.csv_records import as_integer

_INT, _FLOAT, _BYTES = schema_pb2.INT, schema_pb2.FLOAT, schema_pb2.BYTES


def feature_types(schema: schema_pb2.Schema) -> Dict[str, int]:
    return {feature.name: feature.type for feature in schema.feature}


def to_example(row: Mapping[str, str], types: Mapping[str, int],
               missing_values: Sequence[str] = ("",)) -> tf.train.Example:
    """One CSV row (strings) -> tf.Example; an empty cell, or one of the dataset's
    `missing_values` (e.g. `NA`), is a missing value, not a zero."""
    example = tf.train.Example()
    for name, text in row.items():
        if name not in types:
            raise ValueError(f"column {name!r} is not in the schema")
        if text is None or text == "" or text in missing_values or (
                types[name] == _INT and as_integer(text.encode()).decode() in missing_values):
            continue  # `-999.0` in an INT column is the token `-999` too, as the pipeline reads it
        feature = example.features.feature[name]
        try:
            if types[name] == _INT:
                feature.int64_list.value.append(_integer(text))
            elif types[name] == _FLOAT:
                feature.float_list.value.append(float(text))
            else:
                feature.bytes_list.value.append(text.encode())
        except ValueError:
            kind = schema_pb2.FeatureType.Name(types[name])
            hint = ("; if it means no value, list it under `missing_values` in dataset.yaml"
                    if not any(c.isdigit() for c in text) else "")  # `NA`, `n.a.`, `-`: a word, no number
            raise ValueError(f"column {name!r}: {text!r} is not a valid {kind} value{hint}") from None
    return example


def _integer(text: str) -> int:
    """An INT cell: `7`, or `7.0` as pandas writes an integer column with gaps (read as the
    pipeline's CSV reader reads it: `csv_records.as_integer`); `7.5` is refused, not cut to 7 (the
    pipeline's reader types such a column FLOAT, and the gate stops it)."""
    return int(as_integer(text.encode()))


def serialize_rows(rows: Iterable[Mapping[str, str]], schema: schema_pb2.Schema,
                   missing_values: Sequence[str] = ("",)) -> List[bytes]:
    """`rows` as serialized examples; a cell not of its column's type is a ValueError naming its
    data row (1: the first after the header)."""
    types = feature_types(schema)
    serialized = []
    for number, row in enumerate(rows, 1):
        try:
            serialized.append(to_example(row, types, missing_values).SerializeToString())
        except ValueError as error:
            raise ValueError(f"data row {number}: {error}") from None
    return serialized


def read_csv_rows(path: str, drop_columns: Iterable[str] = ()) -> List[Dict[str, str]]:
    """Rows of a CSV file as dicts, without `drop_columns` (e.g. the label at serving time)."""
    dropped = set(drop_columns)
    with open(path, newline="", encoding="utf-8-sig") as f:  # a byte-order mark dropped
        return [{k: v for k, v in row.items() if k not in dropped} for row in csv.DictReader(f)]
