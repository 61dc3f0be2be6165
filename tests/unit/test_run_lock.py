import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline import run_lock
from pipeline.configs import PipelineConfig

# Timed: run alone, after the tests that run two at a time (Makefile).
pytestmark = pytest.mark.serial  # waits timed against a bound

HOLD = """import sys, time
from pipeline import run_lock
from pipeline.configs import PipelineConfig
with run_lock.held(PipelineConfig(work_dir=sys.argv[1])) as me:
    print(me.run_id, flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(work_dir: str, seconds: float):
    process = subprocess.Popen([sys.executable, "-c", HOLD, work_dir, str(seconds)],
                               stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().strip()


def test_a_second_run_is_refused_with_the_holder_named(tmp_path):
    config = PipelineConfig(work_dir=str(tmp_path))
    process, run_id = hold(str(tmp_path), 60)
    try:
        with pytest.raises(run_lock.RunLocked) as refused:
            with run_lock.held(config):
                pass
        assert refused.value.holder.run_id == run_id and refused.value.holder.pid == process.pid
        assert f"pipeline 'taxi' is already running: run {run_id} (pid {process.pid} on" in str(refused.value)
        assert run_lock.holder(config).run_id == run_id
    finally:
        process.kill()
        process.wait()


def test_the_lock_of_a_killed_run_never_blocks(tmp_path):
    config = PipelineConfig(work_dir=str(tmp_path))
    process, _ = hold(str(tmp_path), 600)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert run_lock.holder(config) is None
    with run_lock.held(config) as me:
        assert me.pid == os.getpid() and run_lock.holder(config).run_id == me.run_id
    assert run_lock.holder(config) is None


def test_waiting_starts_when_the_holder_finishes(tmp_path):
    config = PipelineConfig(work_dir=str(tmp_path))
    process, holder_id = hold(str(tmp_path), 2)
    said = []
    started = time.monotonic()
    with run_lock.held(config, wait=True, on_wait=said.append) as me:
        waited = time.monotonic() - started
    process.wait()
    assert said and holder_id in said[0] and waited > 0.5
    assert me.run_id > holder_id, "the run id is taken when the lock is, after the wait"


def test_each_pipeline_has_its_own_lock(tmp_path):
    process, _ = hold(str(tmp_path), 60)
    try:
        with run_lock.held(PipelineConfig(work_dir=str(tmp_path), pipeline_name="other")):
            pass
    finally:
        process.kill()
        process.wait()
