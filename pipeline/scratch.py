"""The temporary folder of a run or a scoring job: removed when it ends, and, when a process was
killed before it could remove its own (SIGKILL, the OOM killer, a crashed machine), by the next one.

What the libraries leave in the temporary folder is theirs to clean and they do not: for remote Beam
runners TFX builds an sdist of itself per Beam component in a `mkdtemp`
(tfx/utils/dependency_utils.py, ~50 MB each), Beam's stager leaves its staging folder, and Beam's
worker processes end without autograph's cleanup. So a run points them all at a folder of its own.
"""
import contextlib
import glob
import os
import re
import shutil
import socket
import tempfile
from typing import Iterator

PREFIX = "tfxpipe-run-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _owner() -> str:
    """This process, as scratch folders name it: a process id means something on its machine only
    (or container: a temporary folder may be shared)."""
    return f"{socket.gethostname()}-{os.getpid()}"


def remove_abandoned(parent: str) -> None:
    """Removes the scratch folders under `parent` of processes of this machine that have ended. A
    process id reused since is taken as alive: its folder stays, which is the safe side."""
    # this machine's name, a process id, then mkdtemp's 8 random characters
    here = re.compile(rf"{re.escape(PREFIX + socket.gethostname())}-(\d+)-[a-z0-9_]{{8}}")
    for path in glob.glob(os.path.join(parent, f"{PREFIX}*")):
        owner = here.fullmatch(os.path.basename(path))
        if owner and int(owner.group(1)) != os.getpid() and not _alive(int(owner.group(1))):
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def temporary_files_removed_after() -> Iterator[None]:
    """Points the temporary directory of the run (this process's `tempfile`, and TMPDIR for the
    processes it starts) at a folder named after this process, removed when the run ends; first
    removes the folders of runs killed before they could."""
    saved_variable, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    remove_abandoned(tempfile.gettempdir())
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{_owner()}-", ignore_cleanup_errors=True) as scratch:
        os.environ["TMPDIR"] = tempfile.tempdir = scratch
        try:
            yield
        finally:
            if saved_variable is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = saved_variable
            tempfile.tempdir = saved_tempdir
