"""How `tfxpipe` and the model server (`python -m serving`) end their process."""
import os
import select
import sys

_AUTOGRAPH_MODULE_PREFIX = "__autograph_generated_file"


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
