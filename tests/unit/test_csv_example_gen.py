"""The chunked CSV executor: record-aligned ranges, and the same examples and splits as TFX's own."""
import csv
import glob
import io
import os

import pytest
import tensorflow as tf
from tfx.components.example_gen.csv_example_gen import executor as tfx_csv
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from benchmarks import public_datasets
from pipeline import csv_example_gen, profiles
from tests.bad_data import taxi_rows

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


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def _records(path, chunk_bytes):
    ranges = list(csv_example_gen.plan_ranges(path, chunk_bytes))
    return ranges, [r for byte_range in ranges for r in csv_example_gen.read_records(byte_range)]


@pytest.mark.parametrize("chunk_bytes", [1, 20, 1 << 20])
def test_ranges_cover_every_record_once_keep_quoted_line_breaks_whole_and_know_their_line(tmp_path, chunk_bytes):
    path = str(tmp_path / "data.csv")
    _write(path, TRICKY_ROWS)
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
        list(csv_example_gen.plan_ranges(str(path), 4))


def _run(executor_class, input_base, output_uri,
         file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP):
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
    _write(str(data / "a.csv"), taxi[:301])
    _write(str(data / "b.csv"), [taxi[0]] + taxi[301:])
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
    _write(str(data / "data.csv"), rows)
    ours = _run(csv_example_gen.Executor, str(data), str(tmp_path / "ours"))
    examples = [tf.train.Example.FromString(e)
                for split in ("train", "eval") for e in _split_examples(ours.uri, split)]
    assert len(examples) == 200
    kinds = {e.features.feature["fare"].WhichOneof("kind") for e in examples}
    assert kinds == {"bytes_list"}


def test_an_output_format_it_cannot_write_is_refused_by_name(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _write(str(data / "data.csv"), taxi_rows(10))
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
    _write(str(plain / "data.csv"), rows)
    public_datasets.save_as_excel_does(str(saved / "data.csv"), rows)
    ours = _run(csv_example_gen.Executor, str(plain), str(tmp_path / "plain_examples"))
    theirs = _run(csv_example_gen.Executor, str(saved), str(tmp_path / "saved_examples"))
    for split in ("train", "eval"):
        assert _split_examples(theirs.uri, split) == _split_examples(ours.uri, split)
    [example] = _split_examples(ours.uri, "eval")[:1]
    assert set(tf.train.Example.FromString(example).features.feature) <= set(rows[0])
