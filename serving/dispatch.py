"""Where a request's work runs. Small requests (the usual one or few examples, status, metadata) run
on the event loop itself: on a busy small machine a thread hand-off costs about half a small
model call. Large requests run on a thread pool, each on an event loop of its own there, so one
big batch never stalls the other requests (and TensorFlow releases the GIL while it computes, so
pooled calls use every core)."""
import asyncio
from concurrent import futures
from typing import Any, Awaitable, Callable

INLINE_MAX_BYTES = 256 << 10  # a few hundred examples of a tabular model: a few ms of model time


class Dispatcher:
    def __init__(self, workers: int):
        self._pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="model")

    async def run(self, request_bytes: int, operation: Callable[..., Awaitable[Any]], *args) -> Any:
        """`await operation(*args)`, here or on the pool."""
        if request_bytes <= INLINE_MAX_BYTES:
            return await operation(*args)
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, lambda: asyncio.run(operation(*args)))

    async def call(self, function: Callable[..., Any], *args) -> Any:
        """`function(*args)` on the pool: plain CPU work that releases the GIL (zlib), too long
        for the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False)
