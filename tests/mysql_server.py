"""A throwaway MySQL-compatible server for tests: MariaDB from Debian's packages (`make test`
installs `mariadb-server-core` and `mariadb-client-core` where they are missing: no service).

Tests of ML Metadata's MySQL backend start their own short-lived server here, as
tests/postgres_server.py does for PostgreSQL: a fresh data directory in a temp dir, a free loopback
port, the socket inside the temp dir, a user with a password (TCP) for what the tests connect with,
and the administrator (root, or the user who runs the tests) on the socket to create it. The server is stopped and deleted on exit.
"""
import contextlib
import dataclasses
import getpass
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from typing import Iterator

from tests.postgres_server import PostgresServer, free_port

SBIN = ("/usr/sbin", "/usr/bin")


@dataclasses.dataclass(frozen=True)
class MySQLServer(PostgresServer):
    SCHEME = "mysql"


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        (os.path.join(d, name) for d in SBIN if os.path.exists(os.path.join(d, name))), None)
    if found is None:
        raise RuntimeError(f"MariaDB's {name} not found: install Debian's mariadb-server-core and "
                           "mariadb-client-core packages (`make test` does) to run these tests")
    return found


@contextlib.contextmanager
def running_server(user: str = "tfx", dbname: str = "tfx_test", start_seconds: float = 30.0,
                   start_attempts: int = 3) -> Iterator[MySQLServer]:
    """Start a fresh server, yield its MySQLServer (the database is MLMD's to create), then stop
    it and delete it. A port taken by another process before the server binds it: a new one."""
    tmp = tempfile.mkdtemp(prefix="mysqltest-")
    data, socket_path, log = (os.path.join(tmp, name) for name in ("data", "socket", "server.log"))
    # mariadbd refuses root unless told to run as root (tests, CI too, run as root)
    as_user = ["--user=root"] if os.geteuid() == 0 else []
    server = None
    try:
        subprocess.run([_binary("mariadb-install-db"), "--no-defaults", f"--datadir={data}",
                        "--auth-root-authentication-method=socket", "--skip-test-db", *as_user],
                       capture_output=True, text=True, check=True, cwd=tmp)
        for attempt in range(start_attempts):
            port = free_port()
            with open(log, "w") as out:
                server = subprocess.Popen(
                    [_binary("mariadbd"), "--no-defaults", f"--datadir={data}", f"--socket={socket_path}",
                     f"--port={port}", "--bind-address=127.0.0.1", "--skip-name-resolve",
                     "--innodb-flush-log-at-trx-commit=0", "--skip-log-bin", *as_user],
                    stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
            if _answers(socket_path, server, start_seconds):
                break
            _stop(server)
            if attempt == start_attempts - 1:
                raise RuntimeError(f"mariadbd did not start:\n{open(log).read()[-3000:]}")
        password = secrets.token_hex(12)
        _root_sql(socket_path, f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'; "
                               f"GRANT ALL ON *.* TO '{user}'@'%';")
        yield MySQLServer("127.0.0.1", port, user, password, dbname)
    finally:
        if server is not None:
            _stop(server)
        shutil.rmtree(tmp, ignore_errors=True)


def _root_sql(socket_path: str, sql: str) -> subprocess.CompletedProcess:
    """`sql` as the server's administrator: root, or the user who installed it (socket login)."""
    admin = "root" if os.geteuid() == 0 else getpass.getuser()
    return subprocess.run([_binary("mariadb"), "--no-defaults", f"--socket={socket_path}", "-u", admin,
                           "-e", sql], capture_output=True, text=True, check=False)


def _answers(socket_path: str, server: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        if _root_sql(socket_path, "SELECT 1").returncode == 0:
            return True
        time.sleep(0.2)
    return False


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM (a clean shutdown), SIGKILL as a last resort so no server outlives the test."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
