"""Sampled, size-bounded log of the tf.Examples the server was asked about, for `tfxpipe monitor`.

TF Serving logs PredictionLogs through a log collector that is not part of its open-source build;
here the examples themselves go into TFRecord files, the format TFDV reads directly, so monitoring
is TFDV's statistics over them. Files rotate at `max_bytes / 8` or after `rotate_seconds` (so a
quiet server's examples still fall into `monitor`'s time windows); the oldest go once the total
exceeds `max_bytes`, so a busy server never fills the disk. Several servers may log into one folder
(replicas of a model on a shared volume): the cap then removes only files no server can still write,
its own closed ones and any other untouched for twice `rotate_seconds` (its writer rotates before
writing again), never another server's open file. Logging is best effort: a failed write is reported once
and never fails the request it describes.
"""
import contextlib
import logging
import os
import random
import threading
import time
import urllib.parse
from typing import Dict, Optional, Sequence

import tensorflow as tf

FILE_PREFIX = "requests-"
FILES_KEPT = 8


def _check_rate(sample_rate: float) -> None:
    if not 0.0 < sample_rate <= 1.0:
        raise ValueError(f"sample rate must be in (0, 1], got {sample_rate}")


class RequestLog:
    def __init__(self, directory: str, sample_rate: float = 1.0, max_bytes: int = 64 << 20,
                 seed: Optional[int] = None, rotate_seconds: float = 300.0):
        _check_rate(sample_rate)
        self.directory = directory
        self._sample_rate = sample_rate
        self._max_bytes = max_bytes
        self._file_bytes = max(1, max_bytes // FILES_KEPT)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._rotate_seconds = rotate_seconds
        self._writer, self._written, self._opened_at = None, 0, 0.0
        self._path, self._closed = None, set()  # this log's file being written, and its closed ones
        self._failed = False

    def record(self, serialized_examples: Sequence[bytes]) -> None:
        """Logs each example of a request with probability `sample_rate`."""
        with self._lock:
            try:
                self._write(serialized_examples)
            except (OSError, tf.errors.OpError) as error:
                if not self._failed:
                    logging.warning("request log %s: %s (logging continues when possible)",
                                    self.directory, error)
                self._failed = True
                self._writer = None

    def _write(self, serialized_examples: Sequence[bytes]) -> None:
        for serialized in serialized_examples:
            if self._random.random() >= self._sample_rate:
                continue
            if (self._writer is None or self._written >= self._file_bytes
                    or time.time() - self._opened_at >= self._rotate_seconds):
                self._rotate()
            self._writer.write(serialized)
            self._written += len(serialized) + 16  # TFRecord framing
        if self._writer is not None:
            self._writer.flush()

    def _rotate(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._closed.add(self._path)
        os.makedirs(self.directory, exist_ok=True)  # here: a failure is the request log's, never the request's
        self._opened_at = time.time()  # before the file exists: never later than its first mtime
        self._path = os.path.join(self.directory, f"{FILE_PREFIX}{time.time_ns()}-{os.getpid()}.tfrecord")
        self._writer, self._written = tf.io.TFRecordWriter(self._path), 0
        self._remove_over_cap()

    def _remove_over_cap(self) -> None:
        """Removes the oldest files no writer can still write while the folder holds more than
        `max_bytes`: this log's closed files, and any file untouched for twice `rotate_seconds` (its
        writer rotates before writing again; twice, for file times that lag and clocks that differ
        between the hosts sharing a volume)."""
        sizes, now = {}, time.time()
        for path in log_files(self.directory):
            try:
                status = os.stat(path)
            except FileNotFoundError:  # another server's cap removed it meanwhile
                continue
            idle = now - status.st_mtime >= 2 * self._rotate_seconds
            sizes[path] = (status.st_size, path in self._closed or (idle and path != self._path))
        self._closed &= set(sizes)  # those another server removed are gone
        total = sum(size for size, _ in sizes.values())
        for path, (size, removable) in sizes.items():
            if total <= self._max_bytes:
                break
            if removable:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                self._closed.discard(path)
                total -= size

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None


class RequestLogs:
    """A `RequestLog` per served model, in `<directory>/<model name>/` (each with the disk cap), so
    that `monitor` checks one model's requests against that model's training data: a server with a
    model config file serves several."""

    def __init__(self, directory: str, **options):
        _check_rate(options.get("sample_rate", 1.0))  # at start-up, not at the first request
        self.directory, self._options = directory, options
        self._logs: Dict[str, RequestLog] = {}
        self._lock = threading.Lock()

    def record(self, model_name: str, serialized_examples: Sequence[bytes]) -> None:
        with self._lock:
            log = self._logs.get(model_name)
            if log is None:
                log = self._logs[model_name] = RequestLog(model_folder(self.directory, model_name), **self._options)
        log.record(serialized_examples)

    def close(self) -> None:
        with self._lock:
            for log in self._logs.values():
                log.close()


def model_folder(directory: str, model_name: str) -> str:
    """Where `RequestLogs` logs a model's requests: a folder of `directory` whatever the name (a
    model config file may name a model `a/b` or `..`), escaped as in a URL."""
    name = urllib.parse.quote(model_name, safe="")
    return os.path.join(directory, name.replace(".", "%2E") if name in (".", "..") else name)


def log_files(directory: str) -> list:
    """Request log files, oldest first."""
    if not os.path.isdir(directory):
        return []
    names = sorted(n for n in os.listdir(directory) if n.startswith(FILE_PREFIX))
    return [os.path.join(directory, n) for n in names]
