"""TFDV's statistics of a CSV file or folder, read as the pipeline's CsvExampleGen reads it: what
`validate`, `schema-diff`, `calibrate`, `monitor --training-data` and `init` check and compare.

`tfdv.generate_statistics_from_csv` would do, but for three things: it reads lines with Beam's
`ReadFromText`, which cuts a quoted line break into two rows (the pipeline keeps the record whole);
it infers the columns' types in the pass that decodes the rows, and the runner holds every parsed row
for it (memory in proportion to the data; measured in docs/operations.md); and it reads neither the
dataset's missing-value tokens nor a header that starts with a byte-order mark.
"""
import csv
import os
import tempfile
from typing import Optional, Sequence

import apache_beam as beam
import tensorflow_data_validation as tfdv
from tensorflow_data_validation.constants import DEFAULT_DESIRED_INPUT_BATCH_SIZE
from tensorflow_metadata.proto.v0 import statistics_pb2
from tfx_bsl.coders import csv_decoder

from schema import cell_counts, csv_records
from schema.csv_files import ENCODING, data_files, parse_header


def blank_missing_values(source: str, target: str, missing_values: Sequence[str]) -> int:
    """Copies CSV `source` to `target` with every cell in `missing_values` made empty (what TFX's
    CSV reader takes as "no value"; `NA` would otherwise turn a numeric column into strings).
    Returns the number of cells blanked."""
    tokens = {v for v in missing_values if v}
    blanked = 0
    with open(source, newline="", encoding=ENCODING) as f_in, \
            open(target, "w", newline="", encoding="utf-8") as f_out:
        writer = csv.writer(f_out)
        for i, row in enumerate(csv.reader(f_in)):
            if i and tokens:
                hits = [cell in tokens for cell in row]
                blanked += sum(hits)
                row = ["" if hit else cell for cell, hit in zip(row, hits)]
            writer.writerow(row)
    return blanked


def statistics_of_csv(path: str, missing_values: Sequence[str] = ("",),
                      options: Optional[tfdv.StatsOptions] = None
                      ) -> statistics_pb2.DatasetFeatureStatisticsList:
    """TFDV statistics of a CSV file or of every file in a folder, cells in `missing_values` read
    as missing (as the pipeline's CsvExampleGen reads them). Give `options` made with the curated
    schema (`distances.stats_options`) for statistics the checks compare: integer codes as codes.
    Without `infer_type_from_schema` in `options`, the columns' types are the data's, inferred in a
    pass of their own (`cell_counts.inferred_types`)."""
    options = options or tfdv.StatsOptions()
    with tempfile.TemporaryDirectory(prefix="statistics-") as scratch:
        files = data_files(path) if os.path.isdir(path) else [path]
        # TFDV's decoder reads no missing-value token: files with tokens go as a copy (a byte-order
        # mark needs none: only the header holds it, and `parse_header` drops it)
        if {v for v in missing_values if v}:
            copies = [os.path.join(scratch, f"{i:05d}.csv") for i in range(len(files))]
            for source, copy in zip(files, copies):
                blank_missing_values(source, copy, missing_values)
            files = copies
        with open(files[0], "rb") as f:
            columns = parse_header(f.readline())
        ranges = [r for file in files for r in csv_records.plan_ranges(file, csv_records.CHUNK_BYTES)]
        typed = options.schema if options.infer_type_from_schema else \
            cell_counts.types_schema(cell_counts.inferred_types(ranges, columns, scratch))
        output = os.path.join(scratch, "statistics.pb")
        with beam.Pipeline() as pipeline:
            _ = (pipeline
                 | "Ranges" >> beam.Create(ranges)
                 | "Read" >> beam.FlatMap(csv_records.read_records)
                 | "Decode" >> csv_decoder.CSVToRecordBatch(
                     columns, delimiter=",", skip_blank_lines=True, schema=typed,
                     desired_batch_size=options.desired_batch_size or DEFAULT_DESIRED_INPUT_BATCH_SIZE)
                 | "Statistics" >> tfdv.GenerateStatistics(options)
                 | "Write" >> tfdv.WriteStatisticsToBinaryFile(output))
        return tfdv.load_stats_binary(output)
