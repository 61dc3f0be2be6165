"""Quiet-by-default logging and one progress line per component.

TFX, TensorFlow and Beam log thousands of INFO lines per run. By default the console shows errors only,
plus one line per component with its wall time, built from the LocalDagRunner's own log records
("Component %s is running/finished", "A cached execution %d is used"). `--verbose` shows everything.
"""
import contextlib
import logging
import os
import signal
import sys
import time
import warnings
from typing import Callable, Dict, Iterator, Optional, TextIO, Type


def quiet_native_logs(verbose: bool) -> None:
    """Must run before TensorFlow is imported: its C++ logger reads the level once."""
    # Level 3 also hides the CUDA-plugin registration errors TF prints on every CPU-only start.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose else "3")
    # ML Metadata logs with glog: a line per connection to a metadata server, and its errors, which
    # metadata_store.MetadataStoreError states in words.
    os.environ.setdefault("GLOG_minloglevel", "0" if verbose else "3")
    if not verbose:
        warnings.filterwarnings("ignore")
        os.environ.setdefault("PYTHONWARNINGS", "ignore")  # Beam worker processes inherit it


def configure_logging(verbose: bool) -> None:
    from absl import logging as absl_logging  # pylint: disable=import-outside-toplevel

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if verbose else logging.ERROR)
    console.setFormatter(logging.Formatter("%(levelname).1s %(name)s: %(message)s"))
    root.addHandler(console)
    root.setLevel(logging.INFO)
    tf_logger = logging.getLogger("tensorflow")  # TF gives it a console handler of its own
    for handler in list(tf_logger.handlers):
        tf_logger.removeHandler(handler)
    tf_logger.propagate = True
    absl_logging.set_verbosity(absl_logging.INFO)


@contextlib.contextmanager
def process_output_to(path: Optional[str]) -> Iterator[None]:
    """While the block runs, what is written to this process's stderr *file descriptor* goes to
    `path` (None: no change): Beam's worker processes inherit it and write to it directly (without
    this, every multi-process run ends with TensorFlow's finalizer tracebacks from each exiting
    worker), and so does the console log handler, whose ERROR records from TFX and Beam repeat, with
    tracebacks, what the run's one error line says. Python's `sys.stderr`, where the run's own
    messages go, stays on the terminal. The file is removed if nothing was written."""
    if path is None:
        yield
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sys.stderr.flush()
    terminal_fd = os.dup(2)
    terminal = os.fdopen(os.dup(terminal_fd), "w", buffering=1, errors="backslashreplace")
    diverted, sys.stderr = sys.stderr, terminal
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    try:
        yield
    finally:
        diverted.flush()
        os.dup2(terminal_fd, 2)
        os.close(terminal_fd)
        sys.stderr = diverted
        terminal.close()
        if os.path.getsize(path) == 0:
            os.remove(path)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler stopping a job, `kill`, `timeout`): stopped as Ctrl-C stops it, rather
    than dying silently mid-component (`serve` handles both signals itself, finishing requests)."""


_asked_to_stop: Optional[Type[KeyboardInterrupt]] = None
_asked_at: Optional[float] = None  # time.time() of the first stop: what failed after it, it ended


def stop_on_signal(signal_number: int, _frame=None) -> None:
    """The commands' SIGINT and SIGTERM handler: raises where the signal lands and remembers it, so
    that a stop swallowed there (native code that checks for signals and clears the error, a
    finalizer, which drops what it raises) is raised again as the next component starts."""
    global _asked_to_stop, _asked_at  # pylint: disable=global-statement  (a process's signal state is global)
    _asked_to_stop = Terminated if signal_number == signal.SIGTERM else KeyboardInterrupt
    _asked_at = _asked_at or time.time()
    raise _asked_to_stop()


def unreported_stops(unraisable, report: Callable) -> None:
    """A `sys.unraisablehook` that drops a stop raised where Python cannot raise (a weakref callback
    such as importlib's module-lock one, a finalizer): `stop_on_signal` remembered it and the run
    raises it again, so "Exception ignored in ... KeyboardInterrupt" with its traceback would only be
    noise beside the run's one stop line. Anything else goes to `report`, the hook it stands in for."""
    if not (_asked_to_stop is not None and isinstance(unraisable.exc_value, KeyboardInterrupt)):
        report(unraisable)


def stop_asked() -> Optional[Type[KeyboardInterrupt]]:
    """The stop asked (KeyboardInterrupt or Terminated) since the command started, if any."""
    return _asked_to_stop


def stop_asked_at() -> Optional[float]:
    """When (time.time()) the first stop since the command started was asked, if any."""
    return _asked_at


def forget_stop() -> None:
    global _asked_to_stop, _asked_at  # pylint: disable=global-statement
    _asked_to_stop = _asked_at = None


# What a component that ran but had nothing to do logs (TFX's Pusher; pipeline/infra_validator.py):
# "done" would read as a model validated or pushed.
_NOT_BLESSED = ("Model on %s was not blessed by model validation", "Model on %s was not blessed by infra validator")
_INFRA_REFUSED = "Infra validation: the model will not be pushed: %s"
_NOTHING_TO_VALIDATE = "not validated: "  # run_summary.NOT_VALIDATED: no candidate was blessed


class ComponentProgress(logging.Handler):
    """Prints `  <component>  <seconds>  done|cached|skipped (not blessed)|not servable` as each
    component finishes."""

    def __init__(self, out: TextIO = sys.stdout, clock: Callable[[], float] = time.monotonic):
        super().__init__(logging.INFO)
        self._out = out
        self._clock = clock
        self._started: Dict[str, float] = {}
        self._current: Optional[str] = None
        self._cached = False
        self._outcome: Optional[str] = None  # what the running component said it did, when not "done"
        self.durations: Dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        # Raised as the next component starts, not as one ends: what ended is done and published
        # (a Pusher finished after the stop has pushed, and the run says so, not "stopped").
        if _asked_to_stop is not None and record.msg == "Component %s is running.":
            raise _asked_to_stop()
        if record.msg == "Component %s is running.":
            self._current, self._cached, self._outcome = record.args[0], False, None
            self._started[self._current] = self._clock()
        elif record.msg == "A cached execution %d is used.":
            self._cached = True
        elif record.msg in _NOT_BLESSED:
            self._outcome = "skipped (not blessed)"
        elif record.msg == _INFRA_REFUSED:
            self._outcome = ("skipped (not blessed)" if str(record.args[0]).startswith(_NOTHING_TO_VALIDATE)
                             else "not servable")
        elif record.msg == "Component %s is finished." and record.args[0] in self._started:
            node = record.args[0]
            seconds = self._clock() - self._started[node]
            self.durations[node] = seconds
            outcome = "cached" if self._cached else self._outcome or "done"
            self._out.write(f"  {node:<34} {seconds:7.1f} s  {outcome}\n")
            self._out.flush()

    @property
    def failed_node(self) -> Optional[str]:
        """The component that was running when the run failed (None: it failed between two)."""
        return None if self._current is None or self._current in self.durations else self._current

    def report_failure(self) -> Optional[str]:
        """Name and elapsed time of the component that was running when the run failed."""
        if self.failed_node is None:
            return None
        seconds = self._clock() - self._started[self._current]
        return f"{self._current} failed after {seconds:.1f} s"
