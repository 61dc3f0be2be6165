"""Operating the pipeline over time: two spans (the second with shuffled labels), run history and
lineage, per-run reports in a real headless browser, resuming a failed run, and monitoring the
requests a server logged."""
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_data_validation as tfdv
from tfx.orchestration import pipeline as tfx_pipeline
from ml_metadata.proto import metadata_store_pb2

from models.dataset import Task
from pipeline import (evaluation, excluded_spans, metadata_store, metrics, older_data, resolvers, run_details,
                      run_report, run_summary, runner, runs, runs_index, training_data)
from pipeline.configs import PROJECT_ROOT
from serving import client, examples, model_dir
from serving import process as serving_server
from tests import postgres_server
from tests.bad_data import shuffled_slices
from tests.e2e import browser
from tests.e2e.conftest import EVAL_STEPS, TRAIN_STEPS, PipelineWorkspace, snapshot
from tests.conftest import TAXI, TAXI_SCHEMA

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def tfxpipe(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          timeout=900, check=False, env=env)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def metadata(request):
    """Where runs are recorded: the default SQLite file, or a real PostgreSQL server started here.
    Tests of what reads or writes MLMD run on both, but for excluding a span by hand (a context
    with a property); those of pages drawn from the run's files on SQLite alone (`SQLITE_ONLY`)."""
    if request.param == "sqlite":
        yield None
    else:
        with postgres_server.running_server() as server:
            yield server.uri


SQLITE_ONLY = pytest.mark.parametrize("metadata", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def history(tmp_path_factory, metadata):
    """span-1 (real labels) is trained and pushed; span-2 has its tips shuffled between rows."""
    root = tmp_path_factory.mktemp("operations")
    header, (first, second) = shuffled_slices(7, 7000, 7000)
    tips = header.index("tips")
    shuffled_tips = np.random.default_rng(8).permutation([row[tips] for row in second])
    second = [row[:tips] + [tip] + row[tips + 1:] for row, tip in zip(second, shuffled_tips)]
    data = str(root / "data")
    workspace = PipelineWorkspace(root, metadata)
    good = workspace.run_with_new_span(data, "span-1", [header] + first)
    assert good.returncode == 0, good.stderr[-3000:]
    served_after_good = snapshot(workspace.serving_dir)
    shuffled = workspace.run_with_new_span(data, "span-2", [header] + second)
    assert shuffled.returncode == 0, shuffled.stderr[-3000:]
    return workspace, data, good, shuffled, served_after_good


def test_a_span_with_shuffled_labels_trains_a_model_that_is_not_pushed(history):
    workspace, _, good, shuffled, served_after_good = history
    assert good.summary.pushed and good.summary.blessed
    recorded = json.loads(good.summary.let_through)  # the gate's record of values no domain lists
    assert recorded["values"] == {} and recorded["rows"] == 7000, recorded  # span-1's rows, both splits
    assert shuffled.summary.node_states["DataGate"] == ["executed"], "same features: the gate passes"
    assert shuffled.summary.node_states["Trainer"] == ["executed"]
    assert shuffled.summary.blessed is False and shuffled.summary.pushed is False
    assert re.search(r"Blessed: NO: .*\bauc 0\.[0-6]\d* is below the threshold 0\.7", shuffled.stdout)
    assert "warning: the served model does no better than the naive baseline on this data" in shuffled.stdout
    assert "served model does no better" not in good.stdout
    assert snapshot(workspace.serving_dir) == served_after_good


def test_runs_lists_both_runs_newest_first_with_spans_blessings_and_versions(history):
    workspace, _, good, shuffled, _ = history
    listing = tfxpipe("runs", "--work-dir", workspace.work_dir, *workspace.metadata_args)
    assert listing.returncode == 0, listing.stderr
    lines = [l for l in listing.stdout.splitlines() if l.startswith(("2", "1"))]
    newest, older = lines[0].split(), lines[1].split()
    assert newest[0] == shuffled.summary.run_id and older[0] == good.summary.run_id
    assert newest[4:7] == ["ok", "2", "passed"] and older[4:7] == ["ok", "1", "passed"]
    assert newest[-2:] == ["NO", "-"]
    assert older[-2:] == ["yes", good.summary.pushed_version]


def test_runs_lists_the_metrics_the_evaluator_recorded_without_loading_tensorflow(history):
    """The run table reads each run's metrics from ML Metadata, where the Evaluator recorded the
    numbers TFMA's files hold, and imports no TensorFlow, TFX component or TFMA."""
    workspace, _, _, shuffled, _ = history
    store = metadata_store.open_store(workspace.metadata_uri)
    listed = runs.record(store, shuffled.summary.run_id)
    measured = evaluation.load(listed.summary.evaluation_uri)
    main = metrics.MAIN_METRIC[Task.BINARY]
    assert listed.values == {name: measured.overall[name] for name in evaluation.LISTED if name in measured.overall}
    assert listed.changes == {name: measured.change[name] for name in evaluation.LISTED if name in measured.change}
    assert {main, metrics.SKILL} <= set(listed.changes), "span-2's model was compared with the served one"
    script = ("import sys, cli.main\n"
              f"cli.main.main(['runs', '--work-dir', {workspace.work_dir!r}, *{workspace.metadata_args!r}])\n"
              "print(sorted(m for m in ('tensorflow', 'tensorflow_model_analysis', 'tfx.components', "
              "'apache_beam', 'keras_tuner') if m in sys.modules))")
    table = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                           timeout=120, check=True).stdout.splitlines()
    assert table[-1] == "[]", table
    [row] = [line for line in table if line.startswith(shuffled.summary.run_id)]
    assert (f" {metrics.shown(main, measured.overall[main], 3)} "
            f"({metrics.shown(main, measured.change[main], 3, change=True)}) ") in row, row


@SQLITE_ONLY  # the store is copied, and changed
def test_an_evaluation_from_before_the_recorded_metrics_is_listed_and_has_them_recorded_by_the_next_report(
        history, tmp_path):
    """Runs the Evaluator made before it recorded the listed metrics are read from TFMA's files, and
    have them recorded (the same numbers) when the next run writes its reports; one whose files are
    gone is left as it was."""
    workspace, _, good, shuffled, _ = history
    older = tmp_path / "metadata.sqlite"
    shutil.copy(workspace.metadata_path, older)
    store = metadata_store.open_store(f"sqlite://{older}", writable=True)
    evaluations = store.get_artifacts_by_type("ModelEvaluation")
    recorded = {a.id: a.custom_properties[run_summary.LISTED_METRICS].string_value for a in evaluations}
    gone = run_summary.summarize(store, good.summary.run_id).evaluation_uri
    [gone_id] = [a.id for a in evaluations if a.uri == gone]
    for artifact in evaluations:
        del artifact.custom_properties[run_summary.LISTED_METRICS]
        artifact.uri = str(tmp_path / "gone") if artifact.id == gone_id else artifact.uri
    store.put_artifacts(evaluations)
    current = runs.record(metadata_store.open_store(workspace.metadata_uri), shuffled.summary.run_id)
    old = runs.record(store, shuffled.summary.run_id)
    assert old.summary.listed is None and (old.values, old.changes) == (current.values, current.changes)
    config = dataclasses.replace(workspace.config, metadata=f"sqlite://{older}", work_dir=str(tmp_path / "work"))
    assert runner.write_run_report(config, shuffled.summary.run_id)
    assert {a.id: a.custom_properties[run_summary.LISTED_METRICS].string_value
            for a in store.get_artifacts_by_type("ModelEvaluation")
            if run_summary.LISTED_METRICS in a.custom_properties} == {
        i: listed for i, listed in recorded.items() if i != gone_id}
    assert run_details.record_listed(f"sqlite://{older}", "taxi") == 0
    assert runs.record(store, good.summary.run_id).values == {}  # its files are gone


def test_runs_show_prints_the_lineage_from_data_to_pushed_version(history):
    workspace, data, good, _, _ = history
    shown = tfxpipe("runs", "show", good.summary.run_id, "--work-dir", workspace.work_dir,
                    *workspace.metadata_args)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    chain = [f"data {data}/span-1/* (1 file, ", "out: Examples #", "out: ExampleStatistics #", "TransformGraph #",
             "out: Model #", "ModelEvaluation #", "InfraBlessing #", "PushedModel #"]
    position = 0
    for step in chain:  # each step appears after the one before it
        position = text.find(step, position)
        assert position != -1, f"{step!r} missing after the previous step:\n{text}"
    assert f"(version {good.summary.pushed_version})" in text
    model_id = re.search(r"out: Model #(\d+)", text).group(1)
    assert re.search(rf"Evaluator \[executed\]\n\s+in: [^\n]*\bModel #{model_id}\b", text), \
        "the Evaluator read the model the Trainer wrote"
    assert tfxpipe("runs", "show", "no-such-run", "--work-dir", workspace.work_dir,
                   *workspace.metadata_args).returncode == 1


@SQLITE_ONLY  # an exclusion is an MLMD context with a property; a refused run's record and a failed
# component (pipeline/metadata_server_fixes.py) are recorded on both by the resume test below
def test_a_span_that_passed_the_gate_with_wrong_labels_is_excluded_by_hand_and_put_back(history):
    """span-2's tips are shuffled (the gate passed it): excluded, it is no longer accepted, so no
    drift reference or training window takes it; `--undo` puts it back."""
    workspace, data, good, shuffled, served_after_good = history
    good_version = good.summary.pushed_version
    where = ("--work-dir", workspace.work_dir, *workspace.metadata_args, "--data", data)
    store = lambda: metadata_store.open_store(workspace.metadata_uri)  # noqa: E731  (read afresh)
    assert resolvers.accepted_spans(store(), data) == {1, 2}
    older = workspace.run([])  # `--data` left out: the dataset's declared CSV, span 0, older than span 2
    assert older.returncode == 1 and "(no span-N/ folders: span 0) is older than span 2 of " \
        f"{os.path.realpath(data)}, which the data gate accepted for pipeline 'taxi'" in older.stderr, \
        older.stderr[-2000:]
    assert f"Give the data the runs read (--data {os.path.realpath(data)})" in older.stderr
    assert older.serving_snapshot == served_after_good
    try:
        excluded = tfxpipe("exclude-span", "2", "--reason", "tips shuffled by a broken join", *where)
        assert excluded.returncode == 0, excluded.stdout + excluded.stderr
        assert f"Excluded span 2 of {data} (1 version read by runs): tips shuffled by a broken join" in excluded.stdout
        assert "span 2 is the newest" in excluded.stdout
        assert "served version" not in excluded.stdout  # its shuffled model was never pushed
        assert resolvers.accepted_spans(store(), data) == {1}
        assert older_data.newest_accepted(store(), "taxi") == {os.path.realpath(data): 1}, "span 2 no longer counts"
        shown = tfxpipe("runs", "show", shuffled.summary.run_id, *where[:-2])
        assert "(span 2, excluded by hand: tips shuffled by a broken join)" in shown.stdout, shown.stdout
        assert re.search(r"DataGate \[executed\]\n\s+in: [^\n]*ExampleStatistics #\d+ \(span 1\)[^\n]*"
                         r"ExampleStatistics #\d+ \(span 2\)", shown.stdout), "its drift reference and its span"
        table = tfxpipe("runs", *where[:-2]).stdout.splitlines()
        assert [row.split()[5] for row in table if row.startswith(shuffled.summary.run_id)] == ["2*"], table
        assert table[-1] == runs.EXCLUDED_NOTE, table
        index = open(runs_index.path_for(os.path.join(workspace.work_dir, "reports", "taxi")), encoding="utf-8").read()
        assert "<td>2*</td>" in index and "id='excluded'" in index  # rewritten by exclude-span, not the next run
        assert f"<b id='served'>{good_version}</b>" in index  # the runs' serving folder, not the default one
        again = workspace.run(["--data", data, "--train-steps", "7"])  # a change the gate's cache ignores
        assert again.returncode == 1 and "span 2 of" in again.stderr + again.stdout, again.stderr[-2000:]
        assert "excluded by hand (tips shuffled by a broken join) and its files are unchanged" in again.stderr + again.stdout
        assert again.serving_snapshot == served_after_good
        refused = runs.record(store(), run_summary.run_ids(store())[-1])  # listed as refused, with why
        assert (refused.status, refused.spans) == ("refused", [2]) and "excluded by hand" in refused.failure
        first = tfxpipe("exclude-span", "1", "--reason", "a test feed", *where)
        assert older_data.newest_accepted(store(), "taxi") == {}, "older data may be trained on again"
        assert first.returncode == 0 and f"note: the served version {good_version} was trained on span 1" \
            in first.stdout, first.stdout
        assert f"`tfxpipe run --max-drop 1 --work-dir {workspace.work_dir}" in first.stdout and \
            f" --serving-dir {workspace.serving_dir} --data {data}`" in first.stdout, \
            "the run it suggests reads the same store and spans, and pushes where the served model is"
        try:  # no span left in use: calibrate (reading the same store) has nothing to measure
            calibrated = tfxpipe("calibrate", data, *where[:-2])
            assert calibrated.returncode == 1, calibrated.stdout + calibrated.stderr
            assert f"every span of {data} is excluded by hand" in calibrated.stderr, calibrated.stderr
        finally:
            assert tfxpipe("exclude-span", "1", "--undo", *where).returncode == 0
    finally:
        put_back = tfxpipe("exclude-span", "2", "--undo", *where)
    assert put_back.returncode == 0 and "Put back span 2" in put_back.stdout, put_back.stdout
    index = open(runs_index.path_for(os.path.join(workspace.work_dir, "reports", "taxi")), encoding="utf-8").read()
    assert "2*" not in index and "id='excluded'" not in index
    assert resolvers.accepted_spans(store(), data) == {1, 2}
    nothing = workspace.run(["--data", data], command_name="resume")  # passes over the run that never started
    assert nothing.returncode == 1, nothing.stdout
    assert f"the latest run that started, {shuffled.summary.run_id}, did not fail" in nothing.stderr, nothing.stderr
    unknown = tfxpipe("exclude-span", "7", "--reason", "x", *where)
    assert unknown.returncode == 1 and "no run read span 7" in unknown.stdout and "spans read: 1, 2" in unknown.stdout
    assert tfxpipe("exclude-span", "2", *where).returncode == 2  # no reason given


@SQLITE_ONLY
@pytest.mark.parametrize("which", ["good", "shuffled"])
def test_each_run_has_a_report_that_renders_in_headless_chromium(history, which):
    assert CHROMIUM, "the report test needs Debian's chromium (`make test` installs it)"
    workspace, _, good, shuffled, _ = history
    run = good if which == "good" else shuffled
    path = run_report.path_for(workspace.report_dir, run.summary.run_id)
    assert f"Run report: {path}" in run.stdout
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          f"file://{path}"], capture_output=True, text=True, timeout=120, check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert '<table id="metrics">' in dom.stdout and "skill_vs_naive" in dom.stdout
    assert '<table id="slices">' in dom.stdout and "payment_type = Cash" in dom.stdout
    decision = re.search(r'<p id="decision" class="\w+">([^<]*)</p>', dom.stdout).group(1)
    if which == "good":
        assert decision.startswith("Blessed") and good.summary.pushed_version in dom.stdout
    else:
        assert decision.startswith("NOT blessed") and "auc 0." in decision
        assert "Nothing pushed" in dom.stdout
    assert '<table id="thresholds">' in dom.stdout and "&gt;= 0.7" in dom.stdout


@SQLITE_ONLY
def test_a_binary_report_draws_its_charts_offline_without_requests_or_console_errors(history):
    workspace, _, _, shuffled, _ = history
    path = run_report.path_for(workspace.report_dir, shuffled.summary.run_id)
    page = browser.load(path)
    with open(path, encoding="utf-8") as f:
        assert not browser.FETCHES.search(f.read()), "the report must not fetch anything"
    assert browser.console_messages(page) == []
    drawn = browser.charts(page.stdout)
    for chart in ("roc", "pr", "calibration", "slices-auc", "candidate-vs-baseline",
                  "distribution-fare", "distribution-payment_type"):
        assert drawn.get(chart, 0) >= 4, (chart, drawn)
    assert drawn["roc"] >= 50, "TFMA's 200 thresholds (matplotlib merges collinear segments)"
    assert '<table id="threshold-table">' in page.stdout


@SQLITE_ONLY
def test_a_slice_with_one_class_shows_auc_as_not_defined(history):
    workspace, _, good, _, _ = history
    store = metadata_store.open_store(workspace.metadata_uri)
    result = evaluation.load(run_summary.summarize(store, good.summary.run_id).evaluation_uri)
    one_class = [name for name, plots in result.plots.items()
                 if plots.thresholds.tp and 0 in (plots.thresholds.positives, plots.thresholds.negatives)]
    two_class = [name for name, plots in result.plots.items()
                 if plots.thresholds.positives and plots.thresholds.negatives]
    assert one_class and two_class, "taxi's small payment types hold one class only"
    page = browser.load(run_report.path_for(workspace.report_dir, good.summary.run_id)).stdout
    rows = dict(re.findall(r"<tr><td>(payment_type = [^<]+)</td><td>([^<]+)</td>", page))
    assert all(rows[name] == "n/a" for name in one_class), rows
    assert all(re.fullmatch(r"\d\.\d{4}", rows[name]) for name in two_class if name in rows), rows


def test_the_runs_index_lists_every_run_with_its_status_and_links_that_open(history, tmp_path):
    workspace, _, good, shuffled, _ = history
    index = runs_index.path_for(workspace.report_dir)
    page = browser.load(index).stdout
    store = metadata_store.open_store(workspace.metadata_uri)
    listed = re.findall(r'<tr class="run"><td><a href="([^"]+)">([^<]+)</a></td><td>[^<]*</td>'
                        r'<td>([^<]+)</td>', page)
    assert [run_id for _, run_id, _ in listed] == list(reversed(run_summary.run_ids(store)))
    for link, run_id, status in listed:
        assert status == runs.record(store, run_id).status
        target = os.path.join(os.path.dirname(index), link)
        assert os.path.isfile(target) and browser.load(target).stdout.count("<h1>") == 1
    assert f'<b id="served">{good.summary.pushed_version}</b>' in page
    assert browser.charts(page)["metric-over-runs"] >= 2
    bounded = runs_index.write(store, str(tmp_path), Task.BINARY, "taxi", None, newest=1)
    with open(bounded, encoding="utf-8") as f:
        page = f.read()
    assert re.findall(r"<tr class='run'><td>([^<]+)</td>", page) == [run_summary.run_ids(store)[-1]]
    assert f"The last 1 of {len(listed)} runs" in page


def _completed(store, node: str) -> int:
    """Executions of `node` that did the work (COMPLETE), across every run."""
    context = store.get_context_by_type_and_name("node", f"taxi.{node}")
    return sum(e.last_known_state == metadata_store_pb2.Execution.COMPLETE
               for e in store.get_executions_by_context(context.id))


def test_a_run_failed_at_trainer_resumes_without_redoing_earlier_components(history):
    workspace, data, _, _, _ = history
    # A learning rate no check refuses (it is a number > 0) that makes the weights overflow.
    broken = workspace.run(["--data", data, "--hparams", '{"learning_rate": 1e30}'])
    assert broken.returncode == 1 and "Trainer failed" in broken.stderr, broken.stderr[-3000:]
    assert "TrainingDiverged" in broken.stderr
    upstream = ("CsvExampleGen", "StatisticsGen", "DataGate", "Transform")
    store = metadata_store.open_store(workspace.metadata_uri)
    broken_id = run_summary.run_ids(store)[-1]
    failed = runs.record(store, broken_id)
    assert failed.failed_node == "Trainer" and failed.failure, "why it failed is kept in MLMD"
    assert failed.failure.splitlines()[0] in broken.stderr
    [started_id] = re.findall(r"^Run (\S+) of pipeline", broken.stdout, re.M)
    shown = tfxpipe("runs", "show", "--work-dir", workspace.work_dir, *workspace.metadata_args)  # the latest
    assert started_id == broken_id and shown.stdout.startswith(f"Run {broken_id}: ") and f"why: {failed.failure.splitlines()[0]}" in shown.stdout, \
        shown.stdout[-3000:]
    with open(run_report.path_for(workspace.report_dir, broken_id), encoding="utf-8") as f:
        assert "id='failure'" in f.read()
    done_before = {node: _completed(store, node) for node in upstream}
    # a run refused before it started, in between: no run to resume, nor one TFX takes as the base
    refused = workspace.run(["--data", os.path.join(data, "gone")])
    assert refused.returncode == 1 and "recorded as refused" in refused.stderr, refused.stderr[-3000:]
    # span 2 excluded after the failure: a resume would reuse what Transform made of it
    writable = metadata_store.open_store(workspace.metadata_uri, writable=True)
    span_2 = excluded_spans.read_from(writable, data)[2]
    excluded_spans.mark(writable, data, 2, span_2, "a test feed")
    try:
        with pytest.raises(runner.PipelineFailed, match=rf"run {broken_id} read span\(s\) 2, excluded by hand since"):
            runner.resume_options(dataclasses.replace(workspace.config, data_root=data).resolved())
    finally:
        excluded_spans.mark(writable, data, 2, span_2, "")

    resumed = workspace.run(["--data", data, "--hparams", '{"hidden_units": [32, 16]}'],
                            command_name="resume")

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr[-3000:]
    assert f"Resuming run {broken_id} from Trainer" in resumed.stdout
    states = resumed.summary.node_states
    assert {node: states[node] for node in upstream} == {node: ["cached"] for node in upstream}
    store = metadata_store.open_store(workspace.metadata_uri)
    assert {node: _completed(store, node) for node in upstream} == done_before
    assert states["Trainer"] == ["executed"] and states["Evaluator"] == ["executed"]
    # Where a resume would start, had a later component failed: the components whose settings
    # differ from those of the outputs it would reuse (here, after a resume: the components it
    # skipped are recorded without settings, their earlier executions have them), or that the run
    # did not have; not those after another start, which run anyway.
    as_resumed = dataclasses.replace(workspace.config, data_root=data, train_steps=int(TRAIN_STEPS),
                                     eval_steps=int(EVAL_STEPS), hyperparameters={"hidden_units": [32, 16]})
    resumed_id = resumed.summary.run_id
    assert runner.resume_starts(store, as_resumed.resolved(), "Pusher", resumed_id) == ["Pusher"]
    refixed = dataclasses.replace(as_resumed, hyperparameters={"hidden_units": [16]}).resolved()
    assert runner.resume_starts(store, refixed, "Pusher", resumed_id) == ["Trainer"]
    assert runner.resume_starts(store, refixed, "Transform", resumed_id) == ["Transform"]
    windowed = dataclasses.replace(as_resumed, train_spans=2).resolved()  # a window: a node more
    assert runner.resume_starts(store, windowed, "Pusher", resumed_id) == ["training_window_resolver"]
    # two families where the run trained one: each family's nodes are new (the failed Trainer is gone)
    two = runner.resume_starts(store, dataclasses.replace(as_resumed, models=("wide_deep", "linear")).resolved(),
                               "Trainer", resumed_id)
    assert {start.rsplit("_", 1)[-1] for start in two} >= {"deep", "linear"}, two
    assert not {"CsvExampleGen", "StatisticsGen", "DataGate", "Transform"} & set(two), two
    nothing_to_resume = workspace.run(["--data", data], command_name="resume")
    assert nothing_to_resume.returncode == 1 and "nothing to resume" in nothing_to_resume.stderr
    # A run killed between two components (no component left unfinished; here one TFX stopped
    # after the gate) resumes from the components it had not run.
    stopped = dataclasses.replace(as_resumed, hyperparameters={}).resolved()
    runner.run(stopped, "stopped-after-the-gate", tfx_pipeline.RunOptions(to_nodes=["DataGate"]))
    store = metadata_store.open_store(workspace.metadata_uri)
    assert runs.record(store, "stopped-after-the-gate").status == "abandoned"
    finished = workspace.run(["--data", data], command_name="resume")
    assert finished.returncode == 0, finished.stdout + finished.stderr[-3000:]
    starts = re.search(r"^Resuming run stopped-after-the-gate from (.*?) \(the components it had not run", finished.stdout,
                       re.M).group(1).split(", ")
    assert "Transform" in starts and not {"CsvExampleGen", "StatisticsGen", "DataGate"} & set(starts), starts
    assert finished.summary.node_states["Pusher"], "the run got to its end"


@SQLITE_ONLY  # its one MLMD read, the served model's training data by lineage, is the next test's, on both
@pytest.mark.parametrize("shifted", [False, True])
def test_monitor_reports_skew_of_logged_requests(history, tmp_path, shifted):
    workspace, *_ = history
    header, (requests,) = shuffled_slices(11, 1000)  # a window of the size thresholds are calibrated for
    sample = [{k: v for k, v in zip(header, row) if k in TAXI.feature_names()} for row in requests]
    if shifted:
        for row in sample:
            row["payment_type"] = "Cash"
    serialized = examples.serialize_rows(sample, tfdv.load_schema_text(TAXI_SCHEMA))
    log_dir = str(tmp_path / "requests")
    with serving_server.running(["--serving-dir", workspace.serving_dir, "--model-name", "taxi",
                                 "--request-log", log_dir]) as server:
        connection = client.GrpcClient(server.grpc_target, TAXI.name)
        for start in range(0, len(serialized), 50):
            connection.predict(serialized[start:start + 50])
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    served = history[2].summary.pushed_version  # span-1's model: span-2's was never pushed
    named = ["--version", served] if not shifted else []  # the newest, named or by default
    verdict = tfxpipe("monitor", "--request-log", log_dir, "--work-dir", workspace.work_dir,
                      "--serving-dir", workspace.serving_dir, *named,
                      *workspace.metadata_args, env={**os.environ, "TMPDIR": str(temporary)})
    assert "1000 examples" in verdict.stdout, verdict.stdout + verdict.stderr[-2000:]
    assert f"skew vs the training data of served version {served}" in verdict.stdout, verdict.stdout
    assert os.listdir(temporary) == []  # the merged window and TFDV's own output are not left
    report = os.path.join(workspace.report_dir, "monitor", "monitor.html")  # the default place
    assert f"Report: {report}" in verdict.stdout, verdict.stdout
    page = browser.load(report).stdout
    chart = re.search(r'id="chart-distribution-payment_type">(.*?)</figure>', page, re.S).group(1)
    assert browser.charts(page)["distribution-payment_type"] >= 4
    assert all(re.search(rf">\s*{series}\s*<", chart) for series in ("requests", "training"))
    assert ("anomaly found" in chart) == shifted
    if shifted:
        assert verdict.returncode == 1
        assert ("payment_type: High approximate Jensen-Shannon divergence between training and serving"
                in verdict.stdout), verdict.stdout
        assert "'Cash' in " in verdict.stdout and "-> 100.0% of rows (JSD" in verdict.stdout, verdict.stdout
    else:
        assert verdict.returncode == 0, verdict.stdout
        assert "data meets the schema" in verdict.stdout
    if not shifted:  # a version not served is nothing to compare with
        unknown = tfxpipe("monitor", "--request-log", log_dir, "--work-dir", workspace.work_dir,
                          "--serving-dir", workspace.serving_dir, "--version", "1")
        assert unknown.returncode == 2 and f"has no version 1; it has {served}" in unknown.stdout, unknown.stdout


def test_the_served_models_training_data_is_found_by_its_lineage_not_the_newest_accepted_span(history):
    """span-2 passed the gate and trained a model that was not pushed: `monitor` compares requests
    with span-1's statistics, the data of the model being served."""
    workspace, _, good, shuffled, _ = history
    store = metadata_store.open_store(workspace.metadata_uri)

    def train_statistics(run):
        (artifact,) = runs.node_outputs(store, run.summary.run_id, "StatisticsGen")["ExampleStatistics"]
        return tfdv.load_stats_binary(os.path.join(artifact.uri, "Split-train", "FeatureStats.pb"))

    examples = training_data.served_model_training_examples(store, TAXI.name, good.summary.pushed_version)
    found = training_data.training_statistics(store, examples, schema=None)  # one span: StatisticsGen's
    assert found == train_statistics(good) and found != train_statistics(shuffled)
    assert training_data.latest_training_statistics(store, TAXI.name) == train_statistics(shuffled)
    assert training_data.served_model_training_examples(store, TAXI.name, "1") == []  # never pushed


@SQLITE_ONLY
def test_make_screenshots_writes_a_picture_of_every_report_page(history):
    workspace, *_ = history
    pages = [os.path.join(root, name) for root, _, names in os.walk(workspace.report_dir)
             for name in names if name.endswith(".html")]
    done = subprocess.run(["make", "--no-print-directory", "screenshots",
                           f"REPORTS={workspace.report_dir}"], capture_output=True, text=True,
                          timeout=600, check=False, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert f"{len(pages)} screenshot(s) written" in done.stdout
    for page in pages:
        with open(page[:-len(".html")] + ".png", "rb") as f:
            picture = f.read()
        assert picture.startswith(b"\x89PNG") and len(picture) > 10_000, page


@SQLITE_ONLY  # a rollback is a folder renamed; what runs make of it is read from MLMD as the tests above
def test_a_version_rolled_back_is_not_the_baseline_and_its_model_is_not_pushed_again(history):
    """span-3 (good data) trains a model pushed over span-1's (and removes a version beyond the 2 it
    keeps); rolled back, span-1's model is served again, an unchanged re-run says so, and the same
    model blessed again is kept back."""
    workspace, data, good, *_ = history
    header, (rows,) = shuffled_slices(9, 7000)
    where = ("--serving-dir", workspace.serving_dir, "--work-dir", workspace.work_dir, *workspace.metadata_args)
    os.makedirs(os.path.join(workspace.model_base, "1"))  # a version pushed long ago, beyond the 2 kept
    third = workspace.run_with_new_span(data, "span-3", [header] + rows, ["--max-drop", "1", "--keep-versions", "2"])
    assert third.returncode == 0 and third.summary.pushed_by_this_run, third.stdout + third.stderr[-3000:]
    assert "Removed the older version(s) 1 (--keep-versions)" in third.stdout, third.stdout
    rolled = tfxpipe("rollback", "--reason", "complaints about card tips", *where)
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert f"version {good.summary.pushed_version} is served again once" in rolled.stdout, rolled.stdout
    assert model_dir.versions(workspace.model_base) == [int(good.summary.pushed_version)]
    store = lambda: metadata_store.open_store(workspace.metadata_uri)  # noqa: E731  (read afresh)
    assert training_data.models_by_push(store())[0] == good.summary.model_id  # the baseline again
    unchanged = workspace.run(["--data", data, "--max-drop", "1", "--keep-versions", "2"])
    assert unchanged.returncode == 0 and unchanged.summary.node_states["Pusher"] == ["cached"], unchanged.stdout
    assert (f"this run's model is version {third.summary.pushed_version}, withdrawn " in unchanged.stdout
            and f": complaints about card tips. Version {good.summary.pushed_version} is served." in unchanged.stdout), \
        unchanged.stdout
    blessed_again = workspace.run(["--data", data, "--max-drop", "0.99"])  # the Evaluator runs, not the Trainer
    assert blessed_again.returncode == 0, blessed_again.stdout + blessed_again.stderr[-3000:]
    assert blessed_again.summary.node_states["Trainer"] == ["cached"]
    assert blessed_again.summary.node_states["Pusher"] == ["executed"] and blessed_again.summary.pushed is False
    assert (f"Nothing pushed: the model chosen is version {third.summary.pushed_version}, withdrawn"
            in blessed_again.stdout), blessed_again.stdout
    assert blessed_again.serving_snapshot == unchanged.serving_snapshot
    table = tfxpipe("runs", *where[2:]).stdout
    assert f"{third.summary.pushed_version} (rolled back)" in table, table
    lineage = tfxpipe("runs", "show", third.summary.run_id, *where[2:]).stdout
    assert "PushedModel #" in lineage and f"(version {third.summary.pushed_version} rolled back)" in lineage, lineage
    assert "not pushed: the model is version" in tfxpipe("runs", "show", *where[2:]).stdout  # the latest run
    index = open(runs_index.path_for(workspace.report_dir), encoding="utf-8").read()
    assert f"<b id='served'>{good.summary.pushed_version}</b>" in index and "(rolled back)" in index
    undone = tfxpipe("rollback", "--undo", *where)
    assert undone.returncode == 0 and model_dir.versions(workspace.model_base)[-1] == int(third.summary.pushed_version)
