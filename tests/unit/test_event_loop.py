"""The busy-polling selector: polls for its window after I/O, sleeps when idle, keeps timeouts."""
import asyncio
import os
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


class RecordingKeepAwake:
    """Records when spinning starts and stops (like KeepAwake, a repeated call changes nothing)."""

    def __init__(self):
        self.calls, self.spinning = [], False

    def start(self):
        if not self.spinning:
            self.spinning = True
            self.calls.append("start")

    def stop(self):
        if self.spinning:
            self.spinning = False
            self.calls.append("stop")


def test_keep_awake_runs_from_io_until_the_loop_sleeps(pair):
    keep_awake = RecordingKeepAwake()
    selector = BusyPollingSelector(WINDOW, keep_awake=keep_awake)
    after_io(selector, pair)
    assert keep_awake.calls == ["start"]
    selector.select(0)  # asyncio's "anything ready?" inside the window: not a sleep
    assert keep_awake.calls == ["start"]
    selector.select(0.5)  # polls out the window, then sleeps
    assert keep_awake.calls == ["start", "stop"]


def test_keep_awake_is_not_started_when_polling_is_off(pair):
    keep_awake = RecordingKeepAwake()
    after_io(BusyPollingSelector(WINDOW, lambda: False, keep_awake), pair)
    assert "start" not in keep_awake.calls


def thread_cpu_seconds(thread, wall_seconds):
    clock = time.pthread_getcpuclockid(thread.ident)
    before = time.clock_gettime(clock)
    time.sleep(wall_seconds)
    return time.clock_gettime(clock) - before


def test_keep_awake_spins_at_idle_priority_only_while_started():
    keep_awake = event_loop.KeepAwake.create()
    assert keep_awake is not None  # Linux with glibc and two cores or more: CI and the docs' setup
    assert thread_cpu_seconds(keep_awake.thread, 0.3) < 0.03  # created idle
    keep_awake.start()
    try:
        assert thread_cpu_seconds(keep_awake.thread, 0.3) > 0.05  # spins (this test sleeps)
        assert os.sched_getscheduler(keep_awake.thread.native_id) == os.SCHED_IDLE
    finally:
        keep_awake.stop()
    time.sleep(0.05)  # lets it leave the spin
    assert thread_cpu_seconds(keep_awake.thread, 0.3) < 0.03
