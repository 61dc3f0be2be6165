"""TFDV's statistics of a CSV file or folder, read as the pipeline's CsvExampleGen reads it: what
`validate`, `schema-diff`, `calibrate`, `monitor --training-data` and `init` check and compare.

`tfdv.generate_statistics_from_csv` would do, but for three things: it reads lines with Beam's
`ReadFromText`, which cuts a quoted line break into two rows (the pipeline keeps the record whole);
it infers the columns' types in the pass that decodes the rows, and the runner holds every parsed row
for it (memory in proportion to the data; measured in docs/operations.md); and it reads neither the
dataset's missing-value tokens nor a header that starts with a byte-order mark. So the records come
from `csv_records` (tokens made empty as they are parsed, numbers read by the type the schema in the
options declares, as CsvExampleGen reads them), and go to tfx_bsl's own decoder and TFDV's own
statistics.
"""
import os
import tempfile
from typing import Dict, List, Optional, Sequence, Union

import apache_beam as beam
import tensorflow_data_validation as tfdv
from tensorflow_data_validation.constants import DEFAULT_DESIRED_INPUT_BATCH_SIZE
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2
from tfx_bsl.coders import batch_util, csv_decoder

from schema import cell_counts, csv_records
from schema.cell_counts import ColumnType
from schema.csv_files import file_header
from schema.data_folder import data_files

# The column type tfx_bsl's CSV decoder gives each schema type (as CSVToRecordBatch maps a schema)
COLUMN_TYPE = {schema_pb2.INT: ColumnType.INT, schema_pb2.FLOAT: ColumnType.FLOAT,
               schema_pb2.BYTES: ColumnType.STRING}


def statistics_of_csv(path: Union[str, Sequence[str]], missing_values: Sequence[str] = ("",),
                      options: Optional[tfdv.StatsOptions] = None
                      ) -> statistics_pb2.DatasetFeatureStatisticsList:
    """TFDV statistics of a CSV file or of every file in a folder (or of several such), cells in `missing_values` read
    as missing (as the pipeline's CsvExampleGen reads them). Give `options` made with the curated
    schema (`distances.stats_options`) for statistics the checks compare: integer codes as codes.
    Without `infer_type_from_schema` in `options`, the columns' types are the data's, inferred in a
    pass of their own (`cell_counts.inferred_types`); whole numbers in a column the options' schema
    types INT or FLOAT are that type's either way (`540.0` an integer, `3` a float)."""
    options = options or tfdv.StatsOptions()
    tokens = frozenset(v.encode() for v in missing_values if v)
    files = [file for one in ([path] if isinstance(path, str) else path)
             for file in (data_files(one) if os.path.isdir(one) else [one])]
    headers = {}
    for file in files:
        headers.setdefault(tuple(file_header(file)), file)  # a byte-order mark dropped
    if len(headers) > 1:
        raise ValueError("the files read together have different headers ("
                         + "; ".join(f"{file}: {', '.join(names)}" for names, file in headers.items())
                         + "): give them the same columns in the same order")
    columns = list(next(iter(headers)))
    ranges = [r for file in files for r in csv_records.plan_ranges(file, csv_records.CHUNK_BYTES)]
    declared = cell_counts.declared_numbers(
        {feature.name: feature.type for feature in (options.schema or schema_pb2.Schema()).feature}, columns)
    with tempfile.TemporaryDirectory(prefix="statistics-") as scratch:
        types = _schema_types(options.schema, columns) if options.infer_type_from_schema else \
            cell_counts.inferred_types(ranges, columns, scratch, tokens, declared)
        output = os.path.join(scratch, "statistics.pb")
        with beam.Pipeline() as pipeline:
            _ = (pipeline
                 | "Ranges" >> beam.Create(ranges)
                 | "Records" >> csv_records.ParsedRecords(tokens, declared[0])  # pylint: disable=no-value-for-parameter
                 | "Batch" >> batch_util.BatchRecords(  # pylint: disable=no-value-for-parameter
                     options.desired_batch_size or DEFAULT_DESIRED_INPUT_BATCH_SIZE, ["CSVToRecordBatch"],
                     record_size_fn=lambda record: len(record[1]) << 1)
                 | "Decode" >> beam.ParDo(csv_decoder.BatchedCSVRowsToRecordBatch(skip_blank_lines=True),
                                          [csv_decoder.ColumnInfo(c, types[c]) for c in columns])
                 | "Statistics" >> tfdv.GenerateStatistics(options)
                 | "Write" >> tfdv.WriteStatisticsToBinaryFile(output))
        return tfdv.load_stats_binary(output)


def _schema_types(schema: schema_pb2.Schema, columns: List[str]) -> Dict[str, ColumnType]:
    """The columns' types as `schema` gives them; a column it does not name is not read."""
    given = {feature.name: COLUMN_TYPE[feature.type] for feature in schema.feature}
    return {column: given.get(column, ColumnType.IGNORE) for column in columns}
