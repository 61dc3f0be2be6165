"""ML Metadata on a real MySQL-compatible server (MariaDB, started here): a clear error for a wrong
password or a server that is not there, and the pipeline run, its cached re-run, the run table and
the lineage recorded there. PostgreSQL, which also locks runs across machines, is tested in
test_metadata_server.py and test_operations.py."""
import subprocess
import sys

import pytest

from pipeline import metadata_store, run_summary
from tests import mysql_server, postgres_server
from tests.e2e.conftest import PipelineWorkspace


@pytest.fixture(scope="module")
def server():
    with mysql_server.running_server() as running:
        yield running


def tfxpipe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          timeout=600, check=False)


def test_a_wrong_password_or_a_server_that_is_not_there_is_named_and_the_password_never_printed(
        server, tmp_path):
    wrong = server.uri.replace(f":{server.password}@", ":not-the-password@")
    done = tfxpipe("runs", "--work-dir", str(tmp_path), "--metadata", wrong)
    assert done.returncode == 1
    assert f"cannot connect to the metadata server mysql://{server.user}:***@" in done.stderr, done.stderr
    assert f"Access denied for user '{server.user}'" in done.stderr, done.stderr
    assert "not-the-password" not in done.stdout + done.stderr
    elsewhere = server.uri.replace(f":{server.port}/", f":{postgres_server.free_port()}/")
    gone = tfxpipe("runs", "--work-dir", str(tmp_path), "--metadata", elsewhere)
    assert gone.returncode == 1 and "Can't connect to MySQL server on '127.0.0.1'" in gone.stderr, gone.stderr


def test_a_run_and_its_cached_rerun_are_recorded_and_listed(server, tmp_path):
    """MLMD creates the database; the re-run is served from TFX's cache, which reads the store back
    in the order it asked (pipeline/metadata_server_fixes.py)."""
    workspace = PipelineWorkspace(tmp_path, server.uri)
    first = workspace.run([])
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.summary.pushed and first.summary.blessed
    again = workspace.run([])
    assert again.returncode == 0, again.stderr[-3000:]
    components = {node: states for node, states in again.summary.node_states.items() if not node.endswith("_resolver")}
    assert components and all(states == ["cached"] for states in components.values()), components
    assert not again.summary.pushed_by_this_run
    where = ("--work-dir", workspace.work_dir, "--metadata", server.uri)
    table = tfxpipe("runs", *where)
    assert table.returncode == 0, table.stderr
    rows = [line.split() for line in table.stdout.splitlines() if line.startswith("2")]
    assert [row[0] for row in rows] == [again.summary.run_id, first.summary.run_id]
    assert rows[1][-2:] == ["yes", first.summary.pushed_version] and rows[0][-1] == "-"
    store = metadata_store.open_store(server.uri)
    assert run_summary.run_ids(store, workspace.config.pipeline_name) == [first.summary.run_id, again.summary.run_id]
    shown = tfxpipe("runs", "show", first.summary.run_id, *where)
    assert shown.returncode == 0 and f"(version {first.summary.pushed_version})" in shown.stdout, shown.stderr
