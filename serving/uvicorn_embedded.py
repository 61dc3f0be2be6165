"""uvicorn as the REST port of the model server (serving/rest.py is the application): a socket bound
before serving, signals left to the model server, and a cap on request heads."""
import asyncio
import contextlib
import socket
from typing import Callable, Optional

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

KEEP_ALIVE_SECONDS = 75  # an idle connection stays open this long (as nginx's default)
MAX_HEAD_BYTES = 64 << 10  # a request's line and headers (tornado's limit, used before uvicorn)
LINGER_SECONDS = 1.0  # a refused connection keeps reading (and dropping) this long before closing


class HeadCappedProtocol(HttpToolsProtocol):
    """httptools buffers a request's line and headers without bound (one 200 MB header cost the
    server 400 MB) and uvicorn has no setting for it: a head still incomplete after MAX_HEAD_BYTES
    (give or take the read that started it) is answered 431 and its connection closed."""

    _head_bytes: Optional[int] = None  # None: no request head arriving
    _refused = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of a refused head: read and dropped
        head_was_arriving = self._head_bytes is not None
        super().data_received(data)
        if self._head_bytes is None or self.transport.is_closing():
            return
        if head_was_arriving:  # a head that began in this read: its share of the read is unknown
            self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES:
            body = b'{"error": "Request line and headers over %d bytes"}' % MAX_HEAD_BYTES
            self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                 b"content-type: application/json\r\nconnection: close\r\n"
                                 b"content-length: %d\r\n\r\n%s" % (len(body), body))
            # Closed with input still unread, the connection would be reset and the client could
            # lose the answer: half-close, drop what still comes for a moment, then close.
            self._refused = True
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)


def listening_socket(host: str, port: int) -> socket.socket:
    """Bound here, not by uvicorn, so the port is known (and a bind error raised) before serving.
    Made with IPPROTO_TCP: asyncio's own event loop (`--asyncio-loop`) switches Nagle's algorithm
    off only on connections of such a socket; on one from `socket.create_server` (protocol 0) each
    answer waited ~40 ms for the client's delayed ACK."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[0]
    listening = socket.socket(family, kind, proto)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind(address)
    listening.listen(2048)
    return listening


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        """SIGTERM and SIGINT are the model server's (it stops both ports, serving/server.py)."""
        yield


class EmbeddedUvicorn:
    """Serves the ASGI `app` on `listening` in the running event loop, from `start` to `stop`."""

    def __init__(self, app: Callable, listening: socket.socket, shutdown_grace_seconds: float):
        config = uvicorn.Config(
            app, http=HeadCappedProtocol, ws="none", lifespan="off", interface="asgi3",
            log_config=None, log_level="warning", access_log=False, proxy_headers=False,
            server_header=False, timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=shutdown_grace_seconds)
        self._server, self._socket = _Server(config), listening
        self._serving: Optional[asyncio.Future] = None

    async def start(self) -> None:
        self._serving = asyncio.ensure_future(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._serving.done():
                self._serving.result()  # raises what stopped it
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stops accepting, lets requests in progress finish (at most the grace time; uvicorn
        cancels the rest), then closes every connection."""
        self._server.should_exit = True
        await self._serving
