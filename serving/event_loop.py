"""The server's event loop, which keeps polling for a moment before it sleeps.

A request that arrives while the loop sleeps in epoll has to wake it first, and an idle vCPU wakes
slowly and with cold caches (measurements: docs/serving.md). So after I/O, the loop polls (epoll
without waiting) for `busy_poll_seconds` before it blocks, and a client's next request, usually
sent within a millisecond, finds it awake: KVM's halt polling and Linux's SO_BUSY_POLL do the same
one level down. asyncio has no such option; a selector is the hook it offers
(`SelectorEventLoop(selector)`).

While the loop polls, a `KeepAwake` thread keeps a second core from idling too, for the threads
a request wakes there (gRPC's I/O and completion-queue threads, a client on the same machine).
It runs at idle priority, so any other thread takes its core at once, and
spins in the CPU's pause loop without the GIL.

The cost is bounded: two cores while requests keep coming and for `busy_poll_seconds` after the
last, nothing while idle, and nothing while `may_poll()` says no (the server says no while model
calls run on its thread pool: they need the cores and the GIL).
"""
import asyncio
import ctypes
import ctypes.util
import os
import selectors
import threading
import time
from typing import Callable, Coroutine, Optional


class KeepAwake:
    """An idle-priority thread that spins while `start()`ed, so a second core never idles meanwhile.

    It spins inside glibc's `pthread_spin_lock` on a lock the loop holds: a pause-instruction loop
    that runs without the GIL. Written by hand because neither Python nor its libraries offer
    such a loop (one in Python would hold the GIL the loop needs). Linux only (`SCHED_IDLE`);
    elsewhere, or on one core, `create()` gives None.
    """

    def __init__(self, libc: ctypes.CDLL):
        self._libc = libc
        self._lock = ctypes.c_int(0)  # pthread_spinlock_t
        libc.pthread_spin_init(ctypes.byref(self._lock), 0)
        self._spinning = False
        self._wanted = threading.Event()
        self.thread = threading.Thread(target=self._spin, daemon=True, name="keep-awake")
        self.thread.start()

    @classmethod
    def create(cls) -> "Optional[KeepAwake]":
        if not hasattr(os, "SCHED_IDLE") or (os.cpu_count() or 1) < 2:
            return None
        try:
            return cls(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"))
        except (OSError, AttributeError):  # no glibc with pthread_spin_* (e.g. a musl build)
            return None

    def start(self) -> None:
        # trylock: the thread holds the lock for an instant after each spin; never wait for it
        if not self._spinning and self._libc.pthread_spin_trylock(ctypes.byref(self._lock)) == 0:
            self._spinning = True
            self._wanted.set()

    def stop(self) -> None:
        if self._spinning:
            self._spinning = False
            self._libc.pthread_spin_unlock(ctypes.byref(self._lock))

    def _spin(self) -> None:
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # this thread only
        except OSError:  # e.g. a sandbox that forbids it: never spin at normal priority
            return
        while True:
            self._wanted.wait()
            self._wanted.clear()
            self._libc.pthread_spin_lock(ctypes.byref(self._lock))  # spins until stop()
            self._libc.pthread_spin_unlock(ctypes.byref(self._lock))


class BusyPollingSelector(selectors.DefaultSelector):
    def __init__(self, busy_poll_seconds: float, may_poll: Callable[[], bool] = lambda: True,
                 keep_awake: Optional[KeepAwake] = None):
        super().__init__()
        self._window = busy_poll_seconds
        self._may_poll = may_poll
        self._keep_awake = keep_awake
        self._last_io = float("-inf")

    def select(self, timeout=None):
        started = time.monotonic()
        deadline = self._last_io + self._window
        if timeout is not None:
            deadline = min(deadline, started + timeout)
        now = started
        while now < deadline and self._may_poll():
            events = super().select(0)
            if events:
                return self._io(events)
            now = time.monotonic()
        if timeout is not None:
            timeout = max(0.0, timeout - (now - started))
        if self._keep_awake is not None and (now >= self._last_io + self._window
                                             or not self._may_poll()):
            self._keep_awake.stop()  # about to sleep (a zero timeout inside the window is not)
        events = super().select(timeout)
        return self._io(events) if events else events

    def _io(self, events):
        self._last_io = time.monotonic()
        if self._keep_awake is not None and self._window > 0 and self._may_poll():
            self._keep_awake.start()
        return events


def run(main: Coroutine, busy_poll_seconds: float, may_poll: Callable[[], bool]) -> None:
    """`asyncio.run(main)` on a loop that busy-polls (none when `busy_poll_seconds` is 0)."""
    keep_awake = KeepAwake.create() if busy_poll_seconds > 0 else None
    loop = asyncio.SelectorEventLoop(BusyPollingSelector(busy_poll_seconds, may_poll, keep_awake))
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)
    finally:
        if keep_awake is not None:
            keep_awake.stop()
        try:  # what asyncio.run does after `main`: cancel what is left, close async generators
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
