"""`runs show` takes a run id as `runs` prints it or as its report file is named (pipeline/runs.py)."""
import datetime
import json
import os
import time

import ml_metadata as mlmd
import pytest
from ml_metadata.proto import metadata_store_pb2

from cli import main as cli
from pipeline import lineage, run_report, run_summary, runs, work_dir

RUN_ID = "2026-12-02T04:49:06.890538"


@pytest.mark.parametrize("given", [RUN_ID, "2026-12-02T04-49-06.890538",
                                   run_report.path_for("work/reports/taxi", RUN_ID)])
def test_a_run_id_is_read_from_the_report_file_name_too(given):
    assert runs.run_id_of(given) == RUN_ID


def _record(pusher_state: str) -> runs.RunRecord:
    summary = run_summary.RunSummary("run", {"Pusher": [pusher_state]}, blessed=True, pushed=True,
                                     pushed_version="1701", pushed_destination="serving/taxi/1701")
    return runs.RunRecord(run_id="run", started=datetime.datetime(2026, 12, 2), seconds=5.0,
                          status="ok", spans=[1], gate="passed", model_id=3, failed_node=None,
                          failure="", summary=summary, evaluation=None)


def test_a_run_whose_pusher_was_cached_pushed_no_version_of_its_own():
    assert _record("executed").pushed_version == "1701"
    assert _record("cached").pushed_version is None  # 1701 was pushed by an earlier run
    judged_again = _record("executed")
    judged_again.summary.already_served = True  # the Pusher ran, and found its model served already
    assert judged_again.pushed_version is None and not judged_again.summary.pushed_by_this_run


def _properties(message, **values):
    for name, value in values.items():
        if isinstance(value, int):
            message.custom_properties[name].int_value = value
        else:
            message.custom_properties[name].string_value = value
    return message


def test_the_lineage_names_the_files_a_cached_example_gen_read_with_its_span_filled_in():
    # A cached execution keeps its properties as compiled; the Examples it points to hold the span
    # and TFX's fingerprint (here of two splits, one line each).
    splits = {"splits": [{"name": "data", "pattern": "span-{SPAN}/*"}]}
    compiled = _properties(metadata_store_pb2.Execution(), input_base="/data",
                           input_config=json.dumps(splits))
    examples = _properties(metadata_store_pb2.Artifact(), span=2, input_fingerprint=(
        "split:train,num_files:2,total_bytes:1500000,xor_checksum:1,sum_checksum:1\n"
        "split:eval,num_files:1,total_bytes:500000,xor_checksum:2,sum_checksum:2"))
    read = lineage._data_read  # pylint: disable=protected-access
    assert read(compiled, examples) == "data /data/span-2/* (3 files, 2.0 MB)"
    assert read(compiled, None) == "data /data/span-{SPAN}/*", "it wrote no Examples: as compiled"


def test_the_spans_of_a_training_window_are_shown_as_ranges():
    assert runs.span_text([4, 2, 1]) == "1,2,4"
    assert runs.span_text([5, 1, 2, 3, 7, 8, 9, 10]) == "1-3,5,7-10"
    assert runs.span_text([0]) == "0" and runs.span_text([]) == "-"


def test_a_span_excluded_by_hand_is_starred_in_the_run_table_and_the_star_explained():
    assert runs.span_text([1, 2, 3, 4, 5, 6], starred=(4,)) == "1-3,4*,5,6"
    assert runs.span_text([2], starred=(2,)) == "2*"
    excluded, kept = _record("executed"), _record("executed")
    excluded.excluded_spans = (1,)
    from models.dataset import Task  # pylint: disable=import-outside-toplevel

    table = runs.render_table([excluded, kept], Task.BINARY).splitlines()
    assert table[2].split()[5] == "1*" and table[3].split()[5] == "1" and table[-1] == runs.EXCLUDED_NOTE
    assert runs.EXCLUDED_NOTE not in runs.render_table([kept], Task.BINARY)
    window = _record("executed")
    window.spans, window.excluded_spans = [1, 2, 3, 4, 5, 6], (4,)
    header, _, row, kept_row, _ = runs.render_table([window, kept], Task.BINARY).splitlines()
    assert row.split()[5] == "1-3,4*,5,6"
    assert header.index(" gate ") == row.index(" passed ") == kept_row.index(" passed "), (header, row)


def test_the_run_table_keeps_its_columns_aligned_whatever_the_width_of_a_metric():
    """A regression run's rmse with its change (house prices: `24,302.746 (+1,017.949)`) is wider than
    the column's header."""
    from models.dataset import Task  # pylint: disable=import-outside-toplevel

    wide = _record("executed")
    wide.values, wide.changes = {"rmse": 24302.746, "skill_vs_naive": 0.871}, {"rmse": 1017.949, "skill_vs_naive": -0.0125}
    narrow = _record("cached")
    lines = runs.render_table([wide, narrow], Task.REGRESSION).splitlines()
    header, wide_row, narrow_row = lines[0], lines[2], lines[3]
    assert header.index("blessed") == wide_row.index(" yes ") + 1 == narrow_row.index(" yes ") + 1, \
        "\n".join(lines)
    assert len(wide_row.split()[8] + wide_row.split()[9]) > 17, wide_row  # wider than the old fixed column


def test_a_refusal_is_recorded_under_the_contexts_tfx_registers_for_the_pipeline_and_its_runs(tmp_path):
    """The first run of a pipeline may be refused before TFX ever wrote to the store: the contexts
    recorded then are the ones TFX finds and reuses when the next run starts."""
    from tfx.orchestration import metadata  # pylint: disable=import-outside-toplevel
    from tfx.orchestration.portable.mlmd import context_lib  # pylint: disable=import-outside-toplevel

    from pipeline import metadata_store  # pylint: disable=import-outside-toplevel

    uri = metadata_store.sqlite_uri(str(tmp_path / "metadata.sqlite"))
    store = metadata_store.open_store(uri, writable=True)
    run_summary.record_refusal(store, "taxi", RUN_ID, "data /d does not exist", "/d")
    run_summary.record_refusal(store, "taxi", "2026-12-03T00:00:00.000001", "again", "/d/span-4", 4)
    with metadata.Metadata(metadata.sqlite_metadata_connection_config(str(tmp_path / "metadata.sqlite"))) as handle:
        pipeline = context_lib.register_context_if_not_exists(handle, "pipeline", "taxi")
        run = context_lib.register_context_if_not_exists(handle, "pipeline_run", RUN_ID)
    assert pipeline.id == store.get_context_by_type_and_name("pipeline", "taxi").id
    assert run.id == store.get_context_by_type_and_name("pipeline_run", RUN_ID).id
    assert len(store.get_executions_by_context(pipeline.id)) == 2, "both refusals are the pipeline's"
    first, second = (runs.record(store, run_id) for run_id in run_summary.run_ids(store))
    assert (first.status, first.spans, first.failure) == ("refused", [], "data /d does not exist")
    assert (second.status, second.spans, second.failure) == ("refused", [4], "again")


def test_a_store_shared_by_two_pipelines_lists_each_pipelines_runs_only(tmp_path):
    """A team's metadata server holds every pipeline's runs: `runs`, `runs show`'s latest run and
    `resume` read the pipeline's own: the pipeline_run contexts TFX links to its pipeline context,
    and its refused runs, which are no child of it (TFX's partial run would take the newest child
    as the run to resume, and a refused run has no outputs to reuse)."""
    from tfx.orchestration import metadata  # pylint: disable=import-outside-toplevel
    from tfx.orchestration.portable.mlmd import context_lib  # pylint: disable=import-outside-toplevel
    from tfx.proto.orchestration import pipeline_pb2  # pylint: disable=import-outside-toplevel

    from pipeline import metadata_store  # pylint: disable=import-outside-toplevel

    path = str(tmp_path / "metadata.sqlite")
    store = metadata_store.open_store(metadata_store.sqlite_uri(path), writable=True)
    ids = [f"2026-12-06T01:0{i}:00.000001" for i in range(4)]
    run_summary.record_refusal(store, "taxi", ids[0], "data /t does not exist", "/t")
    run_summary.record_refusal(store, "penguins", ids[1], "data /p does not exist", "/p")
    contexts = pipeline_pb2.NodeContexts()
    for type_name, name in (("pipeline", "penguins"), ("pipeline_run", ids[2]), ("node", "penguins.Trainer")):
        spec = contexts.contexts.add()
        spec.type.name, spec.name.field_value.string_value = type_name, name
    with metadata.Metadata(metadata.sqlite_metadata_connection_config(path)) as handle:
        context_lib.prepare_contexts(handle, contexts)  # what TFX registers when a run starts
    run_summary.record_refusal(store, "taxi", ids[3], "again", "/t")
    assert run_summary.run_ids(store, "taxi") == [ids[0], ids[3]]
    assert run_summary.run_ids(store, "penguins") == [ids[1], ids[2]]
    assert run_summary.run_ids(store, "iris") == []
    assert [r.run_id for r in runs.records(store, "taxi")] == [ids[3], ids[0]]
    assert run_summary.run_ids(store) == ids  # every run in the store
    penguins = store.get_context_by_type_and_name("pipeline", "penguins")
    assert [c.name for c in store.get_children_contexts_by_context(penguins.id)] == [ids[2]]


def test_a_work_dir_holding_another_stores_outputs_is_told_from_one_that_holds_none_yet(tmp_path):
    """TFX's outputs are <component>/<key>/<execution id>/ folders; this project's copy of the curated
    schema is written before any execution, and a refused run writes nothing: neither makes a work
    dir another store's."""
    from pipeline import metadata_store  # pylint: disable=import-outside-toplevel

    root, uri = tmp_path / "pipelines" / "taxi", metadata_store.sqlite_uri(str(tmp_path / "m.sqlite"))
    (root / "curated_schema" / "0123abcd").mkdir(parents=True)
    (root / "curated_schema" / "0123abcd" / "schema.pbtxt").write_text("")
    assert work_dir.foreign_outputs(uri, "taxi", str(root)) is None
    (root / "CsvExampleGen" / "examples" / "1").mkdir(parents=True)
    assert "holds outputs of pipeline 'taxi' that no run recorded in" in work_dir.foreign_outputs(uri, "taxi", str(root))
    run_summary.record_refusal(metadata_store.open_store(uri, writable=True), "taxi", "2026-12-06T01:00:00.000001",
                               "data /t does not exist", "/t")
    assert work_dir.foreign_outputs(uri, "taxi", str(root)) is not None  # a refusal made no outputs


def test_a_stop_abandons_what_it_ended_and_keeps_a_failure_recorded_before_it(tmp_path):
    """Beam wraps a Ctrl-C in a RuntimeError and TFX records the component FAILED; a second Ctrl-C
    can cut the unwinding short. What failed after the stop was asked was ended by it; a failure
    recorded before it (the user pressed Ctrl-C while a real failure unwound) stays a failure."""
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(tmp_path / "metadata.sqlite")
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    store = mlmd.MetadataStore(config)
    run = metadata_store_pb2.Context(name=RUN_ID, type_id=store.put_context_type(
        metadata_store_pb2.ContextType(name="pipeline_run")))
    [run.id] = store.put_contexts([run])
    component = store.put_execution_type(metadata_store_pb2.ExecutionType(name="Component"))
    states = metadata_store_pb2.Execution

    def record(state) -> int:
        [execution_id] = store.put_executions([states(type_id=component, last_known_state=state)])
        store.put_attributions_and_associations([], [metadata_store_pb2.Association(
            context_id=run.id, execution_id=execution_id)])
        return execution_id

    failed_before, finished = record(states.FAILED), record(states.COMPLETE)
    time.sleep(0.01)
    stopped_at = time.time()
    running, failed_after = record(states.RUNNING), record(states.FAILED)
    run_summary.mark_stopped(store, RUN_ID, stopped_at)
    state = {e.id: e.last_known_state for e in store.get_executions_by_context(run.id)}
    assert state == {failed_before: states.FAILED, finished: states.COMPLETE,
                     running: states.CANCELED, failed_after: states.CANCELED}
    run_summary.mark_stopped(store, RUN_ID)  # no time known (no handler of ours caught it): unfinished only
    assert store.get_executions_by_id([failed_before])[0].last_known_state == states.FAILED


def test_runs_of_a_pipeline_with_none_names_the_pipelines_of_the_work_dir_that_have_some(tmp_path, capsys):
    """`runs` without --dataset reads the default dataset's pipeline: where it has none, the user
    ran another dataset, and is told which, not only that nothing was recorded."""
    work = tmp_path / "work"
    assert cli.main(["runs", "--work-dir", str(work)]) == 1
    assert capsys.readouterr().out.strip().endswith("metadata.sqlite")  # no runs at all: nothing to name
    for name in ("wine", "digits"):
        os.makedirs(work / "metadata" / name)
        config = metadata_store_pb2.ConnectionConfig()
        config.sqlite.filename_uri = str(work / "metadata" / name / "metadata.sqlite")
        config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        mlmd.MetadataStore(config)
    assert cli.main(["runs", "--work-dir", str(work)]) == 1
    assert "this work dir has runs of pipeline(s) digits, wine: `tfxpipe runs --pipeline-name NAME`" in \
        capsys.readouterr().out


def test_an_option_runs_does_not_take_is_named_not_read_as_its_show_word(tmp_path, capfd):
    """`runs --serving-dir DIR`, pasted with a run's options, once said "invalid choice: DIR"."""
    with pytest.raises(SystemExit):
        cli.main(["runs", "--work-dir", str(tmp_path), "--serving-dir", str(tmp_path / "serving")])
    assert "unrecognized arguments: --serving-dir" in capfd.readouterr().err
    assert cli.main(["runs", "lineage", "2026-12-07T10:00:00"]) == 1
    assert "`tfxpipe runs show [RUN_ID]` shows one, not 'lineage'" in capfd.readouterr().err


def test_a_work_dir_moved_under_another_path_is_refused_naming_both_paths(tmp_path):
    """ML Metadata records outputs by absolute path: after `mv work moved`, the next run's data gate
    once crashed on the drift reference's old path, and was listed as stopped by the gate."""
    from pipeline import metadata_store  # pylint: disable=import-outside-toplevel

    old_work, new_work = tmp_path / "work", tmp_path / "moved"
    old_root, new_root = old_work / "pipelines" / "taxi", new_work / "pipelines" / "taxi"
    output = old_root / "StatisticsGen" / "statistics" / "4"
    output.mkdir(parents=True)
    uri = metadata_store.sqlite_uri(str(tmp_path / "m.sqlite"))
    store = metadata_store.open_store(uri, writable=True)
    pipeline = metadata_store_pb2.Context(
        name="taxi", type_id=store.put_context_type(metadata_store_pb2.ContextType(name="pipeline")))
    pipeline.id = store.put_contexts([pipeline])[0]
    statistics = metadata_store_pb2.Artifact(
        uri=str(output), type_id=store.put_artifact_type(metadata_store_pb2.ArtifactType(name="ExampleStatistics")))
    statistics.id = store.put_artifacts([statistics])[0]
    store.put_attributions_and_associations(
        [metadata_store_pb2.Attribution(artifact_id=statistics.id, context_id=pipeline.id)], [])
    assert work_dir.moved_outputs(uri, "taxi", str(old_root)) is None
    os.rename(old_work, new_work)
    said = work_dir.moved_outputs(uri, "taxi", str(new_root))
    assert f"records the outputs of pipeline 'taxi' under {old_root}, which this machine does not have" in said
    assert f"`mkdir -p {tmp_path} && ln -s {new_work} {old_work}`" in said
    assert work_dir.moved_outputs(uri, "penguins", str(new_root)) is None  # no output of that pipeline


@pytest.mark.parametrize("reason, status, gate", [
    (None, "stopped by gate", "FAILED"),  # the gate's own verdict, as runner.run records it
    ("FileNotFoundError: /old/work/pipelines/taxi/StatisticsGen/statistics/4", "failed", "error"),
])
def test_a_data_gate_that_crashed_is_listed_as_failed_not_as_stopped_by_the_gate(tmp_path, reason, status, gate):
    """A DataGate that crashed (its drift reference gone after the work dir moved) was once listed as
    "stopped by gate", and `resume` told the user to correct data that was fine."""
    from tfx.orchestration import metadata  # pylint: disable=import-outside-toplevel
    from tfx.orchestration.portable.mlmd import context_lib  # pylint: disable=import-outside-toplevel
    from tfx.proto.orchestration import pipeline_pb2  # pylint: disable=import-outside-toplevel

    from pipeline import metadata_store  # pylint: disable=import-outside-toplevel
    from schema import checks, report  # pylint: disable=import-outside-toplevel

    path = str(tmp_path / "metadata.sqlite")
    contexts = pipeline_pb2.NodeContexts()
    for type_name, name in (("pipeline", "taxi"), ("pipeline_run", RUN_ID), ("node", "taxi.DataGate")):
        spec = contexts.contexts.add()
        spec.type.name, spec.name.field_value.string_value = type_name, name
    with metadata.Metadata(metadata.sqlite_metadata_connection_config(path)) as handle:
        registered = context_lib.prepare_contexts(handle, contexts)
    store = metadata_store.open_store(metadata_store.sqlite_uri(path), writable=True)
    execution = metadata_store_pb2.Execution(
        type_id=store.put_execution_type(metadata_store_pb2.ExecutionType(name="pipeline.gate.DataGate")),
        last_known_state=metadata_store_pb2.Execution.FAILED)
    store.put_execution(execution, [], registered)
    finding = checks.Finding("fare", checks.WRONG_TYPE, "Cells are text.", "FLOAT", "BYTES")
    verdict = report.render_text([finding], f"{run_summary.GATE_VERDICT_TITLE}, span 3)")
    run_summary.record_failure(store, RUN_ID, "DataGate", reason or verdict)
    record = runs.record(store, RUN_ID)
    assert (record.status, record.gate, record.failed_node) == (status, gate, "DataGate")
