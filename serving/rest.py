"""TF Serving's REST API (port 8501): an ASGI application served by uvicorn.

uvicorn with httptools (llhttp, Node.js's HTTP parser) on the uvloop event loop: under load the
event loop is this server's bound, and tornado's pure-Python HTTP layer took about half of it
(docs/serving.md, "Latency and load"). The application is plain ASGI rather than a framework's, as
there is one route table (`_PATH`) and JSON in and out. Requests go through serving/dispatch.py
(small ones inline, large ones on a pool).
"""
import asyncio
import functools
import json
import re
import zlib
from typing import Any, Callable, Dict, List, Optional, Tuple

import grpc
from tensorflow_serving.apis import (
    classification_pb2, get_model_metadata_pb2, get_model_status_pb2, model_pb2, regression_pb2,
)

from serving import api, dispatch, rest_json, uvicorn_embedded
from serving.dispatch import Dispatcher
from serving.metrics import Stopwatch
from serving.request_log import RequestLogs
from serving.loaded_version import ServingError

# TF Serving's routes (http_rest_api_util.cc), case-insensitive as there; paths outside /v1/ are not
# its API's (404). As there, the method and `metadata` are then compared as written: `:PREDICT` is a
# malformed request and `/METADATA` a status request.
_API = re.compile(r"/v1/.*", re.IGNORECASE | re.DOTALL)
_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?:/(?P<metadata>metadata)|:(?P<method>predict|classify|regress))?$", re.IGNORECASE
)
_METHODS = ("predict", "classify", "regress")
_INVALID = grpc.StatusCode.INVALID_ARGUMENT
_JSON = (b"content-type", b"application/json")


def _model_spec(match: re.Match, body: Dict[str, Any]) -> model_pb2.ModelSpec:
    signature_name = body.get("signature_name", "")
    if not isinstance(signature_name, str):
        raise ServingError(_INVALID, f"signature_name must be a string, not {signature_name!r}")
    spec = model_pb2.ModelSpec(name=match["name"], signature_name=signature_name)
    if match["version"] is not None:
        if not match["version"].isdigit():
            raise ServingError(_INVALID, f"Malformed request: version {match['version']!r} is not "
                               "an integer")
        spec.version.value = int(match["version"])
    if match["label"] is not None:
        spec.version_label = match["label"]
    return spec


class _ClientGone(Exception):
    """The client disconnected before its request body arrived: nothing to answer."""


class _TooLarge(Exception):
    """A request body over --max-request-mb: answered 413 without reading the rest of it."""


class RestApi:
    """The ASGI application: TF Serving's routes, plus the Prometheus metrics on `metrics_path`."""

    def __init__(self, server: api.ModelServer, dispatcher: Dispatcher, max_request_bytes: int,
                 request_log: Optional[RequestLogs] = None, metrics_path: Optional[str] = None):
        self._server, self._dispatcher = server, dispatcher
        self._max_request_bytes, self._request_log = max_request_bytes, request_log
        self._metrics_path = metrics_path if server.metrics is not None else None
        self.cut_off = 0  # requests still running when the shutdown's grace time ran out

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return  # uvicorn runs without lifespan events; websockets are not served
        try:
            status, headers, payload = await self._respond(scope, receive)
        except _ClientGone:
            return
        except asyncio.CancelledError:  # uvicorn cancels what outlives the shutdown's grace time
            self.cut_off += 1
            raise
        headers.append((b"content-length", str(len(payload)).encode()))  # else chunked
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _respond(self, scope: dict, receive: Callable) -> Tuple[int, List, bytes]:
        path, verb = scope["path"], scope["method"]
        if path == self._metrics_path and verb == "GET":
            text, content_type = self._server.metrics.exposition()
            return 200, [(b"content-type", content_type.encode())], text
        if not _API.fullmatch(path):
            return 404, [_JSON], json.dumps({"error": f"Not found: {path}"}).encode()
        stopwatch, code = Stopwatch(), grpc.StatusCode.OK
        match = _PATH.match(path)
        try:
            raw = await self._body(scope, receive)
            status, body = await self._dispatcher.run(
                len(raw), self._dispatch, verb, path, match, raw)
        except ServingError as error:
            code, (status, body) = error.code, rest_json.error_body(error)
        except _TooLarge as error:
            code, status, body = grpc.StatusCode.RESOURCE_EXHAUSTED, 413, {"error": str(error)}
        except RecursionError:  # Python's JSON parser and the conversions recurse per nesting level
            code, status, body = _INVALID, 400, {"error": "Malformed request: JSON nested too deeply"}
        except _ClientGone:
            raise
        except Exception as error:  # pylint: disable=broad-except  (never take the server down)
            code, status = grpc.StatusCode.INTERNAL, 500
            body = {"error": f"{type(error).__name__}: {error}"}
        if self._server.metrics is not None:
            # TF Serving labels a REST request's API with the path's method as written, "" for a GET
            self._server.metrics.request(match["name"] if match else "",
                                         (match and match["method"]) or "", "REST", code.name,
                                         stopwatch.seconds)
        return status, [_JSON], json.dumps(body).encode()

    async def _body(self, scope: dict, receive: Callable) -> bytes:
        """The request body, refused (413) past --max-request-mb before or while it arrives;
        a gzip one (`Content-Encoding: gzip`, which TF Serving uncompresses) uncompressed, refused
        past the limit uncompressed too."""
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self._max_request_bytes:
            raise self._too_large(int(declared))
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone()
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self._max_request_bytes:
                raise self._too_large(size)
            if not message.get("more_body"):
                raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                # As TF Serving (evhttp_request.cc), an empty body is no body, whatever its header
                if raw and b"gzip" in headers.get(b"content-encoding", b"").lower():
                    return await self._gunzipped(raw)
                return raw

    async def _gunzipped(self, raw: bytes) -> bytes:
        """`raw` uncompressed, never more than the limit (a gzip bomb stops there). The first
        INLINE_MAX_BYTES come out on the event loop (~1 ms at most), the rest on the pool: a
        16 KB bomb inflates to 16 MiB in ~0.1 s, which would stall every REST and gRPC request."""
        limit = self._max_request_bytes
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip's header and trailer
        inline = min(limit + 1, dispatch.INLINE_MAX_BYTES)
        body = _inflate(inflater, b"", raw, inline)
        if len(body) == inline <= limit and not inflater.eof:
            body = await self._dispatcher.call(_inflate, inflater, body, inflater.unconsumed_tail,
                                               limit + 1 - inline)
        if len(body) > limit:
            raise _TooLarge(f"Request body is over the limit of {limit} bytes uncompressed "
                            "(serve --max-request-mb)")
        if not inflater.eof:
            raise ServingError(_INVALID, "Failed to uncompress the gzipped body: it is cut short")
        if inflater.unused_data:  # TF Serving's zlib wrapper (gzip_zlib.cc) refuses it too
            raise ServingError(_INVALID, "Failed to uncompress the gzipped body: data after its "
                               "first gzip member")
        return body

    def _too_large(self, size: int) -> _TooLarge:
        return _TooLarge(f"Request body of {size} bytes is over the limit of "
                         f"{self._max_request_bytes} bytes (serve --max-request-mb)")

    async def _dispatch(self, verb: str, path: str, match: Optional[re.Match], raw: bytes
                        ) -> Tuple[int, Dict[str, Any]]:
        if (match is None or verb not in ("GET", "POST") or (verb == "GET") != (match["method"] is None)
                or (match["method"] is not None and match["method"] not in _METHODS)):
            raise ServingError(_INVALID, f"Malformed request: {verb} {path}")
        body = _json_body(raw) if verb == "POST" else {}
        spec = _model_spec(match, body)
        if verb == "GET":
            if match["metadata"] == "metadata":
                request = get_model_metadata_pb2.GetModelMetadataRequest(
                    model_spec=spec, metadata_field=["signature_def"])
                return 200, rest_json.metadata_response(await self._server.metadata(request))
            request = get_model_status_pb2.GetModelStatusRequest(model_spec=spec)
            return 200, rest_json.message(await self._server.status(request))
        return 200, await self._methods()[match["method"]](spec, body)

    def _methods(self) -> Dict[str, Callable]:
        return {
            "predict": self._predict,
            "classify": functools.partial(
                self._on_examples, classification_pb2.ClassificationRequest, self._server.classify,
                rest_json.classify_response),
            "regress": functools.partial(
                self._on_examples, regression_pb2.RegressionRequest, self._server.regress,
                rest_json.regress_response),
        }

    async def _predict(self, spec: model_pb2.ModelSpec, body: Dict[str, Any]) -> Dict[str, Any]:
        loaded = self._server.resolve(spec)
        # TF Serving's REST layer looks the signature up itself: an unknown one is a bad argument.
        name = spec.signature_name or api.DEFAULT_SIGNATURE
        signature_def = loaded.signature_defs.get(name)
        if signature_def is None:
            raise ServingError(_INVALID, f'Serving signature name: "{name}" not found in signature def')
        inputs, row_format = rest_json.predict_inputs(body, list(signature_def.inputs))
        _, _, outputs = await self._server.run(spec, inputs, loaded=loaded)
        if self._request_log is not None and set(inputs) == {"examples"}:
            self._request_log.record(spec.name, list(inputs["examples"]))
        return rest_json.predict_response(outputs, row_format)

    async def _on_examples(self, request_type: type, operation: Callable, to_json: Callable,
                           spec: model_pb2.ModelSpec, body: Dict[str, Any]) -> Dict[str, Any]:
        """Classify and Regress: JSON tf.Examples in, the operation's response out as JSON."""
        request = request_type(model_spec=spec, input=rest_json.examples_input(body))
        response = await operation(request)
        if self._request_log is not None:
            self._request_log.record(spec.name, list(api.serialized_examples(request.input)))
        return to_json(response)


def _inflate(inflater, before: bytes, data: bytes, most: int) -> bytes:
    """`before` and at most `most` bytes more out of `inflater` fed `data`."""
    try:
        return before + inflater.decompress(data, most)
    except zlib.error as error:
        raise ServingError(_INVALID, f"Failed to uncompress the gzipped body: {error}") from None


def _json_body(raw: bytes) -> Dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ServingError(_INVALID, f"JSON Parse error: {error}") from None
    if not isinstance(body, dict):
        raise ServingError(_INVALID, "the request body must be a JSON object")
    return body


class RestServer:
    """Listens on the running event loop once `start`ed (`port`: the bound one, useful with 0)."""

    def __init__(self, server: api.ModelServer, host: str, port: int, max_request_bytes: int,
                 dispatcher: Dispatcher, request_log: Optional[RequestLogs] = None,
                 metrics_path: Optional[str] = None, shutdown_grace_seconds: float = 10.0):
        """`metrics_path`: where the Prometheus metrics are served (None: nowhere)."""
        self._app = RestApi(server, dispatcher, max_request_bytes, request_log, metrics_path)
        listening = uvicorn_embedded.listening_socket(host, port)
        self.port = listening.getsockname()[1]
        self._uvicorn = uvicorn_embedded.EmbeddedUvicorn(self._app, listening,
                                                         shutdown_grace_seconds)

    async def start(self) -> None:
        await self._uvicorn.start()

    async def stop(self) -> bool:
        """Stops accepting, lets requests in progress finish (at most the grace time), then closes
        every connection. False when some request had to be cut off."""
        await self._uvicorn.stop()
        return self._app.cut_off == 0
