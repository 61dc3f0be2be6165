"""TF Serving's gRPC API (port 8500): the PredictionService and ModelService generated in
`tensorflow-serving-api`, served by grpcio (Google's gRPC runtime, what TF Serving clients use).
Its asyncio server shares the event loop with the REST server and answers sooner than grpcio's
thread-pool server (docs/serving.md)."""
import asyncio
from typing import Callable, List, Optional

import grpc
from google.protobuf.message import DecodeError
from grpc import aio
from tensorflow_serving.apis import (
    inference_pb2, model_management_pb2, model_service_pb2_grpc, prediction_service_pb2_grpc, status_pb2,
)

from serving import api
from serving.dispatch import Dispatcher
from serving.metrics import Stopwatch
from serving.request_log import RequestLogs
from serving.loaded_version import ServingError


class _Undecodable:
    """A request body that is not the method's protobuf message, handed to the servicer as this."""

    def __init__(self, error: DecodeError):
        self.message = f"Failed to parse request: {error}"


class _LenientHandler(grpc.GenericRpcHandler):
    """The generated handlers, with a deserializer that hands an undecodable body to the servicer
    as `_Undecodable` rather than raising: grpc.aio would log the traceback and answer UNKNOWN."""

    def __init__(self, inner: grpc.GenericRpcHandler):
        self._inner, self._handlers = inner, {}

    def service(self, handler_call_details):
        handler = self._handlers.get(handler_call_details.method)
        if handler is None:
            handler = self._inner.service(handler_call_details)
            if handler is None or handler.request_deserializer is None:
                return handler  # not this service's method: not kept (clients choose the names)
            handler = handler._replace(request_deserializer=_lenient(handler.request_deserializer))
            self._handlers[handler_call_details.method] = handler
        return handler


def _lenient(deserialize: Callable) -> Callable:
    def parse(data: bytes):
        try:
            return deserialize(data)
        except DecodeError as error:
            return _Undecodable(error)
    return parse


class _Lenient:
    """What the generated `add_..._to_server` functions are given in place of the server."""

    def __init__(self, server: aio.Server):
        self._server = server

    def add_generic_rpc_handlers(self, handlers) -> None:
        self._server.add_generic_rpc_handlers(tuple(_LenientHandler(h) for h in handlers))

    def __getattr__(self, name: str):
        return getattr(self._server, name)


def _model_name(request) -> str:
    """The model a request names: a MultiInferenceRequest names it in each task."""
    if isinstance(request, inference_pb2.MultiInferenceRequest):
        return request.tasks[0].model_spec.name if request.tasks else ""
    return request.model_spec.name


class _Service:
    def __init__(self, server: api.ModelServer, dispatcher: Dispatcher):
        self._server, self._dispatcher = server, dispatcher

    async def _answer(self, context: aio.ServicerContext, operation: Callable, request,
                      name: Optional[str]):
        """`name`: the API, as TF Serving's metrics label it (Predict, Classify, ...); None: not
        in the metrics (TF Serving's GetModelMetadata and GetModelStatus record nothing)."""
        if isinstance(request, _Undecodable):  # C++ gRPC, TF Serving's, answers INTERNAL
            await context.abort(grpc.StatusCode.INTERNAL, request.message)
        stopwatch, code, message = Stopwatch(), grpc.StatusCode.OK, ""
        try:
            return await self._dispatcher.run(request.ByteSize(), operation, request)
        except ServingError as error:
            code, message = error.code, error.message
        except Exception as error:  # pylint: disable=broad-except  (never take the server down)
            code, message = grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}"
        finally:
            if self._server.metrics is not None and name is not None:
                self._server.metrics.request(_model_name(request), name, "GRPC", code.name,
                                             stopwatch.seconds)
        await context.abort(code, message)
        return None  # not reached: abort raises


class PredictionService(_Service, prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, server: api.ModelServer, dispatcher: Dispatcher,
                 request_log: Optional[RequestLogs]):
        super().__init__(server, dispatcher)
        self._request_log = request_log

    async def Predict(self, request, context):
        response = await self._answer(context, self._server.predict, request, "Predict")
        if self._request_log is not None and set(request.inputs) == {"examples"}:
            self._request_log.record(request.model_spec.name, list(request.inputs["examples"].string_val))
        return response

    async def Classify(self, request, context):
        response = await self._answer(context, self._server.classify, request, "Classify")
        self._log_input(request)
        return response

    async def Regress(self, request, context):
        response = await self._answer(context, self._server.regress, request, "Regress")
        self._log_input(request)
        return response

    async def MultiInference(self, request, context):
        response = await self._answer(context, self._server.multi_inference, request, "MultiInference")
        self._log_input(request)
        return response

    async def GetModelMetadata(self, request, context):
        return await self._answer(context, self._server.metadata, request, None)

    def _log_input(self, request) -> None:
        if self._request_log is not None:
            self._request_log.record(_model_name(request), list(api.serialized_examples(request.input)))


class ModelService(_Service, model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, server: api.ModelServer, dispatcher: Dispatcher):
        super().__init__(server, dispatcher)

    async def GetModelStatus(self, request, context):
        return await self._answer(context, self._server.status, request, None)

    async def HandleReloadConfigRequest(self, request, context):
        """TF Serving's config reload (model_service_impl.cc): the new models.config applied in
        full, or refused with the reason and the one in force kept."""
        if isinstance(request, _Undecodable):
            await context.abort(grpc.StatusCode.INTERNAL, request.message)
        try:  # loading an added model takes seconds: off the event loop
            await asyncio.to_thread(self._server.reloader.apply, request.config)
        except ServingError as error:
            await context.abort(error.code, error.message)
        return model_management_pb2.ReloadConfigResponse(status=status_pb2.StatusProto(error_code=0))


async def start(server: api.ModelServer, host: str, port: int, max_request_bytes: int,
                dispatcher: Dispatcher, request_log: Optional[RequestLogs] = None, acceptors: int = 1
                ) -> "tuple[List[aio.Server], int]":
    """Starts serving on the running event loop; returns the servers and the bound port.

    `acceptors`: how many grpc.aio servers listen on the port (SO_REUSEPORT, on by default in
    gRPC on Linux: the kernel spreads connections over them). A grpc.aio server takes new calls
    one at a time (one `request_call` outstanding, then a trip through its completion-queue thread
    and a turn of the event loop before the next: grpc/grpc#43436), which bounds concurrent load
    well below what the handlers could answer; each further server on the same loop takes calls
    alongside (benchmarks/serving_latency.py measures it). Where the port cannot be shared, the
    first server serves alone."""
    options = [("grpc.max_receive_message_length", max_request_bytes), ("grpc.so_reuseport", 1)]
    servers: List[aio.Server] = []
    for _ in range(acceptors):
        grpc_server = aio.server(options=options)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionService(server, dispatcher, request_log), _Lenient(grpc_server))
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(
            ModelService(server, dispatcher), _Lenient(grpc_server))
        bound = grpc_server.add_insecure_port(f"{host}:{port}")
        if bound == 0:
            if not servers:
                raise OSError(f"cannot bind gRPC to {host}:{port}")
            break
        port = bound  # the others share the port the first was given (port 0: a free one)
        await grpc_server.start()
        servers.append(grpc_server)
    return servers, port


async def stop(servers: List[aio.Server], grace: float) -> None:
    """Stops taking calls on every server; calls in progress may finish within `grace` seconds."""
    await asyncio.gather(*(grpc_server.stop(grace=grace) for grpc_server in servers))
