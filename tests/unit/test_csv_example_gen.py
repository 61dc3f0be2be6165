"""The chunked CSV executor: record-aligned ranges, and the same examples and splits as TFX's own."""
import glob
import os

import pytest
import tensorflow as tf
from tfx.components.example_gen.csv_example_gen import executor as tfx_csv
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from benchmarks import public_datasets
from pipeline import csv_example_gen, profiles
from schema import schema_text
from tests.bad_data import taxi_rows, write_rows
from tests.conftest import TAXI_SCHEMA

def _run(executor_class, input_base, output_uri,
         file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP, custom_config=None):
    examples = standard_artifacts.Examples()
    examples.uri = output_uri
    split = example_gen_pb2.SplitConfig.Split
    exec_properties = {
        "input_base": input_base,
        "input_config": proto_utils.proto_to_json(example_gen_pb2.Input(
            splits=[example_gen_pb2.Input.Split(name="data", pattern="*")])),
        "output_config": proto_utils.proto_to_json(example_gen_pb2.Output(
            split_config=example_gen_pb2.SplitConfig(
                splits=[split(name="train", hash_buckets=4), split(name="eval", hash_buckets=1)]))),
        "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
        "output_file_format": file_format,
    }
    if custom_config is not None:
        exec_properties["custom_config"] = proto_utils.proto_to_json(custom_config)
    # The local profile's args, as a run passes them: with bare args TFX would build an sdist of
    # itself for remote workers (pipeline/profiles.py)
    context = executor_class.Context(beam_pipeline_args=list(profiles.beam_args("local", {})),
                                     tmp_dir=os.path.join(output_uri, "tmp"))
    executor_class(context).Do({}, {"examples": [examples]}, exec_properties)
    return examples


def _split_examples(uri, split):
    files = glob.glob(os.path.join(uri, f"Split-{split}", "*.gz"))
    return sorted(tf.train.Example.FromString(record.numpy()).SerializeToString(deterministic=True)
                  for record in tf.data.TFRecordDataset(files, compression_type="GZIP"))


def _without_empty_features(serialized: bytes) -> bytes:
    example = tf.train.Example.FromString(serialized)
    for name in [n for n, f in example.features.feature.items() if f.WhichOneof("kind") is None or
                 not getattr(f, f.WhichOneof("kind")).value]:
        del example.features.feature[name]
    return example.SerializeToString(deterministic=True)


def test_tfx_csv_example_gens_examples_with_empty_cells_left_out_split_4_to_1(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_example_gen, "CHUNK_BYTES", 8 << 10)  # many ranges per file
    data = tmp_path / "data"
    data.mkdir()
    taxi = taxi_rows(600)
    write_rows(str(data), taxi[:301], name="a.csv")
    write_rows(str(data), [taxi[0]] + taxi[301:], name="b.csv")
    theirs = _run(tfx_csv.Executor, str(data), str(tmp_path / "tfx"))
    ours = _run(csv_example_gen.Executor, str(data), str(tmp_path / "ours"))
    assert ours.split_names == theirs.split_names == '["train", "eval"]'
    expected = sorted(_without_empty_features(e) for split in ("train", "eval")
                      for e in _split_examples(theirs.uri, split))
    train, evaluation = _split_examples(ours.uri, "train"), _split_examples(ours.uri, "eval")
    assert sorted(train + evaluation) == expected and len(expected) == 600
    assert expected != sorted(e for split in ("train", "eval") for e in _split_examples(theirs.uri, split))
    assert 0.7 < len(train) / len(expected) < 0.9  # TFX's hash split of the (shorter) bytes
    assert ours.get_string_custom_property("payload_format") == "FORMAT_TF_EXAMPLE"
    assert ours.get_string_custom_property("file_format") == "tfrecords_gzip"


def test_type_inference_sees_every_range(tmp_path, monkeypatch):
    """A text value in the last range of a numeric column makes the whole column text, as in TFX:
    the data gate then reports the wrong type instead of losing the value."""
    monkeypatch.setattr(csv_example_gen, "CHUNK_BYTES", 1 << 10)
    rows = taxi_rows(200)
    fare = rows[0].index("fare")
    rows[-1][fare] = "twelve"
    data = tmp_path / "data"
    data.mkdir()
    write_rows(str(data), rows)
    ours = _run(csv_example_gen.Executor, str(data), str(tmp_path / "ours"))
    examples = [tf.train.Example.FromString(e)
                for split in ("train", "eval") for e in _split_examples(ours.uri, split)]
    assert len(examples) == 200
    kinds = {e.features.feature["fare"].WhichOneof("kind") for e in examples}
    assert kinds == {"bytes_list"}


def test_an_output_format_it_cannot_write_is_refused_by_name(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_rows(str(data), taxi_rows(10))
    with pytest.raises(ValueError, match="FILE_FORMAT_PARQUET.*gzipped TFRecords only"):
        _run(csv_example_gen.Executor, str(data), str(tmp_path / "ours"),
             example_gen_pb2.FILE_FORMAT_PARQUET)
    assert not (tmp_path / "ours").exists()


def test_a_csv_saved_by_excel_or_r_gives_the_same_examples_as_the_plain_file(tmp_path):
    """Every field quoted (R's write.csv, pandas' QUOTE_ALL), a UTF-8 byte-order mark and CRLF line
    ends (Excel's "CSV UTF-8"): TFX's header parse named the first column '\\ufeff"pickup..."'."""
    rows = taxi_rows(200)
    plain, saved = tmp_path / "plain", tmp_path / "saved"
    plain.mkdir()
    saved.mkdir()
    write_rows(str(plain), rows)
    public_datasets.save_as_excel_does(str(saved / "data.csv"), rows)
    ours = _run(csv_example_gen.Executor, str(plain), str(tmp_path / "plain_examples"))
    theirs = _run(csv_example_gen.Executor, str(saved), str(tmp_path / "saved_examples"))
    for split in ("train", "eval"):
        assert _split_examples(theirs.uri, split) == _split_examples(ours.uri, split)
    [example] = _split_examples(ours.uri, "eval")[:1]
    assert set(tf.train.Example.FromString(example).features.feature) <= set(rows[0])


def test_whole_numbers_are_read_as_the_type_the_schema_declares_however_pandas_wrote_them(tmp_path):
    """A span where pandas wrote the INT column trip_seconds as floats (`540.0`: it had a gap) and
    the FLOAT column fare without fractions (`12`): TFX types such a span's columns FLOAT and INT, and
    the gate would refuse a type change no one made. A fraction in an INT column stays a float."""
    rows = taxi_rows(300)
    seconds, fare = rows[0].index("trip_seconds"), rows[0].index("fare")
    for row in rows[1:]:
        row[seconds] = f"{float(row[seconds])}" if row[seconds] else ""
        row[fare] = f"{round(float(row[fare]))}" if row[fare] else ""
    data = tmp_path / "data"
    write_rows(str(data), rows)
    config = csv_example_gen.custom_config(["NA"], schema_text.read(TAXI_SCHEMA))
    examples = [tf.train.Example.FromString(e) for e in _all_examples(
        _run(csv_example_gen.Executor, str(data), str(tmp_path / "ours"), custom_config=config))]
    written = {int(float(row[seconds])) for row in rows[1:] if row[seconds]}
    assert {v for e in examples for v in e.features.feature["trip_seconds"].int64_list.value} == written
    assert all(not e.features.feature["trip_seconds"].float_list.value for e in examples)
    assert {e.features.feature["fare"].WhichOneof("kind") for e in examples} == {"float_list"}
    undeclared = _all_examples(_run(csv_example_gen.Executor, str(data), str(tmp_path / "tfx_types")))
    assert {tf.train.Example.FromString(e).features.feature["fare"].WhichOneof("kind")
            for e in undeclared} == {"int64_list"}

    rows[5][seconds] = "540.5"
    write_rows(str(data), rows)
    examples = [tf.train.Example.FromString(e) for e in _all_examples(
        _run(csv_example_gen.Executor, str(data), str(tmp_path / "fraction"), custom_config=config))]
    kinds = {e.features.feature["trip_seconds"].WhichOneof("kind") for e in examples}
    assert "float_list" in kinds and "int64_list" not in kinds


def _all_examples(artifact):
    return [e for split in ("train", "eval") for e in _split_examples(artifact.uri, split)]
