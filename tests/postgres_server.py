"""A throwaway PostgreSQL server for tests, built from the Debian packages on the machine.

Tests that need a real PostgreSQL (ML Metadata's PostgreSQL backend, advisory-lock run locks)
start their own short-lived cluster here rather than touching the machine's own cluster: a
fresh data directory in a temp dir, a free loopback port, the unix socket inside the temp dir,
and scram-sha-256 password auth on 127.0.0.1. The cluster is stopped and deleted on exit.

initdb refuses to run as root, and tests (CI too) run as root, so when root the server
binaries run as the `postgres` system user that the Debian package creates.
"""
import contextlib
import dataclasses
import glob
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
from typing import Iterator


@dataclasses.dataclass(frozen=True)
class PostgresServer:
    """Where and how to connect to a running throwaway server (TCP, password auth)."""
    SCHEME = "postgresql"
    host: str
    port: int
    user: str
    password: str
    dbname: str

    @property
    def uri(self) -> str:
        return f"{self.SCHEME}://{self.user}:{self.password}@{self.host}:{self.port}/{self.dbname}"


def find_bin_dir() -> str:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb; a clear error if none."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb); "
            "install Debian's postgresql package to run these tests")
    version = lambda p: [int(n) for n in re.findall(r"\d+", p.split("/")[3])]  # noqa: E731
    return os.path.dirname(max(found, key=version))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(user: str = "tfx", dbname: str = "tfx_test",
                   start_attempts: int = 3) -> Iterator[PostgresServer]:
    """Start a fresh cluster, yield its PostgresServer, then stop it and delete it.

    The port is picked free just before start; if another process grabs it first the start
    is retried on a new port. Teardown runs even if the body raises.
    """
    bin_dir = find_bin_dir()
    as_root = os.geteuid() == 0
    # Run as `postgres` when root (initdb refuses root), otherwise as ourselves.
    ids = dict(user="postgres", group="postgres", extra_groups=[]) if as_root else {}
    tmp = tempfile.mkdtemp(prefix="pgtest-")
    data, log = os.path.join(tmp, "data"), os.path.join(tmp, "server.log")
    # Drop PG* variables (PGHOST, PGPORT, ...) so the caller's environment cannot redirect us.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(HOME=tmp, LC_ALL="C")

    def run(*args: str) -> None:
        proc = subprocess.run([os.path.join(bin_dir, args[0]), *args[1:]], cwd=tmp, env=env,
                              capture_output=True, text=True, **ids)
        if proc.returncode:
            extra = open(log).read() if os.path.exists(log) else ""
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}):\n"
                               f"{proc.stdout}{proc.stderr}{extra}")

    try:
        password, pwfile = secrets.token_hex(12), os.path.join(tmp, "pwfile")
        with open(os.open(pwfile, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(password + "\n")
        for path in (tmp, pwfile) if as_root else ():
            shutil.chown(path, "postgres", "postgres")
        run("initdb", "-D", data, f"--username={user}", f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256", "--auth-local=trust", "--encoding=UTF8",
            "--no-locale", "--no-sync")
        base_conf = open(os.path.join(data, "postgresql.conf")).read()
        for attempt in range(start_attempts):
            port = free_port()
            # Throwaway cluster: durability off, small memory, TCP on loopback only.
            with open(os.path.join(data, "postgresql.conf"), "w") as f:
                f.write(base_conf + f"\nlisten_addresses = '127.0.0.1'\nport = {port}\n"
                        f"unix_socket_directories = '{tmp}'\nfsync = off\n"
                        "synchronous_commit = off\nfull_page_writes = off\n"
                        "shared_buffers = 16MB\nmax_connections = 50\n")
            try:
                run("pg_ctl", "-D", data, "-l", log, "-w", "-t", "30", "start")
                break
            except RuntimeError:
                if attempt == start_attempts - 1:
                    raise
        run("createdb", "-h", tmp, "-p", str(port), "-U", user, dbname)
        yield PostgresServer("127.0.0.1", port, user, password, dbname)
    finally:
        _stop(run, data)
        shutil.rmtree(tmp, ignore_errors=True)


def _stop(run, data: str) -> None:
    """Stop the cluster if anything is running in it (even after a failed start); SIGKILL
    the postmaster as a last resort so no server outlives the test."""
    pidfile = os.path.join(data, "postmaster.pid")
    if not os.path.exists(pidfile):
        return
    with contextlib.suppress(RuntimeError):
        run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    with contextlib.suppress(OSError, ValueError, IndexError):
        os.kill(int(open(pidfile).readline()), signal.SIGKILL)
