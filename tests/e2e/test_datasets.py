"""Any dataset, no code edits: real public CSVs that ship inside installable packages
(`benchmarks/public_datasets.py`: multi-class with `NA`, numeric-only binary, regression, and one
with spaces in names, a date, IDs and comments) go through `tfxpipe init` + `run --dataset` +
`serve` + `predict`."""
import dataclasses
import os
import re
import shutil
import subprocess
import sys
from typing import Callable, Dict, List, Optional

import numpy as np
import pandas as pd
import pytest
import requests
import tensorflow as tf
import tensorflow_data_validation as tfdv
import yaml
from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import schema_pb2

from benchmarks import public_datasets
from models import dataset as dataset_module
from pipeline import evaluation, metadata_store, run_summary
from pipeline.configs import PROJECT_ROOT, PipelineConfig
from serving import client, examples, model_dir
from serving import process as serving_server
from tests.e2e import browser
from tests.e2e.conftest import TRAIN_STEPS, network_namespace_available, snapshot


Case = public_datasets.PublicDataset
CASES = public_datasets.ALL


def tfxpipe(*args: str, offline: bool = False, **popen) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "cli", *args]
    if offline and network_namespace_available():
        command = ["unshare", "--net", sys.executable, "-m", "tests.offline", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=1200, check=False,
                          **popen)


@dataclasses.dataclass
class Trained:
    case: Case
    data: str  # folder with the CSV
    folder: str  # dataset folder written by init
    work_dir: str
    serving_dir: str
    init: subprocess.CompletedProcess
    run: subprocess.CompletedProcess

    @property
    def config(self) -> PipelineConfig:
        return PipelineConfig(dataset_dir=self.folder, work_dir=self.work_dir,
                              serving_dir=self.serving_dir).resolved()

    @property
    def declaration(self) -> dataset_module.Dataset:
        return dataset_module.load(self.folder)

    def run_args(self, *extra: str):
        return ("run", "--dataset", self.folder, "--work-dir", self.work_dir, "--serving-dir",
                self.serving_dir, "--train-steps", TRAIN_STEPS, "--eval-steps", "20", *extra)

    def summary(self) -> run_summary.RunSummary:
        return run_summary.summarize(metadata_store.open_store(self.config.metadata_path))


def initialized(case: Case, root) -> Trained:
    """`case`'s CSV written under `root` and its dataset folder drafted by `tfxpipe init`; not run."""
    data = case.write_folder(os.path.join(root, "data"))
    folder = os.path.join(root, "datasets", case.name)
    init = tfxpipe("init", data, "--label", case.label, "--out", folder)
    assert init.returncode == 0, init.stdout + init.stderr[-3000:]
    return Trained(case, data, folder, os.path.join(root, "work"), os.path.join(root, "serving"),
                   init, None)


def _run(trained: Trained) -> Trained:
    trained.run = tfxpipe(*trained.run_args(), offline=True)
    assert trained.run.returncode == 0, trained.run.stdout + trained.run.stderr[-5000:]
    return trained


_DRAFTED: Dict[str, Trained] = {}  # case name -> its folder drafted by init (one init per case)


def _drafted(case: Case, tmp_path_factory) -> Trained:
    if case.name not in _DRAFTED:
        _DRAFTED[case.name] = initialized(case, tmp_path_factory.mktemp(case.name))
    return _DRAFTED[case.name]


@pytest.fixture(scope="module", params=CASES, ids=[c.name for c in CASES])
def trained(request, tmp_path_factory) -> Trained:
    return _run(_drafted(request.param, tmp_path_factory))


def _rows(trained: Trained, count: int):
    """The first `count` CSV rows as a client sends them (no label) and their labels."""
    frame = pd.read_csv(os.path.join(trained.data, f"{trained.case.name}.csv"), dtype=str,
                        keep_default_na=False).head(count)
    declaration = trained.declaration
    rows = [{k: v for k, v in row.items() if k in declaration.feature_names()}
            for row in frame.to_dict("records")]
    schema = tfdv.load_schema_text(declaration.schema_file)
    return examples.serialize_rows(rows, schema, declaration.missing_values), frame[trained.case.label]


def test_init_infers_the_task_and_the_classes_from_the_data(trained):
    declaration = trained.declaration
    assert declaration.task.value == trained.case.task
    labels = pd.read_csv(os.path.join(trained.data, f"{trained.case.name}.csv"))[trained.case.label]
    if declaration.task.is_classification:
        assert sorted(declaration.label.classes) == sorted(labels.dropna().unique().astype(str))
    assert f"label {trained.case.label!r}" in trained.init.stdout


def test_every_component_executes_and_a_version_is_pushed(trained):
    summary = trained.summary()
    executed = {node for node, states in summary.node_states.items() if states == ["executed"]}
    assert {"CsvExampleGen", "DataGate", "Transform", "Trainer", "Evaluator", "InfraValidator",
            "Pusher"} <= executed
    assert summary.blessed and summary.infra_blessed and summary.pushed
    assert os.path.dirname(summary.pushed_destination) == trained.config.model_base
    assert f"Pushed model version {summary.pushed_version}" in trained.run.stdout


@pytest.fixture(scope="module")
def served(trained):
    """`trained`'s pushed model served as `tfxpipe serve` serves it."""
    name = trained.declaration.name
    with serving_server.running(["--serving-dir", trained.serving_dir, "--model-name", name]) as server:
        yield server


def test_served_answers_equal_the_in_process_call_and_predict_names_the_classes(trained, served):
    serialized, labels = _rows(trained, 12)
    pushed = trained.summary().pushed_destination
    in_process = tf.saved_model.load(pushed).signatures["serving_default"](
        examples=tf.constant(serialized))
    (expected,) = [v.numpy() for v in in_process.values()]
    declaration = trained.declaration
    model_name = declaration.name
    by_rest = client.RestClient(served.rest_url, model_name).predict(serialized)
    by_grpc = client.GrpcClient(served.grpc_target, model_name).predict(serialized)
    printed = tfxpipe("predict", os.path.join(trained.data, f"{trained.case.name}.csv"),
                      "--dataset", trained.folder, "--server", served.rest_url, "--limit", "12")
    np.testing.assert_allclose(by_rest, expected, rtol=1e-6)
    np.testing.assert_array_equal(by_grpc, expected)
    assert printed.returncode == 0, printed.stdout + printed.stderr[-2000:]
    lines = [l for l in printed.stdout.splitlines() if re.match(r"^\s+\d+\s", l)]
    assert len(lines) == 12
    if declaration.task.value == "regression":
        values = [float(l.split()[1]) for l in lines]
        np.testing.assert_allclose(values, expected[:, 0], atol=1e-3)
        return
    probabilities = expected if expected.shape[1] > 1 else np.hstack([1 - expected, expected])
    best = [declaration.label.classes[i] for i in probabilities.argmax(axis=1)]
    for line, name in zip(lines, best):
        assert line.split(None, 1)[1].startswith(name), (line, name)
    accuracy = np.mean(np.array(best) == labels.to_numpy())
    assert accuracy >= 0.75, f"the first rows' classes are mostly wrong: {accuracy:.2f}"


def test_a_signature_the_task_has_not_and_a_feature_of_two_values_are_bad_requests_saying_so(trained, served):
    """A multiclass model has no regress signature, a regression model no classify one: TF Serving's
    message names the method, and the model's signatures follow. A feature sent with two values
    fails inside the model's graph with an index TF names: the answer says what was likely sent."""
    declaration = trained.declaration
    url = f"{served.rest_url}/v1/models/{declaration.name}"
    missing = {"multiclass": "regress", "regression": "classify"}.get(declaration.task.value)
    if missing:
        answer = requests.post(f"{url}:{missing}", json={"examples": [{}]}, timeout=30)
        assert answer.status_code == 400, answer.text
        assert f"this model has no {missing} signature (its signatures: " in answer.json()["error"], answer.text
    number = next(f.name for f in declaration.features if f.kind.value == "numeric")
    whole = tfdv.get_feature(tfdv.load_schema_text(declaration.schema_file), number).type == schema_pb2.INT
    method = "classify" if declaration.task.is_classification else "regress"
    twice = requests.post(f"{url}:{method}", json={"signature_name": method, "examples": [
        {number: [1, 2] if whole else [1.0, 2.0]}]}, timeout=30)
    assert twice.status_code == 400, twice.text
    assert twice.json()["error"].endswith("a feature sent with more than one value? Each feature of this model "
                                          "takes one per example"), twice.text


def test_score_writes_every_row_back_with_the_pushed_models_answers(trained, tmp_path):
    source = os.path.join(trained.data, f"{trained.case.name}.csv")
    out = str(tmp_path / "scored.csv")
    scored = tfxpipe("score", source, "--dataset", trained.folder, "--serving-dir",
                     trained.serving_dir, "--out", out, offline=True)
    assert scored.returncode == 0, scored.stdout + scored.stderr[-3000:]
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert f"Scored {len(frame):,} rows" in scored.stdout
    pd.testing.assert_frame_equal(written[list(frame.columns)], frame)  # every row, in order
    serialized, _ = _rows(trained, len(frame))
    in_process = tf.saved_model.load(trained.summary().pushed_destination).signatures[
        "serving_default"](examples=tf.constant(serialized))
    (expected,) = [v.numpy() for v in in_process.values()]
    declaration = trained.declaration
    label = declaration.label
    if declaration.task.value == "regression":
        np.testing.assert_allclose(written[f"predicted_{label.column}"].astype(np.float32),
                                   expected[:, 0], rtol=1e-5)
        return
    probabilities = expected if expected.shape[1] > 1 else np.hstack([1 - expected, expected])
    scores = written[[f"probability_{name}" for name in label.classes]].astype(np.float32).to_numpy()
    np.testing.assert_allclose(scores, probabilities, rtol=1e-5, atol=1e-6)
    best = [label.classes[i] for i in scores.argmax(axis=1)]
    assert list(written[f"predicted_{label.column}"]) == best


def test_penguins_missing_values_written_na_are_missing_not_strings(tmp_path_factory):
    declaration = _drafted(CASES[0], tmp_path_factory).declaration
    assert "NA" in declaration.missing_values
    kinds = {f.name: f.kind.value for f in declaration.features}
    assert kinds["bill_length_mm"] == kinds["body_mass_g"] == "numeric"


def test_penguins_raw_columns_are_kept_or_excluded_with_a_reason(tmp_path_factory):
    declaration = _drafted(CASES[3], tmp_path_factory).declaration
    kinds = {f.name: f.kind.value for f in declaration.features}
    [laid] = [f for f in declaration.features if f.name == "Date Egg"]  # read in the graph: requests send it
    assert (laid.kind.value, laid.parts, laid.unit) == ("date", ("weekday", "month"), "")
    assert "constant" in declaration.excluded["Region"]
    assert "Individual ID" not in kinds and "group of rows" in declaration.excluded["Individual ID"]
    assert kinds["Body Mass (g)"] == "numeric" and kinds["Island"] == "categorical_string"


@pytest.fixture(scope="module")
def penguins(tmp_path_factory) -> Trained:
    """A second penguins run, for the cache checks (edits to its declaration and to model code), on a
    copy of the folder init drafted (its `data:` path is absolute: the copy reads the same CSV)."""
    drafted = _drafted(CASES[0], tmp_path_factory)
    root = tmp_path_factory.mktemp("cache")
    folder = str(root / "datasets" / drafted.case.name)
    shutil.copytree(drafted.folder, folder)
    return _run(dataclasses.replace(drafted, folder=folder, work_dir=str(root / "work"),
                                    serving_dir=str(root / "serving")))


def _states(trained: Trained) -> Dict[str, str]:
    return {node: states[0] for node, states in trained.summary().node_states.items()}


def test_unchanged_rerun_is_fully_cached(penguins):
    again = tfxpipe(*penguins.run_args())
    assert again.returncode == 0, again.stderr[-3000:]
    states = _states(penguins)
    assert {n for n, s in states.items() if s != "cached" and not n.endswith("resolver")} == set()


def test_a_change_to_model_code_reruns_trainer_and_what_follows(penguins, tmp_path):
    """The model package edited in a copy (a hidden layer's size) that is imported first; the rest
    of the project, and so the Beam settings in TFX's cache key, stay as they are."""
    copy = tmp_path / "edited"
    shutil.copytree(os.path.join(PROJECT_ROOT, "models"), copy / "models",
                    ignore=shutil.ignore_patterns("__pycache__"))
    module = copy / "models" / "families.py"
    source = module.read_text()
    assert '"hidden_units": [64, 32]' in source
    module.write_text(source.replace('"hidden_units": [64, 32]', '"hidden_units": [48, 24]'))
    run = tfxpipe(*penguins.run_args(), env={**os.environ, "PYTHONPATH": str(copy)},
                  cwd=str(tmp_path))  # `python -m` puts the working directory first on the path
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    states = _states(penguins)
    assert states["Transform"] == "cached", "preprocessing did not change"
    assert states["Trainer"] == states["Evaluator"] == "executed"


def _run_after_editing_the_declaration(trained: Trained, edit: Callable[[dict], None],
                                       printed: Optional[List[str]] = None) -> Dict[str, str]:
    """Each component's state in a run after `edit` changed the dataset's declaration (the run's
    output appended to `printed`)."""
    path = os.path.join(trained.folder, dataset_module.DECLARATION_FILE)
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    edit(raw)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(raw, f)
    run = tfxpipe(*trained.run_args())
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    if printed is not None:
        printed.append(run.stdout)
    return _states(trained)


def test_a_change_to_the_declaration_reruns_what_it_affects(penguins):
    states = _run_after_editing_the_declaration(penguins, lambda raw: raw["features"].update(
        year={"kind": "categorical_int", "vocab_size": 5, "oov_buckets": 1}))
    assert states["CsvExampleGen"] == states["StatisticsGen"] == "cached"
    assert states["Transform"] == states["Trainer"] == states["Evaluator"] == "executed"


def test_a_blessing_edit_judges_the_trained_model_again_without_training_another(penguins):
    """Thresholds are the Evaluator's: a tightened naive margin re-runs it (and what follows), never
    Transform or the Trainer, whose new model would differ (training is not bit-for-bit repeatable)."""
    states = _run_after_editing_the_declaration(penguins, lambda raw: raw["blessing"].update(
        naive_margin=raw["blessing"].get("naive_margin", 0.05) + 0.01))
    assert states["Transform"] == states["Trainer"] == "cached"
    assert states["Evaluator"] == "executed"


def test_an_edit_that_only_judges_the_served_model_again_pushes_no_second_copy_of_it(penguins):
    """Once a blessing edit's run has served its model (the newest version holds it), another edit
    judges that same model again: it is blessed, the Pusher runs, and nothing is copied or listed as
    this run's push (it once printed "Pushed model version" for the version already there)."""
    def margin(raw):
        raw["blessing"]["naive_margin"] = raw["blessing"].get("naive_margin", 0.05) + 0.01

    _run_after_editing_the_declaration(penguins, margin)
    served, printed = snapshot(penguins.serving_dir), []
    states = _run_after_editing_the_declaration(penguins, margin, printed)
    assert states["Trainer"] == "cached" and states["Evaluator"] == states["Pusher"] == "executed"
    assert "Blessed: yes" in printed[0] and "Pushed model version" not in printed[0], printed[0]
    assert "Serving: this run evaluated the model already served, nothing new pushed; version " in printed[0]
    assert snapshot(penguins.serving_dir) == served
    summary = penguins.summary()  # what `runs` lists as this run's push
    assert summary.pushed and summary.already_served and not summary.pushed_by_this_run


def test_a_blessing_that_needs_more_eval_rows_than_the_split_has_keeps_the_served_model(penguins):
    """TFMA's own threshold on example_count, which the Evaluator also sets (to
    `metrics.ROWS_TO_REPLACE`) where a served model would be replaced on fewer eval rows."""
    served = snapshot(penguins.serving_dir)
    run = tfxpipe(*penguins.run_args("--min", "example_count=1000"))
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert re.search(r"Blessed: NO: evaluated on \d+ eval rows, fewer than the 1000 needed to bless it", run.stdout), \
        run.stdout
    assert _states(penguins)["Trainer"] == "cached" and snapshot(penguins.serving_dir) == served


def test_data_of_another_dataset_is_refused_with_one_message_pointing_to_init(penguins, tmp_path):
    served = snapshot(penguins.serving_dir)
    work = str(tmp_path / "work")
    run = tfxpipe("run", "--work-dir", work, "--serving-dir", penguins.serving_dir,
                  "--data", penguins.data)  # the default dataset is the taxi sample
    assert run.returncode == 1
    assert run.stderr.count("does not match dataset 'taxi'") == 1, run.stderr[-3000:]
    assert "tfxpipe init" in run.stderr and "Column missing" not in run.stderr
    assert not os.path.exists(os.path.join(work, "pipelines")), "nothing ran"
    assert snapshot(penguins.serving_dir) == served


def test_a_fresh_work_dir_beside_a_served_model_it_did_not_push_is_refused_and_runs_listing_why(penguins, tmp_path):
    """`rm -rf work` leaves the serving folder: a new history would judge its model as a first model
    and push it over the served one, uncompared."""
    served = snapshot(penguins.serving_dir)
    version = model_dir.versions(penguins.config.model_base)[-1]
    work = str(tmp_path / "work")
    fresh = dataclasses.replace(penguins, work_dir=work)
    run = tfxpipe(*fresh.run_args())
    assert run.returncode == 1
    assert f"serves version {version}, which no run recorded in" in run.stderr, run.stderr[-3000:]
    assert "--replace-unrecorded-model" in run.stderr and snapshot(penguins.serving_dir) == served
    listing = tfxpipe("runs", "--dataset", penguins.folder, "--work-dir", work)
    assert "refused" in listing.stdout, listing.stdout


def _evaluator_inputs(trained: Trained) -> Dict[str, list]:
    """The latest run's Evaluator's input artifacts by key, read from MLMD."""
    store = metadata_store.open_store(trained.config.metadata_path)
    run = store.get_context_by_type_and_name("pipeline_run", run_summary.run_ids(store)[-1])
    evaluator = next(e for e in store.get_executions_by_context(run.id)
                     if run_summary.node_of(store, e.id).startswith("Evaluator"))
    found: Dict[str, list] = {}
    for event in store.get_events_by_execution_ids([evaluator.id]):
        if event.type == metadata_store_pb2.Event.INPUT:
            found.setdefault(event.path.steps[0].key, []).append(event.artifact_id)
    return found


def test_a_declaration_that_predicts_another_label_is_not_compared_with_the_served_model(penguins):
    """The served model predicts species; the edited declaration a derived binary label (body mass
    against flipper length), without body mass as a feature. TFMA would
    evaluate the served model against the new label (and fail): the run says why it compares with
    no served model, and pushes as a first run would."""
    path = os.path.join(penguins.folder, dataset_module.DECLARATION_FILE)
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    raw["task"] = "binary"
    raw["label"] = {"column": "heavy", "classes": ["0", "1"],
                    "derived": {"column": "body_mass_g", "other_column": "flipper_length_mm", "times": 20}}
    raw["features"].pop("body_mass_g")
    raw["excluded"] = {**(raw.get("excluded") or {}), "species": "the label of the served model"}
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(raw, f)
    served = set(os.listdir(os.path.join(penguins.serving_dir, penguins.declaration.name)))
    assert served, "a species model is served"
    run = tfxpipe(*penguins.run_args())
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert ("Evaluated without the model served before it as baseline, as a first model: that model "
            "predicts species (multiclass: Adelie, Chinstrap, Gentoo), this one heavy (binary: "
            "body_mass_g > 20 x flipper_length_mm)") in run.stdout, run.stdout
    assert "baseline_model" not in _evaluator_inputs(penguins)
    assert penguins.summary().pushed_by_this_run
    shown = tfxpipe("runs", "show", penguins.summary().run_id, "--dataset", penguins.folder,
                    "--work-dir", penguins.work_dir)
    assert "as a first model: that model predicts species" in shown.stdout, \
        shown.stdout + shown.stderr[-2000:]
    assert len(os.listdir(os.path.join(penguins.serving_dir, penguins.declaration.name))) == len(served) + 1


def test_runs_and_the_run_report_show_the_tasks_own_metrics(trained):
    main = {"binary": "auc", "multiclass": "accuracy", "regression": "rmse"}[trained.case.task]
    listing = tfxpipe("runs", "--dataset", trained.folder, "--work-dir", trained.work_dir)
    assert listing.returncode == 0, listing.stderr[-2000:]
    header, _, row = listing.stdout.splitlines()[:3]
    assert header.split()[8:10] == [main, "skill_vs_naive"], header
    assert row.split()[4] == "ok" and row.split()[-2:] == ["yes", trained.summary().pushed_version]
    # named by its pipeline alone (its folder is not under datasets/): read as taxi's, and said
    named = tfxpipe("runs", "--pipeline-name", trained.declaration.name, "--work-dir", trained.work_dir)
    assert trained.declaration.name != "taxi" and named.returncode == 0, named.stderr[-2000:]
    assert f"note: pipeline {trained.declaration.name!r} is read as the default dataset's (taxi, binary); " \
           "if it is another dataset's, give that --dataset" in named.stderr, named.stderr[-2000:]
    report = re.search(r"^Run report: (\S+)$", trained.run.stdout, re.M).group(1)
    with open(report, encoding="utf-8") as f:
        page = f.read()
    assert f"<td>{main}</td>" in page and "Blessed: the model met every threshold." in page
    assert "predicts no eval row" not in trained.run.stdout + page  # every class is predicted here
    if trained.case.task == "binary":  # the recall the warning reads (each class's, below)
        assert "recall" in evaluation.load(trained.summary().evaluation_uri).overall
    if trained.case.task == "multiclass":  # each class's recall: its row of the confusion matrix
        result = evaluation.load(trained.summary().evaluation_uri)
        confusion = result.plots[evaluation.OVERALL].confusion
        for i, name in enumerate(trained.declaration.label.classes):
            row = sum(count for (actual, _), count in confusion.items() if actual == i)
            assert result.overall[f"recall[{name}]"] == pytest.approx(confusion.get((i, i), 0) / row)
            assert f"<td>recall[{name}]</td>" in page


TASK_CHARTS = {"binary": ("roc", "pr", "calibration"), "multiclass": ("confusion",),
               "regression": ("predicted-vs-actual", "residuals")}


def test_the_run_report_draws_the_tasks_charts_offline(trained):
    report = re.search(r"^Run report: (\S+)$", trained.run.stdout, re.M).group(1)
    page = browser.load(report)
    assert browser.console_messages(page) == []
    with open(report, encoding="utf-8") as f:
        assert not browser.FETCHES.search(f.read())
    drawn = browser.charts(page.stdout)
    for chart in TASK_CHARTS[trained.case.task]:
        assert drawn.get(chart, 0) >= 4, (chart, drawn)
    features = [f for f in trained.declaration.features]
    assert all(drawn.get(f"distribution-{f.name}", 0) >= 2 for f in features), drawn
    if trained.case.task == "multiclass":  # one count per cell, as text
        cells = re.search(r'id="chart-confusion">(.*?)</figure>', page.stdout, re.S).group(1)
        classes = len(trained.declaration.label.classes)
        assert len(re.findall(r"<text[^>]*>\s*\d+\s*</text>", cells)) >= classes * classes
    with open(report, encoding="utf-8") as f:
        text = f.read()
    assert re.search(r"<h3>Statistics: train split \(\d+ rows\)</h3>", text), "the rows are one split's"
    assert ("<table id='slices'>" in text) == bool(trained.declaration.slices)
    assert ("No metric by slice: features named under `slices:`" in text) != bool(trained.declaration.slices)
