"""TF Serving's gRPC API (port 8500): the PredictionService and ModelService generated in
`tensorflow-serving-api`, served by grpcio (Google's gRPC runtime, what TF Serving clients use)."""
from concurrent import futures
from typing import Callable, Optional

import grpc
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from serving import api
from serving.request_log import RequestLog
from serving.servables import ServingError


def _answer(context: grpc.ServicerContext, operation: Callable, request):
    try:
        return operation(request)
    except ServingError as error:
        context.abort(error.code, error.message)
    except Exception as error:  # pylint: disable=broad-except  (never take the server down)
        context.abort(grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}")
    return None  # not reached: abort raises


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, server: api.ModelServer, request_log: Optional[RequestLog]):
        self._server, self._log = server, request_log

    def Predict(self, request, context):
        response = _answer(context, self._server.predict, request)
        if self._log is not None and set(request.inputs) == {"examples"}:
            self._log.record(list(request.inputs["examples"].string_val))
        return response

    def Classify(self, request, context):
        response = _answer(context, self._server.classify, request)
        self._log_input(request.input)
        return response

    def Regress(self, request, context):
        response = _answer(context, self._server.regress, request)
        self._log_input(request.input)
        return response

    def GetModelMetadata(self, request, context):
        return _answer(context, self._server.metadata, request)

    def _log_input(self, request_input) -> None:
        if self._log is not None:
            self._log.record(list(api.serialized_examples(request_input)))


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, server: api.ModelServer):
        self._server = server

    def GetModelStatus(self, request, context):
        return _answer(context, self._server.status, request)


def start(server: api.ModelServer, host: str, port: int, max_request_bytes: int,
          workers: int, request_log: Optional[RequestLog] = None) -> "tuple[grpc.Server, int]":
    """Starts serving on its own threads; returns the server and the bound port."""
    grpc_server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grpc"),
        options=[("grpc.max_receive_message_length", max_request_bytes)],
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(server, request_log), grpc_server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(server), grpc_server)
    bound = grpc_server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind gRPC to {host}:{port}")
    grpc_server.start()
    return grpc_server, bound
