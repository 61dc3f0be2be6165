"""The detection matrix on real data: each data bug of `benchmarks/drift_cases.py` (a unit change,
timestamps in milliseconds, a shift, values gone missing, a category mix changed) in a new span of
the taxi sample and of at least two public datasets is stopped by `tfxpipe validate`; each case, on
one of the datasets, is stopped by the pipeline's gate (nothing trained or pushed) and, on another,
flagged by `monitor` when sent as requests (all but timestamps, whose range check is the gate's); so
is a changed label (classes, units: no monitor); and the calibrated thresholds raise no alarm on
random same-distribution spans and request windows."""
import dataclasses
import os
import shutil
import subprocess
import sys
from typing import Callable, Dict, List, Tuple

import pytest
import tensorflow_data_validation as tfdv

from benchmarks import drift_cases, drift_matrix
from models import dataset as dataset_module
from pipeline import metadata_store, run_summary, runs
from pipeline.configs import PipelineConfig
from serving import client, examples
from serving import process as serving_server
from tests.e2e.conftest import TRAIN_STEPS, snapshot

DATASETS = ("taxi", "penguins_raw", "seattle_weather", "stocks")
# Cases that apply to each dataset (the tests below check that each case finds its column), so that
# every case runs on taxi and on two public datasets: penguins_raw's category mix is its three study
# names, nearly even (the benchmark's hardest categorical case); seattle_weather and stocks carry time
# as seconds since 1970; stocks' one numeric column is its label.
# The label's cases run on taxi (its derived label's `tips`) and penguins_raw (its species) only:
# each is a run to the gate; the benchmark has the rest.
LABEL_CASES = ["class_mix", "target_times_0.1"]
# A small-factor unit change is the benchmark's (its table says on which datasets it is caught); the
# gate's check path catches it on the taxi sample in tests/unit/test_calibration.py. So is a unit change
# of a column that is mostly zeros, which applies to few datasets.
BENCHMARK_ONLY = ["miles_as_km", "mm_as_inches"]  # the latter also in tests/unit/test_rescaled.py
ALL_CASES = [c.name for c in drift_cases.CASES if c.name not in LABEL_CASES + BENCHMARK_ONLY]
APPLICABLE = {
    "taxi": ALL_CASES + ["target_times_0.1"],
    "penguins_raw": [c for c in ALL_CASES if c != "milliseconds"] + ["class_mix"],
    "seattle_weather": [c for c in ALL_CASES if c != "category_mix"],
    "stocks": ["milliseconds", "category_mix"],
}
WINDOW = 1000  # requests per monitored window: the size skew thresholds are calibrated for
MATRIX = [(name, case) for name in DATASETS for case in APPLICABLE[name]]
# The gate checks StatisticsGen's statistics of each split with the checks `validate` runs on the whole
# span, so the whole matrix runs through `validate` and each case once through a pipeline run stopped
# at the gate (its split statistics), every dataset at least once: a run costs several times what a
# `validate` call does. A dataset's gated cases break different columns of one span, stopped by one
# run: each case's column must be named, so none passes for another case's finding.
GATED = [("taxi", "times_10"), ("taxi", "target_times_0.1"), ("taxi", "missing_30pct"),
         ("penguins_raw", "category_mix"), ("penguins_raw", "class_mix"), ("penguins_raw", "mean_shift"),
         ("seattle_weather", "times_0.1"), ("stocks", "milliseconds")]
# Labels are no model input: requests do not carry them. The public datasets' timestamps are (date
# features; taxi's is excluded, the data has its parts), and their unit change is a range check the
# monitor shares with the gate: not run again here. Each other case is sent to a server once (each
# costs a server start; the monitor's checks are the same on every dataset), on another dataset than
# the gate's, every dataset at least once; every dataset's unbroken requests are sent too.
MONITORED = [("taxi", "times_0.1"), ("taxi", "mean_shift"), ("penguins_raw", "missing_30pct"),
             ("seattle_weather", "times_10"), ("stocks", "category_mix")]
CASES = {c.name: c for c in drift_cases.CASES}


class Prepared:
    def __init__(self, name: str, root: str):
        self.name, self.root = name, root
        self.folder, self.csv = drift_matrix.prepare(name, root)
        self.declaration = dataset_module.load(self.folder)
        self.previous, self.span = drift_cases.halves(drift_cases.read(self.csv), drift_matrix.SPAN_SEED)
        self.work_dir, self.serving_dir = os.path.join(root, "work"), os.path.join(root, "serving")
        self.data = os.path.join(root, "spans")
        self.baseline = None  # the run that trained on span-1

    def broken(self, case: str) -> Tuple[str, object]:
        column, broken = drift_cases.broken_span(CASES[case], self.declaration, self.span)
        assert column is not None, f"{case} finds no column to break in {self.name}"
        return column, broken

    def run(self, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "cli", "run", "--dataset", self.folder, "--data", self.data,
             "--work-dir", self.work_dir, "--serving-dir", self.serving_dir, "--train-steps", TRAIN_STEPS,
             "--eval-steps", "20", "--naive-margin", "-1", *extra],
            capture_output=True, text=True, timeout=1200, check=False)

    def transforms(self) -> int:
        config = PipelineConfig(work_dir=self.work_dir, pipeline_name=self.declaration.name)
        store = metadata_store.open_store(config.metadata_path)
        node = store.get_context_by_type_and_name("node", f"{self.declaration.name}.Transform")
        return len(store.get_executions_by_context(node.id))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Dict[str, Prepared]:
    """Each dataset's folder (init calibrates it) and its span-1 trained and pushed."""
    found = {}
    for name in DATASETS:
        found[name] = dataset = Prepared(name, str(tmp_path_factory.mktemp(f"drift-{name}")))
        drift_cases.write_spans(dataset.data, [dataset.previous])
        dataset.baseline = dataset.run()
        assert dataset.baseline.returncode == 0, dataset.baseline.stdout + dataset.baseline.stderr[-3000:]
    return found


@pytest.mark.parametrize("name,case", MATRIX, ids=[f"{n}-{c}" for n, c in MATRIX])
def test_validate_stops_a_span_with_the_bug_and_names_the_column(prepared, name, case):
    dataset = prepared[name]
    column, broken = dataset.broken(case)
    data = drift_cases.write_spans(os.path.join(dataset.root, f"validate-{case}"), [dataset.previous, broken])
    code, output = drift_matrix.tfxpipe("validate", data, "--dataset", dataset.folder,
                                        "--report", os.path.join(dataset.root, f"{case}.html"))
    assert code == 1 and f"- {column}: " in output, output


def test_the_gated_and_monitored_cases_are_every_case_of_the_matrix():
    assert set(GATED) <= set(MATRIX) and set(MONITORED) <= set(MATRIX)
    assert {c for _, c in GATED} == {c for _, c in MATRIX} and {n for n, _ in GATED} == set(DATASETS)
    assert {c for _, c in MONITORED} == {c for _, c in MATRIX if c not in ["milliseconds", *LABEL_CASES]}
    assert {n for n, _ in MONITORED} == set(DATASETS) and not set(MONITORED) & set(GATED)


@dataclasses.dataclass
class Gated:
    run: subprocess.CompletedProcess
    transforms_kept: bool  # no Transform execution added: nothing trained
    served_kept: bool  # the serving folder byte-identical
    kept_failure: str  # what `runs show` tells later
    columns: Dict[str, str]  # case -> the column it broke


@pytest.fixture(scope="module")
def gated(prepared) -> Callable[[str], Gated]:
    """Per dataset (made when first asked for), one run on a span with each of its gated cases'
    columns broken."""
    made: Dict[str, Gated] = {}

    def run_of(name: str) -> Gated:
        if name not in made:
            dataset = prepared[name]
            broken, columns = dataset.span, {}
            for case in [c for n, c in GATED if n == name]:
                columns[case], broken = drift_cases.broken_span(CASES[case], dataset.declaration, broken)
            assert None not in columns.values() and len(set(columns.values())) == len(columns), (name, columns)
            served, transforms = snapshot(dataset.serving_dir), dataset.transforms()
            drift_cases.write_spans(dataset.data, [dataset.previous, broken])
            try:
                run = dataset.run()
            finally:
                shutil.rmtree(os.path.join(dataset.data, "span-2"))
            store = metadata_store.open_store(PipelineConfig(
                work_dir=dataset.work_dir, pipeline_name=dataset.declaration.name).metadata_path)
            made[name] = Gated(run, dataset.transforms() == transforms, snapshot(dataset.serving_dir) == served,
                               runs.record(store, run_summary.run_ids(store)[-1]).failure, columns)
        return made[name]
    return run_of


@pytest.mark.parametrize("name,case", GATED, ids=[f"{n}-{c}" for n, c in GATED])
def test_the_pipeline_gate_stops_the_span_before_anything_is_trained_or_pushed(prepared, gated, name, case):
    dataset = prepared[name]
    result = gated(name)
    column = result.columns[case]
    assert column == dataset.broken(case)[0], "the column validate's case breaks"
    run = result.run
    assert run.returncode == 1, run.stdout + run.stderr[-3000:]
    assert "the data gate stopped the run" in run.stderr and f"- {column}: " in run.stderr, run.stderr[-3000:]
    assert result.transforms_kept and result.served_kept
    assert result.kept_failure in run.stderr and f"--dataset {dataset.folder}" in result.kept_failure, \
        result.kept_failure


def _requests(dataset: Prepared, rows) -> List[bytes]:
    """What clients send: the model's features of each row (no label), at most one window."""
    features = dataset.declaration.feature_names()
    records = [{k: v for k, v in row.items() if k in features}
               for row in rows.head(WINDOW).to_dict("records")]
    schema = tfdv.load_schema_text(dataset.declaration.schema_file)
    return examples.serialize_rows(records, schema, dataset.declaration.missing_values)


def _monitor(dataset: Prepared, log_dir: str) -> Tuple[int, str]:
    return drift_matrix.tfxpipe("monitor", "--request-log", log_dir, "--dataset", dataset.folder,
                                "--work-dir", dataset.work_dir, "--serving-dir", dataset.serving_dir,
                                "--report", os.path.join(log_dir, "monitor.html"))


@pytest.fixture(scope="module")
def logged(prepared) -> Dict[Tuple[str, str], str]:
    """Per dataset, one server on the pushed model; each case's requests (and unbroken ones) are
    sent to it with their own request log. (dataset, case) -> log folder."""
    logs = {}
    for name in DATASETS:
        dataset = prepared[name]
        sent = {case: dataset.broken(case)[1] for n, case in MONITORED if n == name}
        sent["unbroken"] = dataset.span
        for case, rows in sent.items():
            log_dir = os.path.join(dataset.root, "requests", case)
            with serving_server.running(["--serving-dir", dataset.serving_dir, "--model-name",
                                         dataset.declaration.name, "--request-log", log_dir]) as server:
                connection = client.GrpcClient(server.grpc_target, dataset.declaration.name)
                batch = _requests(dataset, rows)
                for start in range(0, len(batch), 50):
                    connection.predict(batch[start:start + 50])
            logs[(name, case)] = log_dir
    return logs


@pytest.mark.parametrize("name,case", MONITORED, ids=[f"{n}-{c}" for n, c in MONITORED])
def test_monitor_flags_requests_with_the_bug(prepared, logged, name, case):
    dataset = prepared[name]
    column, _ = dataset.broken(case)
    code, output = _monitor(dataset, logged[(name, case)])
    assert code == 1 and f"- {column}: " in output, output


@pytest.mark.parametrize("name", DATASETS)
def test_monitor_is_quiet_on_requests_like_the_training_data(prepared, logged, name):
    code, output = _monitor(prepared[name], logged[(name, "unbroken")])
    assert code == 0 and "data meets the schema" in output, output
    assert "skew vs the training data of served version" in output, output  # found by lineage


@pytest.mark.parametrize("name", DATASETS)
def test_no_false_alarm_on_20_random_pairs_of_spans_and_of_request_windows(prepared, name):
    """Fresh draws (another seed than calibration's), through the gate's and monitor's checks."""
    dataset = prepared[name]
    assert drift_matrix.false_alarms(dataset.folder, dataset.csv, 20, seed=99) == \
        drift_matrix.FalseAlarms(spans=20, span_alarms=0, windows=20, window_alarms=0, features=[])
