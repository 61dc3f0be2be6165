"""The temporary folder of a run or a scoring job: removed when it ends, and, when a process was
killed before it could remove its own (SIGKILL, the OOM killer, a crashed machine), by the next one.

What the libraries leave in the temporary folder is theirs to clean and they do not: for remote Beam
runners TFX builds an sdist of itself per Beam component in a `mkdtemp`
(tfx/utils/dependency_utils.py, ~50 MB each), Beam's stager leaves its staging folder, and Beam's
worker processes end without autograph's cleanup. So a run points them all at a folder of its own.

A folder is in use while its process holds an `flock` on it: the kernel releases the lock however
the process ends, and it is seen from other pid namespaces too (containers sharing a /tmp, where a
process id would name another process or none).
"""
import contextlib
import fcntl
import os
import re
import shutil
import socket
import tempfile
from typing import Iterator

PREFIX = "tfxpipe-run-"
# machine and process (for people reading the folder), then mkdtemp's 8 random characters
NAME = re.compile(rf"{re.escape(PREFIX)}.+-\d+-[a-z0-9_]{{8}}")
_STARTING = ".tfxpipe-starting-"  # not a NAME until it is locked: never taken for an abandoned one


def _lock(path: str) -> int:
    """An open descriptor holding an exclusive `flock` on the folder `path`; OSError if another
    process holds one."""
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        raise
    return descriptor


def remove_abandoned(parent: str) -> None:
    """Removes the run folders under `parent` that no process holds."""
    for entry in os.scandir(parent):
        if not (NAME.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)):
            continue
        try:
            descriptor = _lock(entry.path)
        except OSError:  # in use, or not ours to open
            continue
        try:
            shutil.rmtree(entry.path, ignore_errors=True)
        finally:
            os.close(descriptor)


@contextlib.contextmanager
def temporary_files_removed_after() -> Iterator[None]:
    """Points the temporary directory of the run (this process's `tempfile`, and TMPDIR for the
    processes it starts) at a folder of its own, locked while the run lasts and removed when it
    ends; first removes the folders of runs killed before they could."""
    saved_variable, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    parent = tempfile.gettempdir()
    remove_abandoned(parent)
    starting = tempfile.mkdtemp(prefix=_STARTING, dir=parent)
    descriptor = _lock(starting)  # then renamed: the lock is on the folder, whatever its name
    scratch = os.path.join(parent, PREFIX + f"{socket.gethostname()}-{os.getpid()}-" + starting[-8:])
    os.rename(starting, scratch)
    os.environ["TMPDIR"] = tempfile.tempdir = scratch
    try:
        yield
    finally:
        if saved_variable is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_variable
        tempfile.tempdir = saved_tempdir
        shutil.rmtree(scratch, ignore_errors=True)
        os.close(descriptor)
