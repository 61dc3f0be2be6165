"""The server's event loop, which keeps polling for a moment before it sleeps.

A request that arrives while the loop sleeps in epoll has to wake it first, and an idle vCPU wakes
slowly and with cold caches (measurements: docs/serving.md). So after I/O, the loop polls (epoll
without waiting) for `busy_poll_seconds` before it blocks, and a client's next request, usually
sent within a millisecond, finds it awake: KVM's halt polling and Linux's SO_BUSY_POLL do the same
one level down. asyncio has no such option; a selector is the hook it offers
(`SelectorEventLoop(selector)`).

The cost is bounded: one core while requests keep coming and for `busy_poll_seconds` after the
last, nothing while idle, and nothing while `may_poll()` says no (the server says no while model
calls run elsewhere, on its thread pool or batch threads: they need the cores and the GIL).
An idle-priority thread that kept a second core awake meanwhile was measured and removed: it cost
1-6 % of throughput and gained nothing on latency (benchmarks/serving_latency.py).
"""
import asyncio
import selectors
import time
from typing import Callable, Coroutine


class BusyPollingSelector(selectors.DefaultSelector):
    def __init__(self, busy_poll_seconds: float, may_poll: Callable[[], bool] = lambda: True):
        super().__init__()
        self._window = busy_poll_seconds
        self._may_poll = may_poll
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
        events = super().select(timeout)
        return self._io(events) if events else events

    def _io(self, events):
        self._last_io = time.monotonic()
        return events


def run(main: Coroutine, busy_poll_seconds: float, may_poll: Callable[[], bool]) -> None:
    """`asyncio.run(main)` on a loop that busy-polls (none when `busy_poll_seconds` is 0)."""
    loop = asyncio.SelectorEventLoop(BusyPollingSelector(busy_poll_seconds, may_poll))
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)
    finally:
        try:  # what asyncio.run does after `main`: cancel what is left, close async generators
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
