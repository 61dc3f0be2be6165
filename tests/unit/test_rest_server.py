"""The REST server's HTTP layer (uvicorn), on a server with no models: what it answers and how fast,
on both event loops it runs on."""
import asyncio
import http.client
import json
import time

import pytest
import uvloop

from serving import api, rest
from serving.dispatch import Dispatcher

LIMIT = 1 << 10


def exchange(run_loop, requests):
    """Serves on `run_loop` (asyncio.run or uvloop.run) and sends `requests` ((verb, path, body))
    over one keep-alive connection: [(status, JSON body)] and the seconds they took."""
    async def serve_and_send():
        server = rest.RestServer(api.ModelServer({}), "127.0.0.1", 0, LIMIT, Dispatcher(1))
        await server.start()

        def send():
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            answers, started = [], time.perf_counter()
            for verb, path, body in requests:
                connection.request(verb, path, body=body)
                response = connection.getresponse()
                answers.append((response.status, json.loads(response.read())))
            return answers, time.perf_counter() - started

        try:
            return await asyncio.to_thread(send)
        finally:
            assert await server.stop()

    return run_loop(serve_and_send())


@pytest.mark.parametrize("run_loop", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_answers_on_a_kept_alive_connection_do_not_wait_for_delayed_acks(run_loop):
    answers, seconds = exchange(run_loop, [("GET", "/v1/models/ghost", None)] * 20)
    assert [status for status, _ in answers] == [404] * 20
    assert "ghost" in answers[0][1]["error"]
    # With Nagle's algorithm on, each answer's second write waits ~40 ms for the client's ACK.
    assert seconds < 0.3, f"20 answers took {seconds:.2f} s"


def test_a_body_over_the_limit_is_refused_with_413_naming_the_limit_and_the_connection_goes_on():
    answers, _ = exchange(uvloop.run, [("POST", "/v1/models/toy:predict", b"x" * (LIMIT + 1)),
                                       ("POST", "/v1/models/toy:predict", b"{broken"),
                                       ("PUT", "/v1/models/toy:predict", b"{}")])
    (too_large, refused), (broken, parse_error), (wrong_verb, malformed) = answers
    assert too_large == 413 and f"limit of {LIMIT} bytes" in refused["error"]
    assert "--max-request-mb" in refused["error"]
    assert broken == 400 and "JSON Parse error" in parse_error["error"]
    assert wrong_verb == 400 and "Malformed request: PUT" in malformed["error"]
