"""The curated schema as a gate: bad data stops the real pipeline before Transform, the served model
is untouched, and `tfxpipe validate` gives the same verdict."""
import dataclasses
import html
import os
import re
import subprocess
import sys
from typing import Callable, Dict, List, Optional, Tuple

import pytest
import tensorflow_data_validation as tfdv
from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import schema_pb2

from benchmarks import drift_matrix
from pipeline import metadata_store, resolvers, run_report, run_summary, runs, training_data
from pipeline.gate import REFUSALS_DIR
from pipeline.configs import PROJECT_ROOT
from serving import model_dir
from tests.bad_data import CASES, Case, combined, shuffled_slices, write_rows
from tests.conftest import TAXI, TAXI_SCHEMA
from tests.e2e.conftest import CliRun, PipelineWorkspace, snapshot


def _transform_executions(metadata_path: str) -> int:
    store = metadata_store.open_store(metadata_path)
    node = store.get_context_by_type_and_name("node", "taxi.Transform")
    return len(store.get_executions_by_context(node.id))


def _validate(path: str, *options: str, cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", "validate", path, *options], cwd=cwd,
                          env={**os.environ, "PYTHONPATH": PROJECT_ROOT}, capture_output=True,
                          text=True, timeout=600, check=False)


# Problems in different columns are found together: one run on a span holding a group's problems
# checks each of its cases (each still a test of its own); a problem of the whole file, or a second
# one in a column, has its run alone.
TOGETHER = (("string_in_numeric", "unseen_category", "out_of_range", "required_all_empty"),
            ("missing_column", "extra_column"))


@dataclasses.dataclass
class Refused:
    """A run on bad data, and what it left: runs recorded, Transform executions and served files
    before and after, the report page, the gate's execution in MLMD, and `validate`'s verdict."""
    data: str
    run: CliRun
    runs: Tuple[List[str], List[str]]
    record: runs.RunRecord
    transforms: Tuple[int, int]
    served: Tuple[dict, dict]
    report: str
    gate: Optional[metadata_store_pb2.Execution]  # this run's DataGate execution, if it started
    validated: Tuple[int, str]


@pytest.fixture(scope="module")
def refusals(workspace, unreachable_threshold_run, tmp_path_factory) -> Callable[[Case], Refused]:
    """Case -> its run (its group's), made when a test first asks."""
    made: Dict[str, Refused] = {}

    def refused(case: Case) -> Refused:
        if case.name not in made:
            group = next((g for g in TOGETHER if case.name in g), (case.name,))
            data = str(tmp_path_factory.mktemp(case.name) / "data")
            cases = [c for c in CASES if c.name in group]
            if len(cases) == 1:
                case.make(data)
            else:
                combined(cases, data)
            store = lambda: metadata_store.open_store(workspace.metadata_path)  # noqa: E731  (read afresh)
            before = (run_summary.run_ids(store()), _transform_executions(workspace.metadata_path),
                      snapshot(workspace.serving_dir))
            run = workspace.run(["--data", data])
            written = store()
            after = run_summary.run_ids(written)
            gate_ids = {e.id for e in written.get_executions_by_context(
                written.get_context_by_type_and_name("node", "taxi.DataGate").id)}
            this_run = written.get_context_by_type_and_name("pipeline_run", after[-1])
            gate = [e for e in written.get_executions_by_context(this_run.id) if e.id in gate_ids] if this_run else []
            with open(os.path.join(workspace.report_dir, "data_validation.html"), encoding="utf-8") as f:
                report = f.read()
            validated = drift_matrix.tfxpipe("validate", data, "--report", os.path.join(data, "..", "validate.html"))
            made.update({name: Refused(
                data, run, (before[0], after), runs.record(written, after[-1]),
                (before[1], _transform_executions(workspace.metadata_path)), (before[2], snapshot(workspace.serving_dir)),
                report, gate[-1] if gate else None, validated)
                for name in group})
        return made[case.name]

    return refused


def _finding(case: Case) -> str:
    """The case's problem on its feature's line: a group's run tells several, so feature and
    problem anywhere would not do."""
    return rf"{re.escape(case.feature)}: [^\n]*(?:{case.problem})"


def _told(case: Case, text: str) -> bool:
    """`text`, a command's output, lists the case's finding."""
    return bool(re.search(rf"^- {_finding(case)}", text, re.M))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_data_stops_the_run_before_transform(case, refusals):
    refused = refusals(case)
    run = refused.run
    assert run.returncode == 1
    output = run.stdout + run.stderr
    assert _told(case, output), output[-3000:]
    # Data refused before the pipeline started runs no component (no "Run ... of pipeline" line), and
    # is recorded, as refused and why, where runs are looked at; the gate's refusals are stopped runs.
    started = "rejected before the pipeline started" not in run.stderr
    assert bool(re.search(r"^Run \S+ of pipeline", run.stdout, re.M)) == started, run.stdout
    runs_before, runs_after = refused.runs
    assert runs_after[:-1] == runs_before
    record = refused.record
    assert record.status == ("stopped by gate" if started else "refused") and case.feature in record.failure
    assert started or f"Run {record.run_id} recorded as refused" in run.stderr
    if started:  # the gate's own execution in this run failed, why kept in MLMD
        assert refused.gate is not None, "this run has a DataGate execution"
        assert run_summary._STATE_NAMES[refused.gate.last_known_state] == "failed"  # pylint: disable=protected-access
        reason = refused.gate.custom_properties[run_summary.FAILURE_REASON].string_value
        assert re.search(_finding(case), reason), reason
    told = re.findall(rf"^- {re.escape(case.feature)}: (.+?)\. \[", run.stderr, re.M)
    assert len(told) == len(set(told)), "a problem of the span is told once, not once per split"
    if case.name in ("string_in_numeric", "out_of_range"):  # the gate reads the span again for the lines
        assert re.search(rf"e\.g\.: +line \d+: '{'twelve' if case.name == 'string_in_numeric' else '30'}'",
                         run.stderr), run.stderr[-3000:]
        assert "`tfxpipe validate` on the span's file or folder names their lines" not in run.stderr
    assert refused.transforms[1] == refused.transforms[0]
    assert refused.served[1] == refused.served[0]
    row = rf"<tr><td>{re.escape(html.escape(case.feature))}</td>(?:(?!</tr>).)*?(?:{case.problem})"
    assert re.search(row, refused.report, re.S), "the report's row of the feature names the problem"
    # the report named, by the gate or before the run started, is the run's own, which a later run does not rewrite
    [named] = re.findall(r"^Report: (\S+)$", run.stderr, re.M)
    assert f"/{REFUSALS_DIR}/" in named and open(named, encoding="utf-8").read() == refused.report, named
    code, output = refused.validated
    assert code == 1 and _told(case, output), output


def test_validate_passes_a_random_sample_of_the_datasets_own_data(tmp_path):
    """Without --previous, drift is checked against the dataset's declared data: a sample of that
    data must not raise a false alarm. Without --report, the report goes under the work dir's
    reports, not into the folder the command was started from."""
    header, (sample,) = shuffled_slices(11, 6000)
    data = str(tmp_path / "sample")
    write_rows(data, [header] + sample)
    started_in = tmp_path / "elsewhere"
    started_in.mkdir()
    verdict = _validate(data, cwd=str(started_in))
    assert verdict.returncode == 0, verdict.stdout
    assert "drift vs " in verdict.stdout
    report = started_in / "work" / "reports" / "taxi" / "validate" / "data_validation.html"
    assert str(report) in verdict.stdout and "The data meets the schema" in report.read_text()
    assert sorted(p.name for p in started_in.iterdir()) == ["work"]


WINDOW_OPTIONS = ["--max-drop", "1", "--train-spans", "3"]


@pytest.fixture(scope="module")
def span_workspace(tmp_path_factory):
    """span-1 runs through the whole pipeline; later spans are added to the same data root."""
    root = tmp_path_factory.mktemp("spans")
    header, halves = shuffled_slices(3, 6000, 6000)
    data = str(root / "data")
    workspace = PipelineWorkspace(root)
    first = workspace.run_with_new_span(data, "span-1", [header] + halves[0])
    assert first.returncode == 0, first.stderr[-3000:]
    return workspace, data, header, halves


def test_new_span_from_the_same_distribution_passes_and_is_pushed_however_pandas_wrote_its_integers(
        span_workspace):
    """Span-2 has its integer columns (codes, seconds, timestamps) written as floats, `540.0`, as
    pandas writes an integer column on a day it has a gap: read as the integers the schema declares,
    they are no type change. Six trips name taxi companies the schema does not list, fewer than
    company's tolerance: they pass, and the run's output, its report and `runs show` name them."""
    workspace, data, header, halves = span_workspace
    pushed_before = os.listdir(workspace.model_base)
    integers = {header.index(f.name) for f in tfdv.load_schema_text(TAXI_SCHEMA).feature if f.type == schema_pb2.INT}
    as_floats = [[f"{float(cell)}" if i in integers and cell else cell for i, cell in enumerate(row)]
                 for row in halves[1]]
    assert sum(cell.endswith(".0") for row in as_floats for cell in row) > len(as_floats)
    company = header.index("company")
    for number, row in enumerate(as_floats[:6]):
        row[company] = f"Cab {number}"
    run = workspace.run_with_new_span(data, "span-2", [header] + as_floats, ["--max-drop", "0.05"])
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert run.summary.node_states["DataGate"] == ["executed"]
    assert run.summary.pushed and run.summary.node_states["Pusher"] == ["executed"]
    assert len(os.listdir(workspace.model_base)) == len(pushed_before) + 1
    [note] = [line for line in run.stdout.splitlines() if line.startswith("note: values the schema does not list")]
    assert re.search(r"company: 'Cab \d' \(1 of 6000 rows\), 'Cab \d' .* and 3 more", note), note
    with open(run_report.path_for(workspace.report_dir, run.summary.run_id), encoding="utf-8") as page:
        assert f"<p class='warning' id='let-through'>{html.escape(note)}</p>" in page.read()
    shown = subprocess.run([sys.executable, "-m", "cli", "runs", "show", "--work-dir", workspace.work_dir],
                           capture_output=True, text=True, timeout=300, check=True)
    assert note in shown.stdout.splitlines()


def test_drifted_span_is_stopped_by_the_drift_comparator(span_workspace):
    workspace, data, header, halves = span_workspace
    if not os.path.isdir(os.path.join(data, "span-2")):
        assert workspace.run_with_new_span(data, "span-2", [header] + halves[1],
                                           ["--max-drop", "1"]).returncode == 0
    payment = header.index("payment_type")  # a third of the cash trips now pay by card
    drifted = [row[:payment] + ["Credit Card" if row[payment] == "Cash" and i % 3 == 0 else row[payment]]
               + row[payment + 1:] for i, row in enumerate(halves[0])]
    served_before = snapshot(workspace.serving_dir)

    run = workspace.run_with_new_span(data, "span-3", [header] + drifted)

    assert run.returncode == 1
    assert "payment_type" in run.stderr and "Jensen-Shannon divergence" in run.stderr, run.stderr[-3000:]
    assert snapshot(workspace.serving_dir) == served_before
    verdict = _validate(data, "--report", os.path.join(workspace.work_dir, "validate.html"))
    assert verdict.returncode == 1 and "payment_type" in verdict.stdout


def test_a_refused_span_is_not_what_the_next_span_is_compared_with(span_workspace):
    """After span-3 was refused, span-4, like the spans accepted before it, passes: drift is checked
    against the newest span the gate accepted, never against refused data; `validate` takes the
    same reference. It trains on a window of
    three spans (the next test checks which)."""
    workspace, data, header, halves = span_workspace
    if not os.path.isdir(os.path.join(data, "span-3")):
        test_drifted_span_is_stopped_by_the_drift_comparator(span_workspace)

    run = workspace.run_with_new_span(data, "span-4", [header] + halves[0], WINDOW_OPTIONS)

    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "Trained on spans 1,2,4 (window of 3); evaluated on span 4" in run.stdout
    with open(re.search(r"^Run report: (\S+)$", run.stdout, re.M).group(1), encoding="utf-8") as page:
        assert "1,2,4: trained on these, evaluated on span 4" in page.read()
    assert run.summary.node_states["DataGate"] == ["executed"]
    store = metadata_store.open_store(workspace.metadata_path)
    gate = store.get_context_by_type_and_name("node", "taxi.DataGate")
    latest = max(store.get_executions_by_context(gate.id), key=lambda e: e.id)
    (reference,) = [e.artifact_id for e in store.get_events_by_execution_ids([latest.id])
                    if e.path.steps and e.path.steps[0].key == "previous_statistics"]
    assert resolvers.statistics_spans(store, [reference]) == {reference: 2}, "span-2, not span-3"
    verdict = _validate(data, "--work-dir", workspace.work_dir,  # the gate's reference, from MLMD
                        "--report", os.path.join(workspace.work_dir, "validate-span-4.html"))
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr[-2000:]
    assert f"(drift vs {os.path.join(data, 'span-2')})" in verdict.stdout, verdict.stdout


def _latest_io(store, node: str, kind, key: str) -> List[int]:
    """Ids of the artifacts the newest execution of `node` read (INPUT) or wrote (OUTPUT) as `key`."""
    context = store.get_context_by_type_and_name("node", f"taxi.{node}")
    latest = max(store.get_executions_by_context(context.id), key=lambda e: e.id)
    return sorted(e.artifact_id for e in store.get_events_by_execution_ids([latest.id])
                  if e.type == kind and e.path.steps[0].key == key)


def _input_spans(store, node: str) -> List[int]:
    """Spans of the Examples the newest execution of `node` read (its `examples` input)."""
    ids = _latest_io(store, node, metadata_store_pb2.Event.INPUT, "examples")
    return sorted(a.custom_properties["span"].int_value for a in store.get_artifacts_by_id(ids))


def _the_served_models_training_statistics_cover_its_window(store, workspace):
    """What `monitor` compares requests with: the train splits of spans 1, 2 and 4 together."""
    version = str(model_dir.versions(workspace.model_base)[-1])
    examples = training_data.served_model_training_examples(store, TAXI.name, version)
    assert [a.custom_properties["span"].int_value for a in examples] == [1, 2, 4]
    schema = tfdv.load_schema_text(TAXI_SCHEMA)
    window = training_data.training_statistics(store, examples, schema)
    each = [training_data.training_statistics(store, [a], schema) for a in examples]
    assert window.datasets[0].num_examples == sum(s.datasets[0].num_examples for s in each) > 0


def test_a_training_window_learns_from_the_newest_accepted_spans_never_a_refused_one(span_workspace):
    """span-4's run with `--train-spans 3`, after span-3 was refused: Transform read spans 4, 2 and
    1, the Trainer their transformed examples, the Evaluator span-4 alone; a re-run is cached."""
    workspace, data, _, _ = span_workspace
    if not os.path.isdir(os.path.join(data, "span-4")):
        test_a_refused_span_is_not_what_the_next_span_is_compared_with(span_workspace)
    store = metadata_store.open_store(workspace.metadata_path)
    assert _input_spans(store, "Transform") == [1, 2, 4]
    transformed = _latest_io(store, "Transform", metadata_store_pb2.Event.OUTPUT, "transformed_examples")
    assert len(transformed) == 3  # one per span
    assert _latest_io(store, "Trainer", metadata_store_pb2.Event.INPUT, "examples") == transformed
    assert _input_spans(store, "Evaluator") == [4]
    assert runs.record(store, run_summary.run_ids(store)[-1]).spans == [1, 2, 4]
    _the_served_models_training_statistics_cover_its_window(store, workspace)
    served = snapshot(workspace.serving_dir)

    again = workspace.run(["--data", data, *WINDOW_OPTIONS])

    assert again.returncode == 0 and again.summary.node_states["Trainer"] == ["cached"]
    assert again.serving_snapshot == served and "nothing new pushed" in again.stdout
