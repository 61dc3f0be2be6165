"""Small requests run inline; a large one runs on the pool and does not stall the small ones."""
import asyncio
import threading
import time
from concurrent import futures

import pytest

from serving.dispatch import INLINE_MAX_BYTES, Dispatcher

# Timed: run alone, after the tests that run two at a time (Makefile).
pytestmark = pytest.mark.serial  # which of two threads finishes first, 0.25 s apart


def test_a_large_request_runs_on_the_pool_while_small_ones_are_answered():
    dispatcher = Dispatcher(workers=2)
    finished = []

    async def work(name, seconds):
        time.sleep(seconds)  # blocks whichever loop runs it, as a model call does
        finished.append((name, threading.current_thread().name))
        return name

    async def scenario():
        large = asyncio.ensure_future(dispatcher.run(INLINE_MAX_BYTES + 1, work, "large", 0.3))
        await asyncio.sleep(0.05)  # the large request is running
        small = await dispatcher.run(100, work, "small", 0.0)
        return small, await large

    assert asyncio.run(scenario()) == ("small", "large")
    dispatcher.shutdown()
    assert [name for name, _ in finished] == ["small", "large"]
    threads = dict(finished)
    assert threads["small"] == "MainThread" and threads["large"].startswith("model")


def test_a_pooled_request_may_wait_on_a_future_resolved_by_another_thread():
    dispatcher = Dispatcher(workers=1)

    async def waits_for_a_batch_thread():
        future = futures.Future()
        threading.Timer(0.05, future.set_result, args=("answered",)).start()
        return await asyncio.wrap_future(future)

    assert asyncio.run(dispatcher.run(INLINE_MAX_BYTES + 1, waits_for_a_batch_thread)) == "answered"
    dispatcher.shutdown()
