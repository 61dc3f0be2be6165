"""TF Serving's REST API (port 8501) on Tornado.

Tornado: a production HTTP server (not a development server like Werkzeug's or http.server's),
maintained, already installed with TFX (through Jupyter), with a request body cap built in
(`max_body_size`). Requests go through serving/dispatch.py (small ones inline, large ones on a pool).
"""
import asyncio
import functools
import json
import re
from typing import Any, Callable, Dict, Optional, Tuple

import grpc
import tornado.httpserver
import tornado.netutil
import tornado.web
from tensorflow_serving.apis import (
    classification_pb2, get_model_metadata_pb2, get_model_status_pb2, model_pb2, regression_pb2,
)

from serving import api, rest_json
from serving.dispatch import Dispatcher
from serving.metrics import ServingMetrics, Stopwatch
from serving.request_log import RequestLog
from serving.servables import ServingError

_PATH = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)"
    r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?:/(?P<metadata>metadata)|:(?P<method>predict|classify|regress))?$"
)
_INVALID = grpc.StatusCode.INVALID_ARGUMENT


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


class InFlight:
    """Requests being answered, so a shutdown can let them finish (tornado's own
    `close_all_connections` would cut them off)."""

    def __init__(self):
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def started(self) -> None:
        self.count += 1
        self._idle.clear()

    def finished(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def drained(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False


class ApiHandler(tornado.web.RequestHandler):
    def initialize(self, server: api.ModelServer, dispatcher: Dispatcher,
                   request_log: Optional[RequestLog], in_flight: InFlight):
        # Not `_log`: that name is tornado.web.RequestHandler's own access-log method.
        self._server, self._dispatcher = server, dispatcher  # pylint: disable=W0201
        self._request_log, self._in_flight = request_log, in_flight  # pylint: disable=W0201

    def prepare(self) -> None:
        self._in_flight.started()

    def on_finish(self) -> None:
        self._in_flight.finished()

    async def get(self) -> None:
        await self._answer("GET")

    async def post(self) -> None:
        await self._answer("POST")

    async def _answer(self, verb: str) -> None:
        stopwatch, code = Stopwatch(), grpc.StatusCode.OK
        match = _PATH.match(self.request.path)
        try:
            status, body = await self._dispatcher.run(
                len(self.request.body), self._dispatch, verb, match, self.request.body)
        except ServingError as error:
            code, (status, body) = error.code, rest_json.error_body(error)
        except RecursionError:  # Python's JSON parser and the conversions recurse per nesting level
            code, status, body = _INVALID, 400, {"error": "Malformed request: JSON nested too deeply"}
        except Exception as error:  # pylint: disable=broad-except  (never take the server down)
            code, status = grpc.StatusCode.INTERNAL, 500
            body = {"error": f"{type(error).__name__}: {error}"}
        if self._server.metrics is not None:
            self._server.metrics.request(
                match["name"] if match else "", _api_name(match), "REST", code.name, stopwatch.seconds)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    async def _dispatch(self, verb: str, match: Optional[re.Match], raw: bytes) -> Tuple[int, Dict[str, Any]]:
        if match is None or (verb == "GET") != (match["method"] is None):
            raise ServingError(_INVALID, f"Malformed request: {verb} {self.request.path}")
        body = _json_body(raw) if verb == "POST" else {}
        spec = _model_spec(match, body)
        if verb == "GET":
            if match["metadata"]:
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
        signature_def = loaded.signature(spec.signature_name or api.DEFAULT_SIGNATURE, _INVALID)
        inputs, row_format = rest_json.predict_inputs(body, list(signature_def.inputs))
        _, _, outputs = await self._server.run(spec, inputs, loaded=loaded)
        if self._request_log is not None and set(inputs) == {"examples"}:
            self._request_log.record(list(inputs["examples"]))
        return rest_json.predict_response(outputs, row_format)

    async def _on_examples(self, request_type: type, operation: Callable, to_json: Callable,
                     spec: model_pb2.ModelSpec, body: Dict[str, Any]) -> Dict[str, Any]:
        """Classify and Regress: JSON tf.Examples in, the operation's response out as JSON."""
        request = request_type(model_spec=spec, input=rest_json.examples_input(body))
        response = await operation(request)
        self._log_input(request.input)
        return to_json(response)

    def _log_input(self, request_input) -> None:
        if self._request_log is not None:
            self._request_log.record(list(api.serialized_examples(request_input)))


def _api_name(match: Optional[re.Match]) -> str:
    """The API as TF Serving's metrics label it."""
    if match is None:
        return "Unknown"
    if match["method"]:
        return match["method"].capitalize()
    return "GetModelMetadata" if match["metadata"] else "GetModelStatus"


class MetricsHandler(tornado.web.RequestHandler):
    """TF Serving's Prometheus endpoint (serving/metrics.py)."""

    def initialize(self, metrics: ServingMetrics):
        self._metrics = metrics  # pylint: disable=W0201

    def get(self) -> None:
        text, content_type = self._metrics.exposition()
        self.set_header("Content-Type", content_type)
        self.finish(text)


def _json_body(raw: bytes) -> Dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ServingError(_INVALID, f"JSON Parse error: {error}") from None
    if not isinstance(body, dict):
        raise ServingError(_INVALID, "the request body must be a JSON object")
    return body


class RestServer:
    """Listens on the running event loop (`port`: the bound one, useful with port 0)."""

    def __init__(self, server: api.ModelServer, host: str, port: int, max_request_bytes: int,
                 dispatcher: Dispatcher, request_log: Optional[RequestLog] = None,
                 metrics_path: Optional[str] = None):
        """`metrics_path`: where the Prometheus metrics are served (None: nowhere)."""
        self._in_flight = InFlight()
        routes = [(re.escape(metrics_path), MetricsHandler, {"metrics": server.metrics})] \
            if metrics_path and server.metrics is not None else []
        application = tornado.web.Application(
            routes + [(r"/.*", ApiHandler, {"server": server, "dispatcher": dispatcher,
                                            "request_log": request_log, "in_flight": self._in_flight})],
            log_function=lambda handler: None,  # no access log line per request
        )
        self._http = tornado.httpserver.HTTPServer(application, max_body_size=max_request_bytes)
        sockets = tornado.netutil.bind_sockets(port, address=host)
        self._http.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]

    async def stop(self, grace_seconds: float) -> bool:
        """Stops accepting, lets requests in progress finish (at most `grace_seconds`), then closes
        every connection. False when some request had to be cut off."""
        self._http.stop()
        drained = await self._in_flight.drained(grace_seconds)
        await self._http.close_all_connections()
        return drained
