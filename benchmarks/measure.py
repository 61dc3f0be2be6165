"""Run a command as a child process and measure its wall time and peak memory; read per-component
times back from the run's MLMD (execution registered -> execution published), and each component's
peak memory from the samples taken while it ran."""
import dataclasses
import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple

import psutil

from models import dataset
from pipeline import metadata_store, run_summary
from pipeline.configs import DATASETS_DIR

# The Chicago taxi sample that TFX's own example runs on: the benchmarks compare with that example.
TAXI_DATASET = os.path.join(DATASETS_DIR, "taxi")
TAXI_NAME = dataset.load(TAXI_DATASET).name
TAXI_DATA = dataset.load(TAXI_DATASET).data_root()


Samples = List[Tuple[float, float]]  # (time.time(), MiB)


@dataclasses.dataclass
class Measurement:
    label: str
    seconds: float
    peak_rss_mib: float
    returncode: int
    windows: Dict[str, Tuple[float, float]]  # node -> (start, end) of its execution, from MLMD
    memory: Samples  # the process tree's RSS over the run

    @property
    def components(self) -> Dict[str, float]:
        """Node -> seconds of its execution."""
        return {node: end - start for node, (start, end) in self.windows.items()}

    def summary(self) -> Dict:
        """What the results' JSON keeps: the figures, not the memory samples."""
        return {"label": self.label, "seconds": self.seconds, "peak_rss_mib": self.peak_rss_mib,
                "returncode": self.returncode, "components": self.components}

    def component_peak_mib(self, node: str, samples: Optional[Samples] = None) -> Optional[float]:
        """The largest of `samples` (default: the run's own) taken while `node` ran; None if none was."""
        start, end = self.windows[node]
        during = [mib for at, mib in (self.memory if samples is None else samples) if start <= at <= end]
        return max(during) if during else None


def tree_rss(root: psutil.Process) -> int:
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.Error:  # exited between listing and reading
            pass
    return total


def run_measured(label: str, command: List[str], env: Optional[Dict[str, str]] = None,
                 log_path: Optional[str] = None, metadata_path: Optional[str] = None) -> Measurement:
    """Peak memory is the largest *sum* of RSS over the child and all its descendants (Beam worker
    processes run at the same time), sampled every 0.2 s; `ru_maxrss` would give one process only."""
    started = time.monotonic()
    peak, done, memory = [0], threading.Event(), []
    with open(log_path or os.devnull, "w", encoding="utf-8") as log:
        child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        root = psutil.Process(child.pid)

        def sample():
            while not done.wait(0.2):
                try:
                    rss = tree_rss(root)
                except psutil.Error:
                    return
                peak[0] = max(peak[0], rss)
                memory.append((time.time(), rss / 2**20))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        done.set()
        sampler.join()
    seconds = time.monotonic() - started
    windows = component_windows(metadata_path) if metadata_path and status == 0 else {}
    peak_bytes = max(peak[0], usage.ru_maxrss * 1024)
    return Measurement(label, seconds, peak_bytes / 2**20, os.waitstatus_to_exitcode(status), windows, memory)


def component_windows(metadata_path: str) -> Dict[str, Tuple[float, float]]:
    """Node id -> (start, end) of its execution, in seconds since 1970, in the latest run recorded in
    `metadata_path`."""
    store = metadata_store.open_store(metadata_path)
    run = store.get_context_by_type_and_name("pipeline_run", run_summary.run_ids(store)[-1])
    return {run_summary.node_of(store, execution.id): (execution.create_time_since_epoch / 1000,
                                                       execution.last_update_time_since_epoch / 1000)
            for execution in store.get_executions_by_context(run.id)}


def replace_between_markers(path: str, markers: Tuple[str, str], text: str) -> None:
    """Puts `text` between the two marker comments of a Markdown file (docs/benchmarks.md's tables)."""
    with open(path, encoding="utf-8") as f:
        content = f.read()
    start, end = content.index(markers[0]) + len(markers[0]), content.index(markers[1])
    with open(path, "w", encoding="utf-8") as f:
        f.write(content[:start] + "\n" + text + content[end:])


def finish(measurements: Sequence[Measurement], scratch: str) -> int:
    """Exit code of a benchmark: failed runs keep their logs in `scratch`, else it is removed."""
    failed = [m.label for m in measurements if m.returncode != 0]
    if failed:
        print(f"failed runs (logs in {scratch}): {', '.join(failed)}", file=sys.stderr)
        return 1
    shutil.rmtree(scratch, ignore_errors=True)
    return 0
