"""One real pipeline run shared by the e2e tests, made offline in a fresh network namespace.

The runs happen in order: cold run -> unchanged re-run -> re-run with an unreachable threshold.
Each fixture snapshots what it needs before the next run changes the shared folders.
"""
import dataclasses
import hashlib
import os
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

import pytest

from pipeline import metadata_store, run_summary
from pipeline.configs import PipelineConfig
from tests.bad_data import taxi_rows, write_rows
from tests.conftest import TAXI

TRAIN_STEPS = "300"
EVAL_STEPS = "50"


@dataclasses.dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    offline: bool
    summary: run_summary.RunSummary
    serving_snapshot: Dict[str, str]


def network_namespace_available() -> bool:
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def snapshot(folder: str) -> Dict[str, str]:
    """Relative path -> sha256 of every file under `folder`: byte-for-byte comparable."""
    digests = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                digests[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return digests


class PipelineWorkspace:
    """A work dir and serving dir for real runs; `metadata`: an MLMD server URI instead of SQLite."""

    def __init__(self, root, metadata: Optional[str] = None):
        self.work_dir = str(root / "work")
        self.serving_dir = str(root / "serving")
        self.config = PipelineConfig(work_dir=self.work_dir, serving_dir=self.serving_dir,
                                     pipeline_name=TAXI.name, model_name=TAXI.name, metadata=metadata)
        self.metadata_path = self.config.metadata_path
        self.metadata_uri = self.config.metadata_uri
        self.metadata_args = ["--metadata", metadata] if metadata else []
        self.model_base = self.config.model_base
        self.report_dir = self.config.report_dir

    def command(self, extra_args: Sequence[str], command_name: str = "run") -> List[str]:
        return [sys.executable, "-m", "cli", command_name, "--work-dir", self.work_dir,
                "--serving-dir", self.serving_dir, "--train-steps", TRAIN_STEPS,
                "--eval-steps", EVAL_STEPS, *self.metadata_args, *extra_args]

    def summary(self, run_id: Optional[str] = None) -> run_summary.RunSummary:
        return run_summary.summarize(metadata_store.open_store(self.metadata_uri), run_id)

    def run(self, extra_args: List[str], offline: bool = False, command_name: str = "run",
            env: Optional[dict] = None) -> CliRun:
        command = self.command(extra_args, command_name)
        if offline:
            command = ["unshare", "--net", sys.executable, "-m", "tests.offline", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False,
                              env=env)
        summary = None
        if done.returncode == 0:
            summary = self.summary()
        return CliRun(done.returncode, done.stdout, done.stderr, offline, summary,
                      snapshot(self.serving_dir))

    def run_with_new_span(self, data: str, span: str, rows: List[List[str]],
                          extra_args: Sequence[str] = ()) -> CliRun:
        """Adds folder `span` (header + rows) to the data root `data`, then runs on it."""
        write_rows(os.path.join(data, span), rows)
        return self.run(["--data", data, *extra_args])


class SampleWorkspace(PipelineWorkspace):
    """Runs on 3,000 rows of the taxi sample (under `root`/data), for tests of how a run behaves
    (stopped, killed, run in worker processes), not of what it learns from all the data."""

    def __init__(self, root):
        super().__init__(root)
        self.data = str(root / "data")
        write_rows(self.data, taxi_rows(3000))

    def command(self, extra_args: Sequence[str], command_name: str = "run") -> List[str]:
        return super().command(["--data", self.data, *extra_args], command_name)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    return PipelineWorkspace(tmp_path_factory.mktemp("pipeline"))


@pytest.fixture(scope="session")
def cold_run(workspace) -> CliRun:
    run = workspace.run([], offline=network_namespace_available())
    assert run.returncode == 0, f"pipeline failed:\n{run.stdout}\n{run.stderr[-5000:]}"
    return run


@pytest.fixture(scope="session")
def unchanged_rerun(workspace, cold_run) -> CliRun:
    run = workspace.run([])
    assert run.returncode == 0, run.stderr[-5000:]
    return run


@pytest.fixture(scope="session")
def unreachable_threshold_run(workspace, unchanged_rerun) -> CliRun:
    run = workspace.run(["--min", "accuracy=0.999"])
    assert run.returncode == 0, run.stderr[-5000:]
    return run
