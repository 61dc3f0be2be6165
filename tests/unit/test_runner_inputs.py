import csv
import dataclasses
import os
import re

import pytest

from pipeline import pipeline, run_details, run_summary, runner
from pipeline.configs import PipelineConfig
from tests.conftest import TAXI_CSV


def test_missing_data_folder_is_named(tmp_path):
    config = PipelineConfig(data_root=str(tmp_path / "nope"), work_dir=str(tmp_path / "work")).resolved()
    with pytest.raises(runner.PipelineFailed, match=r"data .*nope does not exist: give a CSV file"):
        runner.check_inputs(config)


def test_empty_data_folder_is_refused(tmp_path):
    (tmp_path / ".hidden").write_text("x")
    with pytest.raises(runner.PipelineFailed, match="holds no CSV files"):
        runner.check_inputs(PipelineConfig(data_root=str(tmp_path), work_dir=str(tmp_path / "work")).resolved())


def test_missing_schema_is_named(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    config = PipelineConfig(data_root=str(tmp_path), schema_file=str(tmp_path / "s.pbtxt"),
                            work_dir=str(tmp_path / "work"))
    with pytest.raises(runner.PipelineFailed, match=r"schema file .*s\.pbtxt does not exist"):
        runner.check_inputs(config.resolved())


def test_a_single_csv_file_is_read_as_the_data(tmp_path):
    data = tmp_path / "trips.csv"
    data.write_text(open(TAXI_CSV, encoding="utf-8").read())
    config = PipelineConfig(data_root=str(data), work_dir=str(tmp_path / "work"),
                            serving_dir=str(tmp_path / "serving")).resolved()
    runner.check_inputs(config)
    base, input_config = pipeline.example_gen_input(config)
    assert (base, input_config.splits[0].pattern) == (str(tmp_path), "trips.csv")


def test_bundled_data_and_schema_pass(tmp_path):
    runner.check_inputs(PipelineConfig(work_dir=str(tmp_path / "work"), serving_dir=str(tmp_path / "serving")).resolved())


def test_a_served_version_no_run_of_this_work_dir_pushed_is_not_replaced_unless_told(tmp_path, capsys):
    """`rm -rf work`, or a colleague's fresh clone beside a shared serving folder: the Evaluator
    finds no served model in the new store, so its candidate would be judged as a first model and
    pushed over the version served, uncompared. A push recorded, or killed after its rename (the
    folder holds a model this store validated), is this store's."""
    from ml_metadata.proto import metadata_store_pb2  # pylint: disable=import-outside-toplevel
    from tfx.utils import path_utils  # pylint: disable=import-outside-toplevel

    from pipeline import metadata_store  # pylint: disable=import-outside-toplevel

    config = PipelineConfig(work_dir=str(tmp_path / "work"), serving_dir=str(tmp_path / "serving")).resolved()
    os.makedirs(os.path.join(config.model_base, "1765000000"))
    (tmp_path / "serving" / "taxi" / "1765000000" / "saved_model.pb").write_bytes(b"served")
    os.makedirs(os.path.join(config.model_base, "1765000009"))  # a push killed before saved_model.pb: not served
    refused = r"serves version 1765000000, which no run recorded in .* pushed"
    with pytest.raises(runner.PipelineFailed, match=refused):
        runner.check_inputs(config)
    runner.check_inputs(dataclasses.replace(config, replace_unrecorded_model=True))
    assert "note: version 1765000000 in " + config.model_base + " was pushed by no run recorded here" \
        in capsys.readouterr().err
    os.makedirs(os.path.dirname(config.metadata_path))
    store = metadata_store.open_store(config.metadata_uri, writable=True)
    blessing = metadata_store_pb2.Artifact(uri=str(tmp_path / "blessing"), type_id=store.put_artifact_type(
        metadata_store_pb2.ArtifactType(name="InfraBlessing")))
    blessing.custom_properties["blessed"].int_value = 1
    store.put_artifacts([blessing])
    stamped = path_utils.stamped_model_path(blessing.uri)
    os.makedirs(stamped)
    with open(os.path.join(stamped, "saved_model.pb"), "wb") as f:
        f.write(b"another model")
    with pytest.raises(runner.PipelineFailed, match=refused):
        runner.check_inputs(config)
    with open(os.path.join(stamped, "saved_model.pb"), "wb") as f:
        f.write(b"served")
    runner.check_inputs(config)  # the push killed after its rename
    os.remove(os.path.join(stamped, "saved_model.pb"))
    pushed = metadata_store_pb2.Artifact(type_id=store.put_artifact_type(metadata_store_pb2.ArtifactType(name="PushedModel")))
    # pushed before the serving folder moved: the same model name and version under another path
    pushed.custom_properties["pushed_destination"].string_value = "/old/serving/taxi/1765000000"
    store.put_artifacts([pushed])
    runner.check_inputs(config)


def test_paths_resolve_against_the_current_directory_not_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = PipelineConfig().resolved()
    assert config.pipeline_root.startswith(str(tmp_path))
    assert config.model_base == str(tmp_path / "serving" / "models" / "taxi")


def test_unknown_or_malformed_hyperparameters_are_named():
    from pipeline.configs import ConfigError, check_hyperparameters
    from models.model import DEFAULT_HYPERPARAMETERS

    assert check_hyperparameters({"learning_rate": 0.1}, DEFAULT_HYPERPARAMETERS) == {"learning_rate": 0.1}
    with pytest.raises(ConfigError, match="unknown hyperparameter.*hidden_unit;"):
        check_hyperparameters({"hidden_unit": [8]}, DEFAULT_HYPERPARAMETERS)
    with pytest.raises(ConfigError, match="must be a JSON object"):
        check_hyperparameters([1, 2], DEFAULT_HYPERPARAMETERS)
    with pytest.raises(ConfigError, match=r"hidden_layers: the declaration's `tuning:` ranges; --hparams sets hidden_units"):
        check_hyperparameters({"hidden_layers": 2}, DEFAULT_HYPERPARAMETERS)


@pytest.mark.parametrize("hparams, message", [
    ({"learning_rate": -1}, "learning_rate must be a number > 0, got -1"),
    ({"learning_rate": "fast"}, "learning_rate must be a number > 0, got 'fast'"),
    ({"dropout": 1.5}, r"dropout must be a number from 0 up to, not including, 1, got 1.5"),
    ({"hidden_units": [64, 0]}, r"hidden_units must be a list of whole numbers >= 1"),
    ({"batch_size": 3.5}, "batch_size must be a whole number >= 1, got 3.5"),
])
def test_a_hyperparameter_value_the_model_cannot_take_is_refused_before_the_run(hparams, message):
    from pipeline.configs import ConfigError, check_hyperparameters
    from models.model import DEFAULT_HYPERPARAMETERS

    with pytest.raises(ConfigError, match=message):
        check_hyperparameters(hparams, DEFAULT_HYPERPARAMETERS)


@pytest.mark.parametrize("argv, message", [
    (["--train-steps", "0"], "--train-steps must be at least 1, got 0"),
    (["--train-steps", "-5"], "--train-steps must be at least 1, got -5"),
    (["--eval-steps", "0"], "--eval-steps must be at least 1, got 0"),
    (["--train-spans", "0"], "--train-spans must be at least 1, got 0"),
    (["--tune-minutes", "-1"], "--tune-minutes must be above 0, got -1"),
    (["--max-drop", "-1"], r"max_drop \(--max-drop\) must be >= 0, got -1"),
    (["--naive-margin", "2"], r"naive_margin \(--naive-margin\) must be below 1, got 2"),
    (["--models", "linear", "--hparams", '{"hidden_units": [8], "learning_rate": 0.01}'],
     r"--hparams hidden_units: the linear model has no hidden layers or embeddings"),
    (["--models", "linear,dnn", "--tune", "--hparams", '{"learning_rate": 0.01}'],
     r"--tune with --hparams learning_rate: nothing is left to search for linear; drop --tune"),
])
def test_run_settings_that_would_train_nothing_or_never_bless_are_refused(argv, message, capsys):
    from cli import main as cli

    assert cli.main(["run", *argv]) == 1
    assert re.search(message, capsys.readouterr().err)


def test_malformed_hparams_json_says_what_to_give(capsys):
    from cli import main as cli

    with pytest.raises(SystemExit):
        cli.main(["run", "--hparams", '{"learning_rate": 0.01'])
    error = capsys.readouterr().err
    assert "--hparams: not valid JSON" in error and "give an object" in error


def test_an_unknown_option_is_refused_with_the_usage_of_its_command(capsys):
    from cli import main as cli

    with pytest.raises(SystemExit) as exited:
        cli.main(["run", "--epochs", "3"])
    error = capsys.readouterr().err
    assert exited.value.code == 2 and error.startswith("usage: tfxpipe run ")
    assert error.rstrip().endswith("tfxpipe run: error: unrecognized arguments: --epochs 3")
    with pytest.raises(SystemExit):
        cli.main(["--quiet", "run"])  # before the command: an option of tfxpipe's, not of run's
    assert capsys.readouterr().err.rstrip().endswith("tfxpipe: error: unrecognized arguments: --quiet")


@pytest.mark.parametrize("argv, unknown", [(["score", "new.csv", "--data", "datasets/x"], "--data datasets/x"),
                                           (["calibrate", "--data", "x"], "--data"),
                                           (["cluster", "status", "--ho", "h"], "--ho h")])
def test_an_option_a_command_lacks_is_refused_not_read_as_one_it_starts(argv, unknown, capsys):
    """`score --data X` was read as `score --dataset X` (argparse matches prefixes by default)."""
    from cli import main as cli

    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert capsys.readouterr().err.rstrip().endswith(f"error: unrecognized arguments: {unknown}")


def test_reports_without_a_run_go_under_the_work_dir_resolved_as_a_run_resolves_it(tmp_path, monkeypatch):
    from cli import options  # pylint: disable=import-outside-toplevel

    monkeypatch.chdir(tmp_path)
    local = options.config_for_dataset_reports("work", "penguins").report_dir
    assert local == str(tmp_path / "work" / "reports" / "penguins")
    assert local == PipelineConfig(work_dir="work", pipeline_name="penguins").resolved().report_dir
    assert options.config_for_dataset_reports("gs://bucket/work", "penguins").report_dir == \
        "gs://bucket/work/reports/penguins"


@pytest.mark.parametrize("served", [True, False])
def test_a_run_that_pushed_nothing_says_whether_a_model_is_served_there(tmp_path, served):
    """A first run that is not blessed leaves no serving directory: it says so, not "unchanged"."""
    from types import SimpleNamespace  # pylint: disable=import-outside-toplevel

    config = PipelineConfig(serving_dir=str(tmp_path / "serving"))
    model_base = config.resolved().model_base
    if served:
        os.makedirs(os.path.join(model_base, "1"))
    summary = run_summary.RunSummary(run_id="r", node_states={}, blessed=False, pushed=False)
    record = SimpleNamespace(summary=summary, evaluation=None, spans=[], tuning={}, served_read_gone=())
    text = run_details.summary_text(record, config, 1.0)
    expected = (f"the serving directory {model_base} is unchanged" if served
                else f"no model is served from {model_base} yet")
    assert f"Nothing pushed; {expected}." in text, text


def test_a_cached_push_whose_version_was_removed_by_hand_is_not_called_current(tmp_path):
    from types import SimpleNamespace  # pylint: disable=import-outside-toplevel

    config = PipelineConfig(serving_dir=str(tmp_path / "serving"))
    model_base = config.resolved().model_base
    os.makedirs(os.path.join(model_base, "7"))
    os.makedirs(os.path.join(model_base, "9"))
    summary = run_summary.RunSummary(run_id="r", node_states={"Pusher": ["cached"]}, blessed=True, pushed=True,
                                     pushed_version="9", pushed_destination=os.path.join(model_base, "9"))
    record = SimpleNamespace(summary=summary, evaluation=None, spans=[], tuning={}, served_read_gone=(),
                             not_compared="", choice="", candidates=[])
    assert "version 9 at " + os.path.join(model_base, "9") + " is current." in run_details.summary_text(record, config, 1)
    os.rmdir(os.path.join(model_base, "9"))
    text = run_details.summary_text(record, config, 1.0)
    assert "is no longer there (removed since): version 7 is served." in text, text


def _taxi_spans(data, *dropped: str) -> None:
    """`data`/span-1: the taxi sample; span-2, span-3, ...: the sample without the `dropped` column
    of its turn, a span a run refuses before it starts."""
    with open(TAXI_CSV, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    for span, column in enumerate((None,) + dropped, start=1):
        (data / f"span-{span}").mkdir(parents=True, exist_ok=True)
        kept = [i for i, name in enumerate(rows[0]) if name != column]
        with open(data / f"span-{span}" / "data.csv", "w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows([row[i] for i in kept] for row in rows)


def _spans_missing_a_column(tmp_path):
    """Taxi spans whose newest lost a column, and the config of a run on them."""
    data = tmp_path / "data"
    _taxi_spans(data, "pickup_community_area")
    return data, PipelineConfig(data_root=str(data), work_dir=str(tmp_path / "work"),
                                serving_dir=str(tmp_path / "serving")).resolved()


def test_a_run_refused_before_it_started_is_recorded_where_runs_are_looked_at(tmp_path):
    """A nightly run whose new span lost a column stops before any component: `runs`, `runs show`,
    the run report and the runs index still list it, as refused, with why and the span it read;
    `resume` passes over it, as it ran nothing."""
    from pipeline import lineage, metadata_store, run_report, run_summary, runs, runs_index  # pylint: disable=import-outside-toplevel

    data, config = _spans_missing_a_column(tmp_path)

    with pytest.raises(runner.PipelineFailed) as refused:
        runner.run_and_describe(config)

    store = metadata_store.open_store(config.metadata_uri)
    [run_id] = run_summary.run_ids(store)
    report_path = run_report.path_for(config.report_dir, run_id)
    assert str(refused.value).startswith("the data was rejected before the pipeline started")
    assert str(refused.value).endswith(f"Run {run_id} recorded as refused; run report: {report_path}")
    record = runs.record(store, run_id)
    assert (record.status, record.spans, record.failed_node, record.gate) == (
        "refused", [2], run_summary.INPUT_CHECK, "not run")
    assert "pickup_community_area: Column missing" in record.failure
    assert f"InputCheck [FAILED]\n      in:  data {data / 'span-2'}\n" in lineage.text(store, run_id)
    assert runs.render_table([record], config.dataset().task).splitlines()[2].endswith("refused before it started")
    with open(report_path, encoding="utf-8") as f:
        assert "Column missing" in f.read()
    with open(runs_index.path_for(config.report_dir), encoding="utf-8") as f:
        assert re.search(rf">{re.escape(run_id)}</a></td><td>[^<]+</td><td>refused</td><td>2</td>", f.read())

    (data / "span-2" / "data.csv").unlink()
    (data / "span-2").rmdir()
    with pytest.raises(runner.PipelineFailed, match=r"no run that started is recorded in .*: nothing to resume"):
        runner.run_and_describe(config, resume=True)  # a refused run ran nothing to resume from
    assert run_summary.run_ids(metadata_store.open_store(config.metadata_uri)) == [run_id]


def test_the_report_a_run_refused_before_it_started_names_is_its_own_and_kept(tmp_path):
    """The page a refused run names, in its message and its run report, is its own under
    `refusals/`, as the gate's refusals' are: the latest page is rewritten by the next run (here,
    span 3 refused for another column), which would leave the first refusal's link showing that."""
    from pipeline import gate, metadata_store, run_report  # pylint: disable=import-outside-toplevel

    data, config = _spans_missing_a_column(tmp_path)
    with pytest.raises(runner.PipelineFailed) as first:
        runner.run_and_describe(config)
    _taxi_spans(data, "pickup_community_area", "trip_miles")
    with pytest.raises(runner.PipelineFailed) as second:
        runner.run_and_describe(config)

    named = [re.search(r"^Report: (\S+)$", str(refused.value), re.M).group(1) for refused in (first, second)]
    assert [os.path.dirname(path) for path in named] == [os.path.join(config.report_dir, gate.REFUSALS_DIR)] * 2
    assert [path.endswith(f"-span-{span}.html") for path, span in zip(named, (2, 3))] == [True, True], named
    with open(named[0], encoding="utf-8") as f:
        page = f.read()
    assert "<td>pickup_community_area</td><td>Column missing</td>" in page and "trip_miles" not in page
    first_run = run_summary.run_ids(metadata_store.open_store(config.metadata_uri))[0]
    with open(run_report.path_for(config.report_dir, first_run), encoding="utf-8") as f:
        assert f"Report: {named[0]}" in f.read()
    with open(os.path.join(config.report_dir, gate.REPORT_FILE), encoding="utf-8") as f:
        assert "<td>trip_miles</td><td>Column missing</td>" in f.read()  # the latest: the second refusal's


def test_a_run_on_csvs_joined_with_their_headers_is_refused_before_it_starts(tmp_path):
    """`cat a.csv b.csv`: the second header, a row of text in every column, stops the run before any
    component, naming its line; nothing is trained or pushed."""
    with open(TAXI_CSV, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "data.csv").write_bytes(b"".join(lines[:1501] + lines[:1] + lines[1501:]))
    config = PipelineConfig(data_root=str(tmp_path / "data"), work_dir=str(tmp_path / "work"),
                            serving_dir=str(tmp_path / "serving")).resolved()
    with pytest.raises(runner.PipelineFailed) as refused:
        runner.run_and_describe(config)
    assert str(refused.value).startswith("the data was rejected before the pipeline started")
    assert "data.csv: line 1502 repeats the header (files joined with their headers?): remove it" in str(refused.value)
    assert "Unexpected data type" not in str(refused.value)
    assert not os.path.exists(tmp_path / "serving")
