"""How `tfxpipe` and the model server (`python -m serving`) end their process."""
import ctypes
import os
import select
import signal
import sys

_AUTOGRAPH_MODULE_PREFIX = "__autograph_generated_file"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def exit_now(code: int) -> None:
    """Flushes output and ends the process with `code`, without the interpreter's shutdown: there
    TensorFlow's object finalizers print spurious `AtomicFunction.__del__` tracebacks (TF 2.16).
    `os._exit` also skips `atexit`, where TensorFlow's autograph deletes the module files it wrote
    to the temporary folder for each function it converted, so they would pile up there: they are
    deleted here. Autograph keeps those modules in `sys.modules` under its file prefix."""
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name.startswith(_AUTOGRAPH_MODULE_PREFIX) and path:
            try:
                os.remove(path)
            except OSError:
                pass  # already gone
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # pylint: disable=protected-access


def reader_gone(stream) -> bool:
    """Whether `stream` is a pipe whose reading end was closed (`tfxpipe runs | head`): poll
    reports an error on it."""
    poller = select.poll()
    poller.register(stream.fileno(), select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def end_with_parent(parent_pid: int) -> None:
    """Has the kernel SIGKILL this process when its parent, `parent_pid`, ends, however it ends: a
    model server started for a bounded job (infra validation) outlived a `kill -9` of the run that
    started it, re-parented to init, its ports and some 570 MB held until someone killed it.

    prctl(PR_SET_PDEATHSIG) rather than a thread watching os.getppid(): the kernel sends it at
    once, even while this process's Python is busy (importing TensorFlow, loading a model).
    SIGKILL, not the graceful SIGTERM: nobody is left to take answers. Two limits: the signal
    follows the parent's *thread* that started this process (serving/process.running's caller
    stays in its block while the server runs), and a parent that died before this call sends
    none, which the pid check after it covers."""
    if sys.platform.startswith("linux"):  # prctl is Linux's: elsewhere the pid check alone
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:
        print(f"The process that started this server (pid {parent_pid}) has ended: not serving", flush=True)
        exit_now(1)
