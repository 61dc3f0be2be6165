"""The model server (`python -m serving`, what `tfxpipe serve` runs) in a child process on free
ports: for infra validation, tests and benchmarks."""
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Iterator, List


class ServerNotReady(RuntimeError):
    """`refusal`: the line the server exited with, when it refused to start (a model that did not
    load: serving/server.StartupError), else ""."""

    def __init__(self, message: str, refusal: str = ""):
        super().__init__(message)
        self.refusal = refusal


class ServerProcess:
    def __init__(self, process: subprocess.Popen, ports: dict, log_path: str):
        self.process = process
        self.rest_url = f"http://127.0.0.1:{ports['rest_port']}"
        self.grpc_target = f"127.0.0.1:{ports['grpc_port']}"
        self.log_path = log_path

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()


@contextlib.contextmanager
def running(args: List[str], timeout: float = 120.0) -> Iterator[ServerProcess]:
    """Runs `tfxpipe serve ARGS --rest-port 0 --grpc-port 0` until the block ends; raises
    ServerNotReady (with the server's output) when it does not start within `timeout` seconds.
    The server also ends when this process does, however it ends (`--parent-pid`): stay in the
    block in the thread that entered it."""
    with tempfile.TemporaryDirectory(prefix="serve-") as scratch:
        ready_file = os.path.join(scratch, "ready.json")
        log_path = os.path.join(scratch, "server.log")
        command = [sys.executable, "-m", "serving", "--rest-port", "0", "--grpc-port", "0",
                   "--ready-file", ready_file, "--parent-pid", str(os.getpid()), *args]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while not os.path.exists(ready_file):
                if process.poll() is not None or time.monotonic() > deadline:
                    with open(log_path, encoding="utf-8", errors="replace") as f:
                        output = f.read()
                    last = (output.strip().splitlines() or [""])[-1]
                    if process.returncode is not None:
                        raise ServerNotReady(f"the model server exited (code {process.returncode}) before "
                                             f"serving:\n{output[-3000:]}",
                                             last[len("error: "):] if last.startswith("error: ") else "")
                    raise ServerNotReady(f"the model server did not start within {timeout:.0f} s:\n{output[-3000:]}")
                time.sleep(0.05)
            with open(ready_file, encoding="utf-8") as f:
                yield ServerProcess(process, json.load(f), log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
