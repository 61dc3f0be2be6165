"""A real Apache Flink cluster on this machine for the `flink` runner profile:
`tfxpipe cluster fetch|up|status|down`.

`up` starts, as separate processes, Flink's JobManager (REST API on 8081) and TaskManagers (two
by default), Beam's Flink job server (8099) and a pool of Python SDK workers from this project's
environment (`pipeline/worker_pool.py`, 50000). The `flink` profile then submits CsvExampleGen,
StatisticsGen, Transform and Evaluator there. No Docker.

`fetch` (run by `up` when needed; once, then offline) brings:
- Flink's official distribution from PyPI: the `apache-flink-libraries` sdist carries `lib/` and
  `plugins/`, the `apache-flink` wheel `bin/` and `conf/` (neither is installed anywhere);
- Beam's Flink runner and its dependencies from Maven Central, with `mvn`. Beam publishes the job
  server as one shaded jar (`beam-runners-flink-<v>-job-server`), but the Maven mirror these
  machines reach does not serve it (404); it serves `beam-runners-flink-1.19`, whose
  `FlinkJobServerDriver` is that job server, run here from its resolved classpath. Hence Flink 1.19
  and Beam's runner 2.62 (the oldest served for it) with the Python SDK 2.59 of the lock: the Fn API
  between them is compatible (tests/e2e/test_flink_cluster.py).
"""
import dataclasses
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from typing import Dict, List, Optional

from pipeline.configs import PROJECT_ROOT

FLINK_VERSION = "1.19.0"
BEAM_RUNNER = ("org.apache.beam", "beam-runners-flink-1.19", "2.62.0")
JOB_SERVER_MAIN = "org.apache.beam.runners.flink.FlinkJobServerDriver"
REST_PORT, JOB_PORT, ARTIFACT_PORT, WORKER_POOL_PORT = 8081, 8099, 8098, 50000
JOB_ENDPOINT, WORKER_POOL = f"localhost:{JOB_PORT}", f"localhost:{WORKER_POOL_PORT}"
POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tfxpipe</groupId><artifactId>flink-job-server</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>{0}</groupId><artifactId>{1}</artifactId><version>{2}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>1.7.30</version></dependency>
  </dependencies>
</project>
"""


class ClusterError(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class ClusterSettings:
    # Downloads, logs, pid files: the project's, so `up` from any folder reuses the one download and
    # `down` finds the pid files `up` wrote.
    home: str = os.path.join(PROJECT_ROOT, ".cache", "flink")
    task_managers: int = 2
    # Transform's analyzers need more network buffers than Flink's default gives a TaskManager, and
    # Beam's data plane to the SDK workers (gRPC, direct buffers) more task off-heap memory: with the
    # defaults, 150k rows failed with "OutOfMemoryError: Direct buffer memory". Flink's managed memory
    # (its own sorting and hashing, 40 % by default) is little used when the work runs in Beam's SDK
    # workers, and what it takes leaves the task heap ~10 MB: 1.5M rows hung CsvExampleGen after
    # "OutOfMemoryError: Java heap space" in the TaskManager's gRPC thread. 10 % leaves it ~1 GB.
    task_manager_memory: str = "4g"
    network_memory: str = "768mb"
    task_off_heap_memory: str = "1g"
    managed_memory_fraction: str = "0.1"

    @property
    def flink_home(self) -> str:
        return os.path.join(self.home, f"flink-{FLINK_VERSION}")

    @property
    def job_server_lib(self) -> str:
        return os.path.join(self.home, f"{BEAM_RUNNER[1]}-{BEAM_RUNNER[2]}", "lib")

    @property
    def run_dir(self) -> str:
        return os.path.join(self.home, "run")


def _run(command: List[str], what: str, **kwargs) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    except FileNotFoundError:
        raise ClusterError(f"{what} needs `{command[0]}`, which is not on this machine's PATH: install it "
                           "(the cluster needs a Java 11 or newer and Maven: on Debian, `apt-get install "
                           "default-jdk-headless maven`)") from None
    if done.returncode:
        raise ClusterError(f"{what} failed ({' '.join(command[:4])} ...):\n"
                           f"{(done.stdout + done.stderr)[-2000:]}")


def fetch(settings: ClusterSettings) -> None:
    """Flink's distribution and Beam's job server classpath into `settings.home`, unless there."""
    if not os.path.exists(os.path.join(settings.flink_home, "lib", f"flink-dist-{FLINK_VERSION}.jar")):
        with tempfile.TemporaryDirectory(dir=_made(settings.home)) as downloads:
            _run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", downloads,
                  f"apache-flink-libraries=={FLINK_VERSION}"], "downloading Flink's libraries")
            _run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", downloads,
                  "--only-binary=:all:", f"apache-flink=={FLINK_VERSION}"], "downloading Flink's scripts")
            _unpack_flink(downloads, settings.flink_home)
    if not glob.glob(os.path.join(settings.job_server_lib, f"{BEAM_RUNNER[1]}-*.jar")):
        project = os.path.dirname(settings.job_server_lib)
        with open(os.path.join(_made(project), "pom.xml"), "w", encoding="utf-8") as f:
            f.write(POM.format(*BEAM_RUNNER))
        _run(["mvn", "-q", "-f", os.path.join(project, "pom.xml"), "dependency:copy-dependencies",
              f"-DoutputDirectory={os.path.abspath(settings.job_server_lib)}"],
             "fetching Beam's Flink job server from Maven Central")


def _unpack_flink(downloads: str, flink_home: str) -> None:
    staging = flink_home + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    (sdist,) = glob.glob(os.path.join(downloads, "apache-flink-libraries-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            parts = member.name.split("/")
            if len(parts) > 3 and parts[1] == "deps" and parts[2] in ("lib", "plugins", "bin") \
                    and member.isfile():
                member.name = "/".join(parts[2:])
                archive.extract(member, staging)
    (wheel,) = glob.glob(os.path.join(downloads, "apache_flink-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith(("pyflink/bin/", "pyflink/conf/")) and not name.endswith("/"):
                target = os.path.join(staging, name[len("pyflink/"):])
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with archive.open(name) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
    for script in glob.glob(os.path.join(staging, "bin", "*")):
        os.chmod(script, 0o755)
    shutil.rmtree(flink_home, ignore_errors=True)  # one damaged since (its flink-dist jar gone)
    os.replace(staging, flink_home)  # complete or absent


def _made(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    return path


def _flink_env(settings: ClusterSettings) -> Dict[str, str]:
    return {**os.environ, "FLINK_HOME": os.path.abspath(settings.flink_home),
            "FLINK_PID_DIR": os.path.abspath(_made(settings.run_dir)),
            "FLINK_LOG_DIR": os.path.abspath(_made(os.path.join(settings.home, "log")))}


def status(timeout: float = 2.0) -> Optional[dict]:
    """Flink's REST overview (task managers, slots, jobs), or None when no cluster answers."""
    try:
        with urllib.request.urlopen(f"http://localhost:{REST_PORT}/overview", timeout=timeout) as r:
            return json.load(r)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("localhost", port)) == 0


def _wait(ready, what: str, settings: ClusterSettings, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise ClusterError(f"{what} not ready after {seconds:.0f} s; logs: "
                               f"{os.path.join(settings.home, 'log')}")
        time.sleep(0.5)


def _start_detached(command: List[str], name: str, settings: ClusterSettings, **kwargs) -> None:
    log_dir = _made(os.path.join(settings.home, "log"))
    with open(os.path.join(log_dir, f"{name}.log"), "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, **kwargs)
    with open(os.path.join(_made(settings.run_dir), f"{name}.pid"), "w", encoding="utf-8") as f:
        f.write(str(process.pid))


def up(settings: ClusterSettings) -> dict:
    """Starts the cluster (fetching first if needed); returns Flink's overview once every part
    answers. ClusterError if a cluster already answers on 8081 or a part does not start."""
    if status() is not None:
        raise ClusterError(f"a Flink cluster already answers on localhost:{REST_PORT}; "
                           "`tfxpipe cluster down` first")
    fetch(settings)
    env = _flink_env(settings)
    bin_dir = os.path.join(settings.flink_home, "bin")
    _run([os.path.join(bin_dir, "jobmanager.sh"), "start"], "starting the JobManager", env=env)
    for _ in range(settings.task_managers):
        _run([os.path.join(bin_dir, "taskmanager.sh"), "start",
              "-D", f"taskmanager.memory.process.size={settings.task_manager_memory}",
              "-D", f"taskmanager.memory.network.min={settings.network_memory}",
              "-D", f"taskmanager.memory.network.max={settings.network_memory}",
              "-D", f"taskmanager.memory.task.off-heap.size={settings.task_off_heap_memory}",
              "-D", f"taskmanager.memory.managed.fraction={settings.managed_memory_fraction}"],
             "starting a TaskManager", env=env)
    _start_detached(["java", "-cp", os.path.join(os.path.abspath(settings.job_server_lib), "*"),
                     JOB_SERVER_MAIN, f"--flink-master=localhost:{REST_PORT}",
                     f"--job-port={JOB_PORT}", f"--artifact-port={ARTIFACT_PORT}",
                     "--expansion-port=0"], "job-server", settings)
    worker_logs = _made(os.path.join(settings.home, "log", "workers"))
    _start_detached([sys.executable, "-m", "pipeline.worker_pool", "--port", str(WORKER_POOL_PORT),
                     "--log-dir", worker_logs], "worker-pool", settings,
                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"})
    _wait(lambda: (status() or {}).get("taskmanagers") == settings.task_managers,
          f"{settings.task_managers} TaskManagers", settings)
    _wait(lambda: _port_open(JOB_PORT), "Beam's job server", settings)
    _wait(lambda: _port_open(WORKER_POOL_PORT), "the SDK worker pool", settings)
    return status()


def pids(settings: ClusterSettings) -> List[int]:
    """The cluster's processes as its pid files name them (Flink's scripts write one line per
    JobManager or TaskManager): for measuring them."""
    found = []
    for pid_file in glob.glob(os.path.join(settings.run_dir, "*.pid")):
        with open(pid_file, encoding="utf-8") as f:
            found += [int(line) for line in f.read().split() if line.isdigit()]
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:  # gone, or the number is another user's process now
        return False
    return True


def down(settings: ClusterSettings) -> bool:
    """Stops whatever `up` started from `settings.home` (what is not running is skipped, its pid
    file removed); False when nothing of it was running."""
    running = any(_alive(pid) for pid in pids(settings))
    for name in ("worker-pool", "job-server"):
        pid_file = os.path.join(settings.run_dir, f"{name}.pid")
        if os.path.exists(pid_file):
            with open(pid_file, encoding="utf-8") as f:
                pid = int(f.read())
            try:
                os.killpg(pid, signal.SIGTERM)  # its own session: the process and its workers
            except ProcessLookupError:
                pass
            os.remove(pid_file)
    if os.path.isdir(settings.flink_home):
        env, bin_dir = _flink_env(settings), os.path.join(settings.flink_home, "bin")
        _run([os.path.join(bin_dir, "taskmanager.sh"), "stop-all"], "stopping TaskManagers", env=env)
        _run([os.path.join(bin_dir, "jobmanager.sh"), "stop"], "stopping the JobManager", env=env)
    return running
