"""The REST server's HTTP layer (uvicorn), on a server with no models: what it answers and how fast,
on both event loops it runs on."""
import asyncio
import gzip
import http.client
import json
import socket
import threading
import time
from concurrent import futures

import pytest
import uvloop

from serving import api, rest, uvicorn_embedded
from serving.dispatch import Dispatcher

# Timed: run alone, after the tests that run two at a time (Makefile).
pytestmark = pytest.mark.serial  # answers timed against a bound

LIMIT = 1 << 10


def serving(run_loop, client, limit=LIMIT):
    """`client(port)`, run in a thread while a REST server with no models serves on `run_loop`
    (asyncio.run or uvloop.run)."""
    async def serve_and_send():
        server = rest.RestServer(api.ModelServer({}), "127.0.0.1", 0, limit, Dispatcher(1))
        await server.start()
        try:
            return await asyncio.to_thread(client, server.port)
        finally:
            assert await server.stop()

    return run_loop(serve_and_send())


def exchange(run_loop, requests, limit=LIMIT):
    """Sends `requests` ((verb, path, body)) over one keep-alive connection: [(status, JSON
    body)] and the seconds they took."""
    def send(port):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        answers, started = [], time.perf_counter()
        for verb, path, body in requests:
            connection.request(verb, path, body=body)
            response = connection.getresponse()
            answers.append((response.status, json.loads(response.read())))
        return answers, time.perf_counter() - started

    return serving(run_loop, send, limit)


@pytest.mark.parametrize("run_loop", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_answers_on_a_kept_alive_connection_do_not_wait_for_delayed_acks(run_loop):
    answers, seconds = exchange(run_loop, [("GET", "/v1/models/ghost", None)] * 50)
    assert [status for status, _ in answers] == [404] * 50
    assert "ghost" in answers[0][1]["error"]
    # With Nagle's algorithm on, each answer's second write waits ~40 ms for the client's ACK:
    # 2 s for 50. Half that leaves room for a slow, busy machine.
    assert seconds < 1.0, f"50 answers took {seconds:.2f} s"


def test_a_body_over_the_limit_is_refused_with_413_naming_the_limit_and_the_connection_goes_on():
    answers, _ = exchange(uvloop.run, [("POST", "/v1/models/toy:predict", b"x" * (LIMIT + 1)),
                                       ("POST", "/v1/models/toy:predict", b"{broken"),
                                       ("PUT", "/v1/models/toy:predict", b"{}")])
    (too_large, refused), (broken, parse_error), (wrong_verb, malformed) = answers
    assert too_large == 413 and f"limit of {LIMIT} bytes" in refused["error"]
    assert "--max-request-mb" in refused["error"]
    assert broken == 400 and "JSON Parse error" in parse_error["error"]
    assert wrong_verb == 400 and "Malformed request: PUT" in malformed["error"]


@pytest.mark.parametrize("headers", [
    [b"X-Big: " + b"a" * (4 << 20)],  # one header of 4 MiB
    [b"X-Many-%d: %s" % (i, b"b" * 140) for i in range(4000)],  # 4,000 headers, ~600 KB
], ids=["one huge header", "many headers"])
def test_a_request_head_over_the_cap_is_answered_431_and_its_connection_closed(headers):
    def send(port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            head = b"GET /v1/models/toy HTTP/1.1\r\nHost: x\r\n" + b"\r\n".join(headers) + b"\r\n\r\n"
            try:
                for start in range(0, len(head), 1 << 16):
                    connection.sendall(head[start:start + (1 << 16)])
            except OSError:  # the server closed the connection before the head was all sent
                pass
            answer = b""
            while chunk := connection.recv(1 << 16):
                answer += chunk
            return answer

    answer = serving(uvloop.run, send)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    assert b"over %d bytes" % uvicorn_embedded.MAX_HEAD_BYTES in answer


def test_a_large_body_behind_a_small_head_is_not_taken_for_a_large_head():
    body = json.dumps({"instances": ["x" * 100] * 5000}).encode()  # ~0.5 MB, sent in one go
    answers, _ = exchange(uvloop.run, [("POST", "/v1/models/toy:predict", body)], limit=len(body))
    assert answers[0][0] == 404 and "toy" in answers[0][1]["error"]


def test_an_empty_body_marked_gzip_is_no_body_and_extra_gzip_members_are_refused():
    """As TF Serving (evhttp_request.cc, gzip_zlib.cc): a client that marks every request gzip
    gets its GETs answered; a second gzip member after the first is a broken body, not cut off."""
    two_members = gzip.compress(b'{"instances": [1]}') + gzip.compress(b"ignored")

    def send(port):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        answers = []
        for verb, body in (("GET", None), ("POST", two_members), ("POST", gzip.compress(b"{}"))):
            connection.request(verb, "/v1/models/ghost" + (":predict" if body else ""), body=body,
                               headers={"Content-Encoding": "gzip"})
            response = connection.getresponse()
            answers.append((response.status, json.loads(response.read())["error"]))
        return answers

    (empty, not_found), (two, refused), (one, one_not_found) = serving(uvloop.run, send)
    assert empty == 404 and "ghost" in not_found
    assert two == 400 and "after its first gzip member" in refused
    assert one == 404 and "ghost" in one_not_found


def test_a_gzip_bomb_is_uncompressed_off_the_event_loop(monkeypatch):
    """64 MiB of zeros from 64 KB: past its first part, uncompressed on the pool, so a status
    request sent meanwhile is answered at once, before the bomb's 413. The pool's part waits here
    until that answer came (10 s at most): on the event loop it would hold every request that long."""
    limit = 64 << 20
    bomb = gzip.compress(bytes(limit + 1))
    on_pool, status_answered = threading.Event(), threading.Event()
    inflate = rest._inflate  # pylint: disable=protected-access

    def held(inflater, before, data, most):
        if before:  # the part past the first: the pool's
            on_pool.set()
            status_answered.wait(10)
        return inflate(inflater, before, data, most)

    monkeypatch.setattr(rest, "_inflate", held)

    def send(port):
        def post_bomb():
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("POST", "/v1/models/ghost:predict", body=bomb,
                               headers={"Content-Encoding": "gzip"})
            response = connection.getresponse()
            return response.status, time.perf_counter()

        with futures.ThreadPoolExecutor(1) as pool:
            bombed = pool.submit(post_bomb)
            assert on_pool.wait(10), "the bomb's rest was never handed to the pool"
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            started = time.perf_counter()
            connection.request("GET", "/v1/models/ghost")
            status = connection.getresponse().status
            answered = time.perf_counter()
            status_answered.set()
            return status, answered - started, answered, bombed.result()

    status, seconds, answered, (bomb_status, bomb_answered) = serving(uvloop.run, send, limit)
    assert status == 404 and bomb_status == 413
    assert answered < bomb_answered and seconds < 5, f"status answered in {seconds:.3f} s"
