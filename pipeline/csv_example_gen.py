"""CsvExampleGen's executor: CSV files read in parallel byte ranges, splits written unshuffled.

TFX's CsvExampleGen parses each file in one DoFn call (one worker does all of it), buffers every
parsed row for its type-inference pass, and reshuffles every example before writing. On the
multi-process DirectRunner the shuffle holds the whole dataset in the runner and again in the
workers: at 1.5M rows, twice the memory of this executor and more time (docs/benchmarks.md).

Each file is cut into quote-aware, record-aligned byte ranges (quoted fields spanning lines stay
whole; `schema/csv_records.py`) that every worker reads twice: once for TFX's type inference, once
for TFX's tf.Example conversion with the inferred types, so memory stays flat whatever the data size. The output is
TFX's: the same inference, the same examples but for empty cells (left out, see _ParsedCsvToExample)
and for a header with quoted names or a byte-order mark (read as CSV, see _column_names), the same
split hashing. Cells equal to one of the dataset's missing-value tokens (`custom_config`)
are read as empty, as TFX reads an empty cell. Whole numbers are read by the type the curated schema
declares (`custom_config` again): `540.0` in an INT column is 540, `3` in a FLOAT column 3.0, where
TFX would type that span's column FLOAT or INT by how pandas happened to write it that day (a gap
makes an integer column floats), and the gate would refuse a type change no one made.
"""
import os
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

import apache_beam as beam
import tensorflow as tf
from apache_beam.io.filesystems import FileSystems
from google.protobuf import struct_pb2
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx import types
from tfx.components.example_gen import utils, write_split
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.example_gen import component
from tfx.components.example_gen.csv_example_gen import executor as tfx_csv
from tfx.components.util import examples_utils
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from schema import csv_files
from schema.cell_counts import ColumnTypes, declared_numbers
from schema.csv_records import CHUNK_BYTES, ParsedRows, plan_ranges


def _names(values: Sequence[str]) -> struct_pb2.Value:
    return struct_pb2.Value(list_value=struct_pb2.ListValue(values=[struct_pb2.Value(string_value=v)
                                                                    for v in values]))


def custom_config(missing_values: Sequence[str], schema: schema_pb2.Schema) -> example_gen_pb2.CustomConfig:
    """The component's custom_config: the cells to read as "no value" (the dataset's
    `missing_values`, e.g. `NA`), which TFX's CSV reader knows only as the empty cell, and the columns
    the curated `schema` types INT and FLOAT, whose whole numbers are read as that type. `empty_cells`
    names how they are written (left out), so examples written otherwise are never a cache hit."""
    config = example_gen_pb2.CustomConfig()
    config.custom_config.Pack(struct_pb2.Struct(fields={
        "missing_values": _names(missing_values),
        "integer_columns": _names([f.name for f in schema.feature if f.type == schema_pb2.INT]),
        "float_columns": _names([f.name for f in schema.feature if f.type == schema_pb2.FLOAT]),
        "empty_cells": struct_pb2.Value(string_value="absent")}))
    return config


class _ParsedCsvToExample(tfx_csv._ParsedCsvToTfExample):  # pylint: disable=protected-access
    """TFX's conversion, except that an empty cell leaves its feature out of the example instead
    of writing it with no values: TFDV counts a feature with no values as present, so the schema's
    presence minimums could never see values going missing (and clients leave them out too)."""

    def process(self, csv_cells, column_infos):
        if not self._column_handlers:
            self._column_handlers = self._make_column_handlers(column_infos)
        if not csv_cells:  # a blank line
            return
        if len(csv_cells) != len(self._column_handlers):
            raise ValueError(f"Invalid CSV line: {csv_cells}")
        yield tf.train.Example(features=tf.train.Features(feature={
            name: handler(cell) for cell, (name, handler) in zip(csv_cells, self._column_handlers)
            if cell and handler}))


def _config(exec_properties: Dict[str, Any]) -> Optional[struct_pb2.Struct]:
    serialized = exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
    if not serialized:
        return None
    config = example_gen_pb2.CustomConfig()
    proto_utils.json_to_proto(serialized, config)
    struct = struct_pb2.Struct()
    return struct if config.custom_config.Unpack(struct) else None


def _listed(exec_properties: Dict[str, Any], key: str) -> List[str]:
    struct = _config(exec_properties)
    if struct is None or key not in struct.fields:
        return []
    return [v.string_value for v in struct.fields[key].list_value.values if v.string_value]


def missing_values(exec_properties: Dict[str, Any]) -> FrozenSet[bytes]:
    return frozenset(v.encode() for v in _listed(exec_properties, "missing_values"))


def declared(exec_properties: Dict[str, Any], column_names: List[str]) -> Tuple[FrozenSet[int], FrozenSet[str]]:
    """`cell_counts.declared_numbers` of the schema types `custom_config` carries."""
    return declared_numbers({**{name: schema_pb2.INT for name in _listed(exec_properties, "integer_columns")},
                             **{name: schema_pb2.FLOAT for name in _listed(exec_properties, "float_columns")}},
                            column_names)


def _column_names(path: str) -> List[str]:
    """The header parsed as CSV, as `init` and the gate's file checks read it (TFX splits it at
    commas, keeping quotes and a byte-order mark in the names)."""
    with fileio.open(path, "rb") as f:
        return csv_files.parse_header(f.readline())


@beam.ptransform_fn
def _CsvToExample(pipeline: beam.Pipeline, exec_properties: Dict[str, Any],  # pylint: disable=invalid-name
                  split_pattern: str):
    pattern = FileSystems.join(exec_properties[standard_component_specs.INPUT_BASE_KEY],
                               split_pattern)
    csv_files = fileio.glob(pattern)
    if not csv_files:
        raise RuntimeError(f"Split pattern {pattern} does not match any files.")
    tokens = missing_values(exec_properties)
    column_names = _column_names(csv_files[0])
    for csv_file in csv_files[1:]:
        if _column_names(csv_file) != column_names:
            raise RuntimeError(f"Files in same split {pattern} have different header.")
    integers, floats = declared(exec_properties, column_names)
    ranges = (pipeline
              | "Files" >> beam.Create(csv_files)
              | "PlanRanges" >> beam.FlatMap(plan_ranges, CHUNK_BYTES)
              | "SpreadRanges" >> beam.Reshuffle())
    column_infos = beam.pvalue.AsSingleton(
        ranges
        | "RowsForTypes" >> ParsedRows(tokens, integers)  # pylint: disable=no-value-for-parameter
        | "InferColumnTypes" >> beam.CombineGlobally(
            ColumnTypes(column_names, floats)))
    # Serialized deterministically: TFX's split partitioning hashes exactly these bytes.
    return (ranges
            | "RowsForExamples" >> ParsedRows(tokens, integers)  # pylint: disable=no-value-for-parameter
            | "ToTFExample" >> beam.ParDo(_ParsedCsvToExample(), column_infos)
            | "Serialize" >> beam.Map(lambda example: example.SerializeToString(deterministic=True)))


class Executor(BaseExampleGenExecutor):
    """TFX's CSV executor with the chunked, streaming read above, writing each split unshuffled."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _CsvToExample

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
        """TFX's ExampleGen Do (base_example_gen_executor.py) minus its Reshuffle before writing
        (TFX's own TODO: "make shuffle optional"; what it cost is measured above). Trainer and
        Evaluator read the splits in any order (training shuffles)."""
        self._log_startup(input_dict, output_dict, exec_properties)
        file_format = exec_properties.get(standard_component_specs.OUTPUT_FILE_FORMAT_KEY)
        if file_format not in (None, example_gen_pb2.FILE_FORMAT_UNSPECIFIED,
                               example_gen_pb2.FORMAT_TFRECORDS_GZIP):
            raise ValueError(f"output_file_format {example_gen_pb2.FileFormat.Name(file_format)}: "
                             "this executor writes gzipped TFRecords only")
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY],
                                  input_config)
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY],
                                  output_config)
        examples = output_dict[standard_component_specs.EXAMPLES_KEY]
        artifact_utils.get_single_instance(examples).split_names = (
            artifact_utils.encode_split_names(
                utils.generate_output_split_names(input_config, output_config)))
        with self._make_beam_pipeline() as pipeline:
            for split, records in self.GenerateExamplesByBeam(pipeline, exec_properties).items():
                _ = records | f"WriteSplit[{split}]" >> beam.io.WriteToTFRecord(
                    os.path.join(artifact_utils.get_split_uri(examples, split),
                                 write_split.DEFAULT_FILE_NAME),
                    file_name_suffix=".gz")
        for artifact in examples:
            examples_utils.set_payload_format(artifact, example_gen_pb2.FORMAT_TF_EXAMPLE)
            examples_utils.set_file_format(
                artifact, write_split.to_file_format_str(example_gen_pb2.FORMAT_TFRECORDS_GZIP))


class CsvExampleGen(component.FileBasedExampleGen):
    """TFX's CsvExampleGen (same id and outputs) with the executor above; its `custom_config`
    (which TFX's CsvExampleGen does not pass on) carries the missing-value tokens."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
