"""Where a request's work runs. Small requests (the usual one or few examples, status, metadata) run
on the event loop itself: on a busy small machine a thread hand-off costs about half a small
model call. Large requests run on a thread pool, so one big batch never stalls the other requests (and
TensorFlow releases the GIL while it computes, so pooled calls use every core)."""
import asyncio
from concurrent import futures
from typing import Any, Callable

INLINE_MAX_BYTES = 256 << 10  # a few hundred examples of a tabular model: a few ms of model time


class Dispatcher:
    def __init__(self, workers: int, inline_max_bytes: int = INLINE_MAX_BYTES):
        self._inline_max_bytes = inline_max_bytes  # -1: every request on the pool
        self._pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="model")
        self._pooled = 0  # requests on the pool now; read and written on the event loop only

    async def run(self, request_bytes: int, function: Callable[..., Any], *args) -> Any:
        if request_bytes <= self._inline_max_bytes:
            return function(*args)
        self._pooled += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)
        finally:
            self._pooled -= 1

    def pool_idle(self) -> bool:
        return self._pooled == 0

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False)
