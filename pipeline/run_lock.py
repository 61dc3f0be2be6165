"""One run at a time per pipeline: two runs on one pipeline root would both train and both push, and
interleave their records.

The lock is an advisory `flock` on `<work dir>/locks/<pipeline>.lock`, so the operating system
releases it when the process ends however it ends (a killed run never blocks the next one); the file
names the holder for the message the next run prints. When the metadata lives on a server shared
between machines (PostgreSQL, MySQL), a lock in that database is taken as well (pipeline/db_lock.py):
the server releases it when the holder's connection drops.
"""
import contextlib
import dataclasses
import datetime
import fcntl
import json
import os
import socket
import time
from typing import Callable, Iterator, Optional

from pipeline import db_lock, metadata_store
from pipeline.configs import PipelineConfig

POLL_SECONDS = 1.0


@dataclasses.dataclass
class Holder:
    run_id: str
    pid: int
    host: str
    started: str  # ISO time, local

    def __str__(self) -> str:
        return f"run {self.run_id} (pid {self.pid} on {self.host}, started {self.started})"


class RunLocked(RuntimeError):
    def __init__(self, pipeline_name: str, holder: Optional[Holder]):
        who = str(holder) if holder else "another run (holder unknown)"
        super().__init__(f"pipeline '{pipeline_name}' is already running: {who}. Wait for it to "
                         "finish, or pass --wait to start when it has")
        self.holder = holder


def _read_holder(handle) -> Optional[Holder]:
    handle.seek(0)
    try:
        return Holder(**json.loads(handle.read() or "null"))
    except (TypeError, ValueError):
        return None


def _try_flock(handle) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def holder(config: PipelineConfig) -> Optional[Holder]:
    """Who runs the pipeline now, or None when no run is in progress (a killed run holds nothing)."""
    config = config.resolved()
    if not metadata_store.is_sqlite(config.metadata_uri):
        found = db_lock.holder(config.metadata_uri, config.pipeline_name)
        if found:
            return Holder(**found)
    if not os.path.exists(config.lock_file):
        return None
    with open(config.lock_file, "r", encoding="utf-8") as handle:
        if _try_flock(handle):
            return None  # released when the handle closes
        return _read_holder(handle)


@contextlib.contextmanager
def held(config: PipelineConfig, wait: bool = False,
         on_wait: Callable[[str], None] = print) -> Iterator[Holder]:
    """Holds the pipeline's lock for the body; RunLocked at once when a run holds it, unless `wait`.
    Yields this run's holder record, with the run's id (TFX's form: the local time it got the lock)."""
    config = config.resolved()
    os.makedirs(os.path.dirname(config.lock_file), exist_ok=True)
    # Not "w": truncating would erase the holder's name before we know we hold the lock.
    with open(config.lock_file, "a+", encoding="utf-8") as handle:
        announced = False
        while not _try_flock(handle):
            if not wait:
                raise RunLocked(config.pipeline_name, _read_holder(handle))
            if not announced:
                on_wait(f"Waiting for {_read_holder(handle) or 'another run'} to finish")
                announced = True
            time.sleep(POLL_SECONDS)
        now = datetime.datetime.now()
        me = Holder(run_id=now.isoformat(), pid=os.getpid(), host=socket.gethostname(),
                    started=now.isoformat(timespec="seconds"))
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(dataclasses.asdict(me)))
        handle.flush()
        with _database_lock(config, me, wait, on_wait):
            try:
                yield me
            finally:
                handle.seek(0)
                handle.truncate()
                handle.flush()


@contextlib.contextmanager
def _database_lock(config: PipelineConfig, me: Holder, wait: bool,
                   on_wait: Callable[[str], None]) -> Iterator[None]:
    if metadata_store.is_sqlite(config.metadata_uri):
        yield
        return
    # The lock's connection needs the database; MLMD creates a missing one (where the user may),
    # which the run would otherwise do only after the lock was taken.
    metadata_store.open_store(config.metadata_uri, writable=True)
    with db_lock.advisory_lock(config.metadata_uri, config.pipeline_name,
                               dataclasses.asdict(me), wait, on_wait) as taken:
        if not taken:
            found = db_lock.holder(config.metadata_uri, config.pipeline_name)
            raise RunLocked(config.pipeline_name, Holder(**found) if found else None)
        yield
