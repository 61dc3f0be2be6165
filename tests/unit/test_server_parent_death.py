"""A model server started for a bounded job (serving/process.py: infra validation, tests, benchmarks)
ends when the process that started it dies, however it dies: after a `kill -9` of a run during
its InfraValidator, the server was re-parented to init and kept serving, with its two ports and
some 570 MB, until someone found it. A server started as `tfxpipe serve` is (here `python -m
serving` from a shell-like parent) outlives that parent."""
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVE = ["--serving-dir", "{models}", "--model-name", "toy", "--settle-seconds", "0"]
BY_INFRA_VALIDATION = f"""
import sys
from serving import process
with process.running([a.format(models=sys.argv[1]) for a in {SERVE!r}]) as server:
    print(server.process.pid, flush=True)
    sys.stdin.read()  # until killed
"""
BY_HAND = f"""
import os, subprocess, sys, time
ready = os.path.join(sys.argv[1], "ready.json")
server = subprocess.Popen([sys.executable, "-m", "serving", "--rest-port", "0", "--grpc-port", "0",
                           "--ready-file", ready, *[a.format(models=sys.argv[1]) for a in {SERVE!r}]],
                          stdout=sys.stderr)
while not os.path.exists(ready) and server.poll() is None:
    time.sleep(0.05)
print(server.pid, flush=True)
sys.stdin.read()  # until killed
"""


def _alive(pid: int) -> bool:
    """Whether `pid` runs: a zombie does not (a container's init may never reap it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def _server_outlives_its_killed_parent(tmp_path, parent_source: str, seconds: float = 5.0) -> bool:
    """Runs `parent_source`, which starts a model server on an empty model folder and prints the
    server's pid once it serves; SIGKILLs the parent; whether the server still runs `seconds` later
    (it is killed then, so no test leaves one behind)."""
    (tmp_path / "tmp").mkdir()  # where the killed parent's scratch folders stay
    env = {**os.environ, "PYTHONPATH": ROOT, "TMPDIR": str(tmp_path / "tmp"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    parent = subprocess.Popen([sys.executable, "-c", parent_source, str(tmp_path)], cwd=ROOT, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    server_pid = None
    try:
        line = parent.stdout.readline()
        assert line, "the parent ended without starting a server"
        server_pid = int(line)
        assert _alive(server_pid), "the server did not start"
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + seconds
        while _alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return _alive(server_pid)
    finally:
        parent.kill()
        parent.wait()
        parent.stdin.close()
        parent.stdout.close()
        if server_pid is not None and _alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


def test_a_server_started_for_validation_ends_within_seconds_of_a_kill_9_of_its_starter(tmp_path):
    assert not _server_outlives_its_killed_parent(tmp_path, BY_INFRA_VALIDATION)


def test_a_server_started_by_hand_outlives_the_shell_that_started_it(tmp_path):
    """`tfxpipe serve` is long-lived: and the check above can fail, the same server would outlive it."""
    assert _server_outlives_its_killed_parent(tmp_path, BY_HAND)


def test_a_server_whose_parent_died_before_it_started_says_so_and_does_not_serve(tmp_path):
    """The parent died before the server asked to die with it (the kernel then sends nothing)."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    ended = subprocess.run([sys.executable, "-m", "serving", "--parent-pid", gone.stdout.strip(),
                            *[a.format(models=tmp_path) for a in SERVE]], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert (ended.returncode, ended.stdout) == (
        1, f"The process that started this server (pid {gone.stdout.strip()}) has ended: not serving\n")
