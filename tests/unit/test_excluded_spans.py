"""A span excluded by hand stays out of use while its files are unchanged, also once its data
folder is moved (ExampleGen then reads it afresh, and the gate passed it before)."""
import copy
import os

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2
from tfx.components.example_gen import utils as example_gen_utils

from cli import main as cli
from pipeline import configs, excluded_spans, metadata_store, pipeline, runner
from pipeline.configs import PipelineConfig
from tests.bad_data import taxi_rows, write_rows


def _store(tmp_path) -> mlmd.MetadataStore:
    """The store `tfxpipe` reads for the taxi pipeline under the work dir `tmp_path/work`."""
    path = PipelineConfig(work_dir=str(tmp_path / "work")).resolved().metadata_path
    os.makedirs(os.path.dirname(path))
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return mlmd.MetadataStore(config)


def _read_by_example_gen(store, data_root: str):
    """What CsvExampleGen records for the newest span of `data_root`: its Examples (span and
    fingerprint) as the output of an execution that read `data_root`."""
    base, input_config = pipeline.example_gen_input(PipelineConfig(data_root=data_root).resolved())
    fingerprint, span, _ = example_gen_utils.calculate_splits_fingerprint_span_and_version(
        base, copy.deepcopy(input_config).splits)  # it fills the span into the pattern it is given
    artifact = metadata_store_pb2.Artifact(
        type_id=store.put_artifact_type(metadata_store_pb2.ArtifactType(name=excluded_spans.EXAMPLES_TYPE)))
    artifact.custom_properties["span"].int_value = span
    artifact.custom_properties[example_gen_utils.FINGERPRINT_PROPERTY_NAME].string_value = fingerprint
    artifact.id = store.put_artifacts([artifact])[0]
    execution = metadata_store_pb2.Execution(
        type_id=store.put_execution_type(metadata_store_pb2.ExecutionType(name="CsvExampleGen")))
    execution.custom_properties["input_base"].string_value = base
    [execution_id] = store.put_executions([execution])
    store.put_events([metadata_store_pb2.Event(artifact_id=artifact.id, execution_id=execution_id,
                                               type=metadata_store_pb2.Event.OUTPUT)])
    return artifact, input_config


def test_a_moved_folder_of_an_excluded_span_is_refused_naming_where_it_was_excluded(tmp_path, capsys):
    store = _store(tmp_path)
    old, moved = str(tmp_path / "feed"), str(tmp_path / "archive" / "feed")
    write_rows(os.path.join(old, "span-2"), taxi_rows(50))
    artifact, input_config = _read_by_example_gen(store, old)
    excluded_spans.mark(store, old, 2, [artifact], "labels shuffled by a broken join")
    said = excluded_spans.refusal(store, old, input_config, " --dataset datasets/feed")
    assert said.startswith(f"span 2 of {old} was excluded by hand (labels shuffled by a broken join) and its files")
    assert said.endswith(f"`tfxpipe exclude-span 2 --undo --dataset datasets/feed --data {old}`"), said

    os.makedirs(os.path.dirname(moved))
    os.rename(old, moved)  # as `mv` and `rsync -a` do: the files' sizes and times are kept

    said = excluded_spans.refusal(store, moved, input_config)
    assert f"span 2 of {moved} was excluded by hand (labels shuffled by a broken join) as span 2 of {old}, " \
           "where its files were, and its files are unchanged since" in said, said
    assert said.endswith(f"`tfxpipe exclude-span 2 --undo --data {old}`"), said
    undo = ["exclude-span", "2", "--undo", "--data", old, "--work-dir", str(tmp_path / "work")]
    assert cli.main(undo) == 0  # as said, though that folder is gone
    assert f"Put back span 2 of {old}" in capsys.readouterr().out
    assert excluded_spans.refusal(store, moved, input_config) == ""
    excluded_spans.mark(store, old, 2, [artifact], "labels shuffled by a broken join")
    with open(os.path.join(moved, "span-2", "data.csv"), "a", encoding="utf-8") as f:
        f.write(",".join(taxi_rows(1)[1]) + "\n")  # corrected: new data, which the gate checks
    assert excluded_spans.refusal(store, moved, input_config) == ""


def test_a_span_is_put_back_though_a_link_now_leads_to_its_folder_by_another_path(tmp_path, capsys):
    """Excluded as span 2 of feed; then feed was moved to archive and feed made a link to it: the
    undo (feed now resolves to archive) empties the exclusion made under the old path too."""
    store = _store(tmp_path)
    old, moved = str(tmp_path / "feed"), str(tmp_path / "archive")
    write_rows(os.path.join(old, "span-2"), taxi_rows(50))
    artifact, input_config = _read_by_example_gen(store, old)
    excluded_spans.mark(store, old, 2, [artifact], "a test feed")
    os.rename(old, moved)
    os.symlink(moved, old)
    said = excluded_spans.refusal(store, old, input_config)
    assert "where its files were" not in said and said.endswith(f"`tfxpipe exclude-span 2 --undo --data {old}`"), said
    assert cli.main(["exclude-span", "2", "--undo", "--data", old, "--work-dir", str(tmp_path / "work")]) == 0
    assert excluded_spans.refusal(store, old, input_config) == "" and excluded_spans.reasons(store) == {}


def test_the_undo_command_reads_the_runs_store_and_never_carries_its_password(tmp_path, monkeypatch):
    """A run on a metadata server suggests an undo that reads that server: its password stays out of
    the message; the file the run was given it in is named again."""
    config = PipelineConfig(dataset_dir="datasets/taxi", work_dir=str(tmp_path / "my work"),
                            metadata="postgresql://tfx:secret@db.internal:5432/mlmd").resolved()
    monkeypatch.delenv(metadata_store.PASSWORD_FILE_VARIABLE, raising=False)
    options = configs.store_options(config)
    assert "secret" not in options and "--metadata postgresql://tfx@db.internal:5432/mlmd" in options
    assert f"--work-dir '{tmp_path / 'my work'}'" in options  # quoted for the shell
    monkeypatch.setenv(metadata_store.PASSWORD_FILE_VARIABLE, str(tmp_path / "pw"))
    assert configs.store_options(config).endswith(f" --metadata-password-file {tmp_path / 'pw'}")


def test_spans_that_arrived_together_are_named_as_not_read_when_the_run_reads_only_the_newest(tmp_path, capsys):
    """Spans 2 and 3 dropped in at once (catching up after an outage): a run reads span 3, and span 2
    would go unchecked and untrained without a word."""
    store = _store(tmp_path)
    feed = str(tmp_path / "feed")
    write_rows(os.path.join(feed, "span-1"), taxi_rows(50))
    assert excluded_spans.passed_over(store, feed) == []  # no run read a span here yet: none passed over
    assert excluded_spans.passed_over_warning(store, feed) is None  # one span: nothing left unread
    write_rows(os.path.join(feed, "span-0"), taxi_rows(50))  # history delivered with it
    first = " ".join(excluded_spans.passed_over_warning(store, feed).split())
    assert first.startswith(f"note: this first run on {feed} reads its newest span, 1; span(s) 0 are not read"), first
    _read_by_example_gen(store, feed)
    for span in (2, 3):
        write_rows(os.path.join(feed, f"span-{span}"), taxi_rows(50))
    config = PipelineConfig(work_dir=str(tmp_path / "work"), data_root=feed, serving_dir=str(tmp_path / "serving"))
    runner.check_inputs(config.resolved())
    assert f"warning: span(s) 2 of {feed} are not read: a run reads the newest span, 3, so no gate checks " \
           "them and no model trains on them (they arrived since the last run)" in " ".join(capsys.readouterr().err.split())
    _read_by_example_gen(store, feed)  # span 3 read: span 2 stays passed over
    assert excluded_spans.passed_over(store, feed) == []  # older than the newest read: history, not news
    # The gate stopped span 3 (accepted: 1); corrected, it arrives with span 4: a run reads 4 alone.
    write_rows(os.path.join(feed, "span-4"), taxi_rows(50))
    assert excluded_spans.passed_over(store, feed, accepted={1}) == [2, 3]
    said = " ".join(excluded_spans.passed_over_warning(store, feed, accepted={1}).split())
    assert said.startswith(f"warning: span(s) 2, 3 of {feed} are not read: a run reads the newest span, 4") and \
        "(span(s) 3 did not pass the data gate when read: corrected since or not, no run reads them again)" in said, said
    excluded_spans.mark(store, feed, 3, excluded_spans.read_from(store, feed)[3], "labels from a broken join")
    assert excluded_spans.passed_over(store, feed, accepted={1}) == [2], "excluded by hand: not passed over"
