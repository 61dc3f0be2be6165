"""Runs that are safe together and after a crash: one run at a time per pipeline (a second is refused
with the holder named, or waits), SIGKILL at every component boundary and in the middle of the push,
and a disk that fills up while the model is being pushed."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

import pytest
from ml_metadata.proto import metadata_store_pb2

from pipeline import metadata_store, run_report, run_summary
from serving import model_dir
from tests import paused_push, small_disk
from tests.e2e.conftest import PipelineWorkspace, SampleWorkspace, snapshot

PROGRESS = re.compile(r"^\s+(\S+)\s+[\d.]+ s\s+(done|cached)$")
RUN_STARTED = re.compile(r"^Run (\S+) of pipeline")


def start(command: List[str], env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=env)


def read_until(process: subprocess.Popen, wanted) -> Tuple[str, List[str]]:
    """Reads stdout lines until `wanted(line)` is true; returns that line and every line read."""
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if wanted(lines[-1]):
            return lines[-1], lines
    process.wait()
    raise AssertionError(f"the run ended (exit {process.returncode}) before the expected point:\n"
                         + "\n".join(lines) + process.stderr.read()[-3000:])


def kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def tfxpipe_runs(workspace: PipelineWorkspace) -> List[List[str]]:
    listing = subprocess.run([sys.executable, "-m", "cli", "runs", "--work-dir", workspace.work_dir],
                             capture_output=True, text=True, check=True)
    return [line.split() for line in listing.stdout.splitlines() if line.startswith("2")]


def test_a_second_run_is_refused_naming_the_first_and_a_waiting_one_runs_cached(tmp_path):
    workspace = SampleWorkspace(tmp_path)
    first = start(workspace.command([]))
    line, _ = read_until(first, RUN_STARTED.match)
    first_id = RUN_STARTED.match(line).group(1)

    refused = subprocess.run(workspace.command([]), capture_output=True, text=True, timeout=300)
    assert refused.returncode == 1
    assert f"pipeline 'taxi' is already running: run {first_id} (pid {first.pid}" in refused.stderr
    assert "--wait" in refused.stderr
    waiting = start(workspace.command(["--wait"]))
    read_until(waiting, lambda text: text.startswith(f"Waiting for run {first_id}"))

    first_out = first.communicate(timeout=900)[0]
    waited_out = waiting.communicate(timeout=900)[0]
    assert first.returncode == 0 and waiting.returncode == 0, first_out + waited_out
    waited_id = re.search(r"^Run (\S+) of pipeline", waited_out, re.M).group(1)
    assert waited_id != first_id
    store = metadata_store.open_store(workspace.metadata_uri)
    assert run_summary.run_ids(store) == [first_id, waited_id]  # the refused run recorded nothing
    first_summary, waited_summary = workspace.summary(first_id), workspace.summary(waited_id)
    assert first_summary.pushed and f"Pushed model version {first_summary.pushed_version}" in first_out
    assert waited_summary.node_states["Pusher"] == ["cached"]
    assert f"nothing new pushed; version {first_summary.pushed_version}" in waited_out
    assert model_dir.versions(workspace.model_base) == [int(first_summary.pushed_version)]
    for run_id, out in ((first_id, first_out), (waited_id, waited_out)):
        report = run_report.path_for(workspace.report_dir, run_id)
        assert f"Run {run_id} finished" in out and f"Run report: {report}" in out
        with open(report, encoding="utf-8") as f:
            assert run_id in f.read()


@pytest.mark.parametrize("stop, code, said", [
    (lambda run: os.killpg(run.pid, signal.SIGINT), 130, "interrupted"),  # Ctrl-C: the whole foreground group
    (lambda run: os.kill(run.pid, signal.SIGTERM), 143, "terminated (SIGTERM)"),  # a scheduler, `kill`
], ids=["ctrl_c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_a_run_with_one_line_and_the_run_is_listed_as_abandoned(tmp_path, stop, code, said):
    workspace = SampleWorkspace(tmp_path)
    run = start(workspace.command([]))
    read_until(run, lambda text: (found := PROGRESS.match(text)) is not None and found.group(2) == "done")
    stop(run)
    _, err = run.communicate(timeout=300)
    assert run.returncode == code, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert f"{said}: tfxpipe run stopped (if the run had started, `tfxpipe runs` lists it as abandoned, " \
           "and `tfxpipe resume`" in err
    row = tfxpipe_runs(workspace)[0]
    assert row[4] == "abandoned", row


def _during_transforms_analysis(workspace: SampleWorkspace) -> subprocess.Popen:
    """A run started and read until Transform's analysis is under way (its temporary files there)."""
    run = start(workspace.command([]))
    read_until(run, lambda text: (found := PROGRESS.match(text)) is not None and found.group(1) == "DataGate")
    transform = os.path.join(workspace.work_dir, "pipelines", "taxi", "Transform")
    while not any("tftransform_tmp" in folders for _, folders, _ in os.walk(transform)):
        assert run.poll() is None, "the run ended before Transform's analysis began"
        time.sleep(0.05)
    time.sleep(1)  # inside one of its Beam steps, most likely
    return run


def _transform_execution(workspace: SampleWorkspace) -> metadata_store_pb2.Execution:
    store = metadata_store.open_store(workspace.metadata_uri)
    [transform] = [e for e in store.get_executions() if run_summary.node_of(store, e.id) == "Transform"]
    return transform


def test_a_stop_during_transforms_analysis_is_an_abandoned_run_recorded_at_once_not_a_failure(tmp_path):
    """Ctrl-C that lands inside a Beam step is re-raised by Beam as a RuntimeError, which TFX records
    as the component's failure ("Transform failed", the run `failed`); elsewhere it left the execution
    RUNNING until the next run marked it. Either way the run is one a stop ended: abandoned at
    Transform, its execution marked as the stop ends it."""
    workspace = SampleWorkspace(tmp_path)
    run = _during_transforms_analysis(workspace)
    os.killpg(run.pid, signal.SIGINT)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 130, err[-3000:]
    assert "interrupted: tfxpipe run stopped" in err and "failed" not in err, err[-3000:]
    row = tfxpipe_runs(workspace)[0]
    assert (row[4], row[6], row[-3:]) == ("abandoned", "passed", ["abandoned", "at", "Transform"]), row
    transform = _transform_execution(workspace)
    assert transform.last_known_state == metadata_store_pb2.Execution.CANCELED
    assert transform.custom_properties[run_summary.FAILURE_REASON].string_value == run_summary.STOPPED


def test_a_killed_run_keeps_its_own_time_once_a_later_run_marks_it_abandoned(tmp_path):
    """SIGKILL leaves Transform RUNNING; the next run marks it CANCELED, which MLMD stamps as the
    execution's last update: the run's time would then run until that later run."""
    workspace = SampleWorkspace(tmp_path)
    kill(_during_transforms_analysis(workspace))
    assert _transform_execution(workspace).last_known_state == metadata_store_pb2.Execution.RUNNING
    before = tfxpipe_runs(workspace)[0]
    time.sleep(1.5)
    assert run_summary.mark_abandoned(metadata_store.open_store(workspace.metadata_uri, writable=True), "taxi")
    after = tfxpipe_runs(workspace)[0]
    assert before[4] == after[4] == "abandoned" and after[3] == before[3], (before, after)


@pytest.fixture(scope="module")
def crash_matrix(tmp_path_factory):
    """Kills one run after each component in turn (the next run redoes only what was left), then
    two runs inside the push, then lets the last run finish; the runs' temporary folder is one of
    the test's own, listed before the last run and after it."""
    workspace = SampleWorkspace(tmp_path_factory.mktemp("crashes"))
    temporary = tmp_path_factory.mktemp("tmp")
    env = {**os.environ, "TMPDIR": str(temporary)}
    killed, abandoned_right_after = [], None
    while "InfraValidator" not in killed:
        run = start(workspace.command([]), env)
        line, _ = read_until(run, lambda text: (found := PROGRESS.match(text)) is not None
                             and found.group(2) == "done" and found.group(1) not in killed)
        kill(run)
        killed.append(PROGRESS.match(line).group(1))
        assert model_dir.versions(workspace.model_base) == [], "nothing is pushed before the Pusher"
        if abandoned_right_after is None:
            abandoned_right_after = tfxpipe_runs(workspace)[0]
    in_push = {}
    for point in ("copying", "published"):
        run = start([sys.executable, "-m", "tests.paused_push", point, *workspace.command([])[3:]], env)
        read_until(run, lambda text: text == paused_push.MARKER)
        kill(run)
        in_push[point] = (model_dir.versions(workspace.model_base), os.listdir(workspace.model_base))
    left_by_the_kills = os.listdir(temporary)
    final = workspace.run([], env=env)
    assert final.returncode == 0, final.stdout + final.stderr[-3000:]
    return workspace, killed, abandoned_right_after, in_push, final, (left_by_the_kills, os.listdir(temporary))


def test_a_run_is_killed_after_every_component_before_the_pusher(crash_matrix):
    _, killed, _, _, final, _ = crash_matrix
    assert sorted(killed) == sorted(node for node in final.summary.node_states if node != "Pusher")
    assert killed[0] == "CsvExampleGen" and killed[-1] == "InfraValidator"


def test_what_killed_runs_left_in_the_temporary_folder_is_removed_by_the_next_run(crash_matrix):
    left_by_the_kills, after_the_next_run = crash_matrix[5]
    assert len(left_by_the_kills) == 1  # the last killed run's: each run removed those killed before it
    assert after_the_next_run == []


def test_a_killed_run_is_listed_as_abandoned_at_once(crash_matrix):
    row = crash_matrix[2]
    assert row[4] == "abandoned", row


def test_each_killed_run_has_its_report_once_the_next_run_marks_it_abandoned(crash_matrix):
    """The runs index links every run's page: a killed process wrote none, so the run after it does."""
    workspace, killed = crash_matrix[0], crash_matrix[1]
    run_ids = run_summary.run_ids(metadata_store.open_store(workspace.metadata_uri))
    assert len(run_ids) == len(killed) + 3  # each kill, the two kills inside the push, the last run
    assert [r for r in run_ids if not os.path.exists(run_report.path_for(workspace.report_dir, r))] == []


def test_a_push_killed_mid_copy_leaves_only_a_hidden_staging_folder(crash_matrix):
    versions, names = crash_matrix[3]["copying"]
    assert versions == []  # TF Serving loads integer folders only: nothing half-written is visible
    assert len(names) == 1 and names[0].startswith(model_dir.STAGING_PREFIX)


def test_after_every_crash_the_same_command_pushes_exactly_one_complete_version(crash_matrix):
    workspace, _, _, in_push, final, _ = crash_matrix
    published_before_the_kill = in_push["published"][0]
    assert len(published_before_the_kill) == 1
    assert model_dir.versions(workspace.model_base) == published_before_the_kill
    assert os.listdir(workspace.model_base) == [str(published_before_the_kill[0])]  # no staging left
    assert final.summary.pushed and final.summary.pushed_version == str(published_before_the_kill[0])
    assert final.summary.node_states["Pusher"] == ["executed"]
    redone = [node for node, states in final.summary.node_states.items() if states == ["executed"]]
    assert set(redone) <= {"Pusher", "ImportSchemaGen", "previous_span_statistics_resolver",
                           "baseline_model_resolver", "last_tuned_resolver"}, \
        "only the push (and resolvers) ran again"


def test_every_killed_run_is_recorded_as_abandoned_and_nothing_stays_running(crash_matrix):
    workspace, killed, _, _, final, _ = crash_matrix
    rows = tfxpipe_runs(workspace)
    assert rows[0][0] == final.summary.run_id and rows[0][4] == "ok"
    assert [row[4] for row in rows[1:]] == ["abandoned"] * (len(killed) + 2)
    store = metadata_store.open_store(workspace.metadata_uri)
    executions = store.get_executions()
    assert not [e for e in executions if e.last_known_state in run_summary.UNFINISHED]
    canceled = [e for e in executions if e.last_known_state == metadata_store_pb2.Execution.CANCELED]
    assert canceled and all(e.custom_properties[run_summary.FAILURE_REASON].string_value
                            == run_summary.ABANDONED for e in canceled)


def test_a_full_disk_while_pushing_leaves_the_served_versions_byte_identical(crash_matrix, tmp_path):
    assert small_disk.available(), "needs `unshare --user --mount` to mount a small tmpfs"
    workspace = crash_matrix[0]
    served = snapshot(workspace.serving_dir)
    used = sum(os.stat(os.path.join(root, name)).st_blocks * 512 // 1024 + 4
               for root, _, names in os.walk(workspace.serving_dir) for name in names)
    small = tmp_path / "small-disk"
    small.mkdir()
    result_file = str(tmp_path / "after.json")
    # Room for the served version and for less than half of a new one; fewer train steps: a new model.
    command = small_disk.command(used + used // 3, workspace.serving_dir, str(small), result_file,
                                 *workspace.command(["--serving-dir", str(small), "--train-steps", "200"]))
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    assert "Pusher failed" in done.stderr and "no space left on the device of" in done.stderr
    assert "nothing was published and the versions there are unchanged" in done.stderr
    with open(result_file, encoding="utf-8") as f:
        assert json.load(f) == served  # byte-identical, and no staging folder left
