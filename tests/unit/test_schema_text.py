import re

import pytest

from schema import schema_text
from tests.conftest import TAXI_CSV, TAXI_SCHEMA


def _taxi_schema_edited(tmp_path, old: str, new: str) -> str:
    text = open(TAXI_SCHEMA, encoding="utf-8").read()
    assert old in text
    path = tmp_path / "schema.pbtxt"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return str(path)


def test_the_curated_schema_reads_as_tfdv_reads_it():
    import tensorflow_data_validation as tfdv

    assert schema_text.read(TAXI_SCHEMA) == tfdv.load_schema_text(TAXI_SCHEMA)


@pytest.mark.parametrize("old, new, named", [
    ("  type: FLOAT\n", "  type: FLOATING\n", r"line \d+ is not TFDV's schema text format \(.*FLOATING"),
    ("  presence {\n", "  presense {\n", r"line \d+ is not TFDV's schema text format \(.*presense"),
    ("quantile_histogram_buckets: 100", "quantile_histogram_buckets: many",
     r"'quantile_histogram_buckets: many' needs a whole number of buckets"),
])
@pytest.mark.parametrize("command", ["run", "validate", "schema-diff", "calibrate", "score", "predict", "monitor"])
def test_a_schema_broken_by_hand_is_named_in_one_line_by_every_command(tmp_path, capsys, old, new, named, command):
    from cli import main as cli

    schema = _taxi_schema_edited(tmp_path, old, new)
    written = open(schema, encoding="utf-8").read()
    (tmp_path / "requests").mkdir()
    argv = {"run": ["run", "--work-dir", str(tmp_path / "work")], "calibrate": ["calibrate", "--write"],
            "monitor": ["monitor", "--request-log", str(tmp_path / "requests")]}.get(command, [command, TAXI_CSV])
    assert cli.main([*argv, "--schema", schema]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: schema file {schema}") and error.count("\n") == 1
    assert re.search(named, error)
    work = tmp_path / "work"  # a run takes its lock and log folder, then refuses before it starts
    assert {p.name for p in work.iterdir()} <= {"locks", "logs"} if work.exists() else True
    assert open(schema, encoding="utf-8").read() == written  # calibrate --write left it as it was


@pytest.mark.parametrize("content, named", [
    (None, r"does not exist: `tfxpipe init` drafts one"),
    (b"", r"declares no feature"),
    (b"# only a comment\n", r"declares no feature"),
    (b"\x0a\x0b\xff\xfe binary", r"is not text \(a binary schema\?\)"),
    (b"feature { name: 'a' type: FLOAT }\nfeature {", r"line \d+ is not TFDV's schema text format"),
])
def test_a_schema_file_that_cannot_be_read_says_why(tmp_path, content, named):
    path = tmp_path / "schema.pbtxt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(schema_text.SchemaFileError, match=named):
        schema_text.read(str(path))


def test_a_folder_given_as_the_schema_is_named_as_one(tmp_path):
    with pytest.raises(schema_text.SchemaFileError, match="is a folder: give the schema.pbtxt file in it"):
        schema_text.read(str(tmp_path))


def test_a_malformed_bucket_tag_is_named_with_its_line(tmp_path):
    path = _taxi_schema_edited(tmp_path, "quantile_histogram_buckets: 100", "quantile_histogram_buckets: 1")
    line = next(n for n, text in enumerate(open(path, encoding="utf-8"), 1) if "quantile_histogram_buckets" in text)
    with pytest.raises(schema_text.SchemaFileError, match=rf"schema.pbtxt, line {line}: .*at least 2: give the count"):
        schema_text.read(path)
