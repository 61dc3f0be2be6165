"""The busy-polling selector: polls for its window after I/O, sleeps when idle, keeps timeouts."""
import asyncio
import selectors
import socket
import time

import pytest

from serving import event_loop
from serving.event_loop import BusyPollingSelector

WINDOW = 0.2


@pytest.fixture
def pair():
    left, right = socket.socketpair()
    yield left, right
    left.close()
    right.close()


def cpu_seconds_of(select, timeout):
    """(thread CPU seconds, wall seconds) spent in `select(timeout)`."""
    cpu, wall = time.thread_time(), time.monotonic()
    select(timeout)
    return time.thread_time() - cpu, time.monotonic() - wall


def after_io(selector, pair):
    left, right = pair
    selector.register(right, selectors.EVENT_READ)
    left.send(b"x")
    assert selector.select(1.0)  # I/O: the window starts now
    right.recv(1)


def test_after_io_it_polls_on_cpu_for_its_window_then_sleeps(pair):
    selector = BusyPollingSelector(WINDOW)
    after_io(selector, pair)
    cpu, wall = cpu_seconds_of(selector.select, 0.5)
    assert wall == pytest.approx(0.5, abs=0.15)  # the timeout holds: no window added on top
    assert cpu > WINDOW / 4  # polled (on a busy machine it may lose part of the window)
    cpu, _ = cpu_seconds_of(selector.select, 0.3)  # no I/O since: sleeps at once
    assert cpu < WINDOW / 4


@pytest.mark.parametrize("selector", [BusyPollingSelector(0), BusyPollingSelector(WINDOW, lambda: False)],
                         ids=["no window", "told not to poll"])
def test_it_sleeps_when_polling_is_off(selector, pair):
    after_io(selector, pair)
    cpu, wall = cpu_seconds_of(selector.select, 0.3)
    assert cpu < WINDOW / 4 and wall == pytest.approx(0.3, abs=0.15)


def test_events_during_the_window_are_returned(pair):
    left, right = pair
    selector = BusyPollingSelector(WINDOW)
    after_io(selector, pair)
    left.send(b"y")
    assert [key.fileobj for key, _ in selector.select(0.5)] == [right]


def test_run_runs_the_coroutine_and_cancels_what_it_left():
    left_behind = []

    async def main():
        async def forever():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                left_behind.append("cancelled")
                raise
        asyncio.ensure_future(forever())
        await asyncio.sleep(0.01)
        return "done"

    event_loop.run(main(), WINDOW, may_poll=lambda: True)
    assert left_behind == ["cancelled"]
