"""`tfxpipe serve`: a model server with TF Serving's external contract (REST 8501, gRPC 8500, the
same model directory layout, models.config and warmup files), for where the real
`tensorflow_model_server` cannot run: laptops without Docker, CI, infra validation before a push.
"""
import asyncio
import gc
import json
import logging
import os
import signal
import threading
import time
from typing import Iterable, Optional

import uvloop
from tensorflow_serving.config import model_server_config_pb2

from serving import api, batching, grpc_api, loaded_version, metrics, model_config, rest, warmup
from serving.dispatch import Dispatcher
from serving.request_log import RequestLogs
from serving.servables import ModelVersions
from serving.settings import ServerSettings


def build(config: model_server_config_pb2.ModelServerConfig, settings: ServerSettings
          ) -> api.ModelServer:
    loaded_version.LoadedVersion.try_single_threaded = settings.single_threaded_executor
    # A batched call of several examples hands work to TF's intra-op threads (ParseExample splits
    # its batch into minibatches over them), which then spin, waiting for more, on the cores the
    # event loop and the batch thread need: ~0.05 ms of CPU per call of 8 examples, ~5 % of the
    # answers per second at 16 clients (docs/serving.md). One-example calls seldom wake those
    # threads, so the server without batching keeps TF's default.
    loaded_version.LoadedVersion.thread_spinning = (settings.batching_parameters is None
                                               or settings.tf_thread_spinning)
    server_metrics = metrics.ServingMetrics() if settings.metrics_path else None
    batcher = None
    if settings.batching_parameters is not None:
        batcher = batching.Batcher(settings.batching_parameters,
                                   server_metrics.batched_run if server_metrics else None)
    server = api.ModelServer({}, server_metrics, batcher)

    def make_model(entry: model_server_config_pb2.ModelConfig) -> ModelVersions:
        return ModelVersions(entry, on_loaded=lambda loaded: _warm_up(server, loaded),
                             settle_seconds=settings.settle_seconds, announce=_announce)

    server.models = {c.name: make_model(c) for c in config.model_config_list.config}
    server.reloader = model_config.Reloader(
        server, make_model, lambda model: load_now([model], settings.settle_seconds),
        settings.allow_version_labels_for_unavailable_models)
    return server


class StartupError(Exception):
    """A model server that cannot serve what it was given, said before it opens its ports."""


def load_now(models: Iterable[ModelVersions], settle_seconds: float) -> None:
    """Loads what is on disk now: a first look, then what stayed unchanged `settle_seconds`."""
    models = list(models)
    for model in models:
        model.poll()
    threading.Event().wait(settle_seconds)
    for model in models:
        model.poll()


def _warm_up(server: api.ModelServer, loaded) -> int:
    stopwatch, status = metrics.Stopwatch(), "OK"
    try:
        return warmup.replay(server, loaded)
    except Exception:
        status = "FAILED"
        raise
    finally:
        if server.metrics is not None:
            server.metrics.warmup_latency.observe((loaded.path, status), stopwatch.seconds * 1e6)


def _announce(line: str) -> None:
    print(line, flush=True)


def freeze_heap() -> None:
    """Puts every object alive now (TensorFlow's modules, the loaded models) out of the garbage
    collector's reach with `gc.freeze`. Under load, requests in flight survive young collections,
    so Python runs a full one every second or so, and with TensorFlow loaded each walks ~500k objects
    for ~0.15 s while every request waits. Frozen, a full collection walks only what came after.
    Called again after each version change, behind a full collection, so a retired version's
    reference cycles are still freed."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _poll_forever(server: api.ModelServer, settings: ServerSettings, stop: threading.Event,
                  config_file: Optional[model_config.ConfigFile]) -> None:
    config_read = time.monotonic()
    while not stop.wait(settings.poll_seconds):
        if config_file is not None and time.monotonic() - config_read >= settings.model_config_poll_seconds:
            config_file.poll()  # says what it refuses: never ends the polling of versions
            config_read = time.monotonic()
        changed = False
        for model in server.models.values():
            try:
                changed = model.poll() or changed
            except Exception:  # pylint: disable=broad-except  (a bad poll must not end polling)
                logging.exception("polling model %s failed", model.name)
        if changed and settings.gc_freeze:
            freeze_heap()


def _write_ready_file(path: str, rest_port: int, grpc_port: int) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump({"rest_port": rest_port, "grpc_port": grpc_port, "pid": os.getpid()}, f)
    os.replace(temporary, path)  # readers never see a partial file


async def _serve(server: api.ModelServer, settings: ServerSettings, dispatcher: Dispatcher,
                 config_file: Optional[model_config.ConfigFile]) -> None:
    request_log = (RequestLogs(settings.request_log_dir, sample_rate=settings.request_log_sample_rate,
                               max_bytes=settings.request_log_max_bytes)
                   if settings.request_log_dir else None)
    grpc_servers, grpc_port = await grpc_api.start(server, settings.host, settings.grpc_port,
                                                   settings.max_request_bytes, dispatcher,
                                                   request_log, settings.grpc_acceptors)
    rest_server = rest.RestServer(server, settings.host, settings.rest_port,
                                  settings.max_request_bytes, dispatcher, request_log,
                                  settings.metrics_path, settings.shutdown_grace_seconds)
    await rest_server.start()
    rest_port = rest_server.port
    stop_polling = threading.Event()
    threading.Thread(target=_poll_forever, args=(server, settings, stop_polling, config_file),
                     daemon=True, name="version-poller").start()
    print(f"Serving {', '.join(sorted(server.models))} on {settings.host}: REST {rest_port}, "
          f"gRPC {grpc_port}", flush=True)
    if settings.ready_file:
        _write_ready_file(settings.ready_file, rest_port, grpc_port)
    loop = asyncio.get_running_loop()
    stopped: "asyncio.Future[signal.Signals]" = loop.create_future()

    def on_signal(number: signal.Signals) -> None:
        if not stopped.done():  # a second signal while stopping changes nothing
            stopped.set_result(number)

    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, on_signal, signal_number)
    received = await stopped
    # Graceful: neither port takes new requests; those in progress finish (within the grace time).
    print(f"Stopping on {received.name}: no new requests; those in progress get up to "
          f"{settings.shutdown_grace_seconds:g} s to finish", flush=True)
    stop_polling.set()
    grpc_stopped = asyncio.ensure_future(grpc_api.stop(grpc_servers,
                                                      settings.shutdown_grace_seconds))
    if not await rest_server.stop():
        print("Stopping: REST requests still running after the grace time were cut off", flush=True)
    await grpc_stopped
    dispatcher.shutdown()
    if request_log is not None:
        request_log.close()
    print("Stopped", flush=True)


def serve(config: model_server_config_pb2.ModelServerConfig, settings: ServerSettings) -> None:
    """Loads what is on disk now (as TF Serving does before it opens its ports), then serves until
    SIGINT/SIGTERM, polling for new versions (and a changed config file). StartupError when a
    model's versions all failed to load, or a label names a version not served."""
    server = build(config, settings)
    # read before the first load: an edit made meanwhile is applied at the first poll
    config_file = (model_config.ConfigFile(settings.model_config_file, server.reloader, _announce)
                   if settings.model_config_file and settings.model_config_poll_seconds else None)
    load_now(server.models.values(), settings.settle_seconds)
    for model in server.models.values():
        model.announce_if_empty()
    unavailable = [said for said in (m.unavailable() for m in server.models.values()) if said]
    if unavailable:  # TF Serving's words (server_core.cc); an empty folder waits for its first version
        raise StartupError(f"{len(unavailable)} model(s) did not become available: {{{', '.join(unavailable)}}}")
    # TF Serving checks labels before the first load, so without the flag it refuses any label at
    # start (deploy-config's command passes the flag); here a label may name a version that loaded
    refused = model_config.refused_labels([m.config for m in server.models.values()],
                                          lambda name: server.models[name].available_versions(), lambda name: {},
                                          settings.allow_version_labels_for_unavailable_models)
    if refused:
        raise StartupError("; ".join(refused) + " (--allow_version_labels_for_unavailable_models allows it)")
    if settings.gc_freeze:
        freeze_heap()
    serving = _serve(server, settings, Dispatcher(settings.workers), config_file)
    (uvloop.run if settings.uvloop else asyncio.run)(serving)
