"""Several grpc.aio servers on one gRPC port (serving/grpc_api.py): they share the port, the kernel
spreads connections over them, and stopping stops them all."""
import asyncio

import grpc
import pytest
import uvloop
from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

from serving import api, grpc_api
from serving.dispatch import Dispatcher

CONNECTIONS = 12


def status_call(port: int) -> grpc.RpcError:
    """GetModelStatus for a model the server does not have, over a connection of its own."""
    # A local subchannel pool: each channel opens its own connection, not a shared one.
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
                               ) as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        with pytest.raises(grpc.RpcError) as failed:
            stub.GetModelStatus(get_model_status_pb2.GetModelStatusRequest(
                model_spec={"name": "ghost"}), timeout=10)
        return failed.value


def test_acceptors_share_one_port_each_answers_connections_and_all_stop(monkeypatch):
    answered_by = []
    original = grpc_api.ModelService.GetModelStatus

    async def recording(self, request, context):
        answered_by.append(id(self))  # each acceptor has its own service object
        return await original(self, request, context)

    monkeypatch.setattr(grpc_api.ModelService, "GetModelStatus", recording)

    async def serve_and_call():
        servers, port = await grpc_api.start(api.ModelServer({}), "127.0.0.1", 0, 1 << 20,
                                             Dispatcher(1), acceptors=3)
        errors = [await asyncio.to_thread(status_call, port) for _ in range(CONNECTIONS)]
        await grpc_api.stop(servers, grace=1)
        after_stop = await asyncio.to_thread(status_call, port)
        return servers, errors, after_stop

    servers, errors, after_stop = uvloop.run(serve_and_call())
    assert len(servers) == 3
    assert [error.code() for error in errors] == [grpc.StatusCode.NOT_FOUND] * CONNECTIONS
    assert "Could not find any versions of model ghost" in errors[0].details()
    assert len(answered_by) == CONNECTIONS
    # 12 connections over 3 listeners all landing on one: odds of about 1 in 180,000
    assert len(set(answered_by)) > 1, "connections were spread over the acceptors"
    assert after_stop.code() == grpc.StatusCode.UNAVAILABLE


def test_stopping_lets_calls_in_progress_finish_within_the_grace_time(monkeypatch):
    original = grpc_api.ModelService.GetModelStatus
    started = []

    async def slow(self, request, context):
        started.append(True)
        await asyncio.sleep(0.5)
        return await original(self, request, context)

    monkeypatch.setattr(grpc_api.ModelService, "GetModelStatus", slow)

    async def call_then_stop():
        servers, port = await grpc_api.start(api.ModelServer({}), "127.0.0.1", 0, 1 << 20,
                                             Dispatcher(1), acceptors=3)
        in_progress = [asyncio.ensure_future(asyncio.to_thread(status_call, port))
                       for _ in range(6)]
        while len(started) < len(in_progress):
            await asyncio.sleep(0.01)
        await grpc_api.stop(servers, grace=5)
        return await asyncio.gather(*in_progress)

    errors = uvloop.run(call_then_stop())
    assert [error.code() for error in errors] == [grpc.StatusCode.NOT_FOUND] * 6, \
        "answered, not cut off"
