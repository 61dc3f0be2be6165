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
@pytest.mark.parametrize("command", ["run", "validate", "schema-diff", "calibrate"])
def test_a_schema_broken_by_hand_is_named_in_one_line_by_every_command(tmp_path, capsys, old, new, named, command):
    from cli import main as cli

    schema = _taxi_schema_edited(tmp_path, old, new)
    argv = {"run": ["run", "--work-dir", str(tmp_path / "work")], "calibrate": ["calibrate"]}.get(
        command, [command, TAXI_CSV])
    assert cli.main([*argv, "--schema", schema]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: schema file {schema}") and error.count("\n") == 1
    assert re.search(named, error)
    work = tmp_path / "work"  # a run takes its lock and log folder, then refuses before it starts
    assert {p.name for p in work.iterdir()} <= {"locks", "logs"} if work.exists() else True
    assert open(schema, encoding="utf-8").read().count(new) == 1  # calibrate wrote nothing


def test_a_missing_schema_file_says_how_to_get_one(tmp_path):
    with pytest.raises(schema_text.SchemaFileError, match=r"nope\.pbtxt does not exist: `tfxpipe init` drafts one"):
        schema_text.read(str(tmp_path / "nope.pbtxt"))
