"""ML Metadata on a real PostgreSQL server (started here): the password from a file or the
environment, a clear error for a wrong one, and the run lock held in the database, on PostgreSQL and
on MySQL (MariaDB, started here too), so runs on different machines (different work dirs) sharing
the store exclude each other. The pipeline run, `runs`, `resume` and `monitor` on PostgreSQL are in
test_operations.py (its postgresql variant), on MySQL in test_metadata_mysql.py."""
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline import db_lock, metadata_store, run_lock
from pipeline.configs import PipelineConfig
from tests import mysql_server, postgres_server
from tests.conftest import TAXI


@pytest.fixture(scope="module")
def server():
    with postgres_server.running_server() as running:
        yield running


@pytest.fixture(scope="module", params=["postgresql", "mysql"])
def lock_server(request):
    """A server whose database holds the run lock: the PostgreSQL one above, or MySQL."""
    if request.param == "postgresql":
        yield request.getfixturevalue("server")
    else:
        with mysql_server.running_server() as running:
            yield running


def tfxpipe(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          timeout=600, check=False, env=env)


def without_password(server) -> str:
    return f"postgresql://{server.user}@{server.host}:{server.port}/{server.dbname}"


def test_the_password_comes_from_a_file_or_the_environment(server, tmp_path):
    secret = tmp_path / "password"
    secret.write_text(server.password + "\n")
    from_file = tfxpipe("runs", "--work-dir", str(tmp_path), "--metadata", without_password(server),
                        "--metadata-password-file", str(secret))
    assert from_file.returncode == 0, from_file.stderr[-2000:]
    assert from_file.stdout.startswith("run id")
    from_environment = tfxpipe("runs", "--work-dir", str(tmp_path), "--metadata",
                               without_password(server),
                               env={**os.environ, "TFXPIPE_METADATA_PASSWORD": server.password})
    assert from_environment.returncode == 0 and from_environment.stdout == from_file.stdout


def test_a_wrong_password_is_named_and_never_printed(server, tmp_path):
    wrong = server.uri.replace(f":{server.password}@", ":not-the-password@")
    done = tfxpipe("runs", "--work-dir", str(tmp_path), "--metadata", wrong)
    assert done.returncode == 1
    assert f"cannot connect to the metadata server postgresql://{server.user}:***@" in done.stderr
    assert "password authentication failed" in done.stderr
    assert "not-the-password" not in done.stdout + done.stderr


def test_the_first_run_on_a_database_that_does_not_exist_yet_creates_it(lock_server, tmp_path):
    """The run lock is taken before any component runs; MLMD creates the database, where the user
    may, so the lock must not fail on a database MLMD has not created yet."""
    fresh = PipelineConfig(work_dir=str(tmp_path), metadata=lock_server.uri.rsplit("/", 1)[0] + "/fresh")
    with run_lock.held(fresh) as me:
        assert run_lock.holder(fresh).run_id == me.run_id
    assert run_lock.holder(fresh) is None


def test_a_run_on_another_machine_is_refused_while_the_database_lock_is_held(lock_server, tmp_path):
    """Two work dirs stand for two machines: their lock files differ, the database is shared."""
    server = lock_server
    holder_config = PipelineConfig(work_dir=str(tmp_path / "machine-a"), metadata=server.uri)
    holding = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from pipeline import run_lock\nfrom pipeline.configs import PipelineConfig\n"
         f"with run_lock.held(PipelineConfig(work_dir={holder_config.work_dir!r}, "
         f"metadata={server.uri!r})) as me:\n"
         "    print(me.run_id, flush=True)\n    time.sleep(600)\n"],
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    holder_run_id = holding.stdout.readline().strip()
    other_machine = PipelineConfig(work_dir=str(tmp_path / "machine-b"), metadata=server.uri)
    try:
        found = run_lock.holder(other_machine)
        assert found is not None and found.run_id == holder_run_id and found.pid == holding.pid
        refused = tfxpipe("run", "--work-dir", other_machine.work_dir, "--metadata", server.uri)
        assert refused.returncode == 1
        assert (f"pipeline '{TAXI.name}' is already running: run {holder_run_id} "
                f"(pid {holding.pid}") in refused.stderr
    finally:
        os.killpg(holding.pid, signal.SIGKILL)
        holding.wait()
    assert run_lock.holder(other_machine) is None, "the server released the killed holder's lock"


def _terminate(server, connection) -> None:
    """What a server restart or a network cut does to a connection: its session ends on the server."""
    if metadata_store.is_postgresql(server.uri):
        with contextlib.closing(metadata_store.connect_postgresql(server.uri, "test")) as other:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", (connection.get_backend_pid(),))
                assert cursor.fetchone() == (True,)
    else:
        with contextlib.closing(metadata_store.connect_mysql(server.uri)) as other:
            with other.cursor() as cursor:
                cursor.execute("KILL CONNECTION %s", (connection.thread_id(),))


def _unlock_all(server, connection) -> None:
    """What a proxy handing the connection a new session does: the session holds no lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock_all()" if metadata_store.is_postgresql(server.uri)
                       else "SELECT RELEASE_ALL_LOCKS()")


def _until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _took(stack: contextlib.ExitStack, server, pipeline_name: str, holder: dict) -> bool:
    """Whether a run named `holder` took the pipeline's lock (held until `stack` closes)."""
    return stack.enter_context(db_lock.advisory_lock(server.uri, pipeline_name, holder, False, print))


def test_a_run_lock_whose_connection_drops_is_taken_again_or_the_run_that_took_it_is_named(
        lock_server, tmp_path, monkeypatch):
    server = lock_server
    monkeypatch.setattr(db_lock, "KEEPALIVE_SECONDS", 3600)  # the keeper's beats are driven here
    keepers = []

    class Recorded(db_lock.LockKeeper):
        def __init__(self, *args):
            super().__init__(*args)
            keepers.append(self)

    monkeypatch.setattr(db_lock, "LockKeeper", Recorded)
    config = PipelineConfig(work_dir=str(tmp_path / "machine-a"), metadata=server.uri).resolved()
    other_machine = PipelineConfig(work_dir=str(tmp_path / "machine-b"), metadata=server.uri)
    said = []
    with run_lock.held(config, on_wait=said.append) as me:
        [keeper] = keepers
        assert keeper.beat() and said == []  # held: nothing to say
        _unlock_all(server, keeper.connection)  # a live session without the lock (a proxy's new one)
        assert keeper.beat() and said == ["The connection holding the run lock in the metadata database "
                                          "was lost; the lock is taken again"]
        assert run_lock.holder(other_machine).run_id == me.run_id
        said.clear()
        # A network cut: the connection is gone here while its session lives on in the server,
        # holding the lock (here: another session named as this run's takes it as the first ends).
        with contextlib.ExitStack() as old_session:
            _terminate(server, keeper.connection)
            assert _until(lambda: _took(old_session, server, config.pipeline_name, dataclasses.asdict(me)))
            assert keeper.beat() and said == ["The connection holding the run lock in the metadata database "
                                              "was lost; the lock is taken again"]
        assert run_lock.holder(other_machine).run_id == me.run_id
        # dropped again, and another machine's run takes the lock before this one's next beat
        other = {"run_id": "run-b", "pid": 1, "host": "machine-b", "started": "now"}
        with contextlib.ExitStack() as other_machine_run:
            _terminate(server, keeper.connection)
            assert _until(lambda: _took(other_machine_run, server, config.pipeline_name, other))
            assert keeper.beat() is False
        assert said[1].startswith("warning: the run lock in the metadata database was lost with its "
                                  "connection, and run run-b (host machine-b) took it since"), said
    assert run_lock.holder(other_machine) is None


@pytest.mark.parametrize("lock_server", ["mysql"], indirect=True)
def test_a_mysql_lock_whose_holder_could_not_be_named_still_counts_as_held(lock_server):
    """MySQL names no lock's owner: the holder writes its name in a table; held without it (a user
    that may not write it), the lock still stops other runs, its holder unnamed."""
    me = {"run_id": "run-a", "pid": 1, "host": "machine-a", "started": "now"}
    with db_lock.advisory_lock(lock_server.uri, "unnamed", me, False, print) as taken:
        assert taken and db_lock.holder(lock_server.uri, "unnamed")["run_id"] == "run-a"
        with contextlib.closing(metadata_store.connect_mysql(lock_server.uri)) as other:
            with other.cursor() as cursor:
                cursor.execute("DROP TABLE tfxpipe_run_lock")
        found = db_lock.holder(lock_server.uri, "unnamed")
        assert found["run_id"] == "?" and "MySQL connection" in found["host"], found
        with contextlib.ExitStack() as stack:
            assert not _took(stack, lock_server, "unnamed", {**me, "run_id": "run-b"})
    assert db_lock.holder(lock_server.uri, "unnamed") is None

