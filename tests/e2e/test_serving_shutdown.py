"""SIGTERM under load: the server stops taking requests, lets those in progress finish and exits 0."""
import base64
import json
import signal
import threading
import time

import pytest
import requests

from serving import process as serving_server
from tests import serving_models

# Timed: run alone, after the tests that run two at a time (Makefile).
pytestmark = pytest.mark.serial  # requests timed against the shutdown's grace period

BIG = 200_000  # examples: a request that takes a second or more to answer
CLIENTS = 8


def test_sigterm_during_load_finishes_requests_in_progress_and_exits_zero(tmp_path):
    serving_models.build(str(tmp_path / "toy" / "1"), 1.0)
    example = {"b64": base64.b64encode(serving_models.example(1.0, "Cash")).decode()}
    statuses, big, stop, body_sent = [], {}, threading.Event(), threading.Event()
    with serving_server.running(["--serving-dir", str(tmp_path), "--model-name", "toy",
                                 "--settle-seconds", "0", "--max-request-mb", "64"]) as server:
        url = f"{server.rest_url}/v1/models/toy:predict"

        def small_requests():
            with requests.Session() as session:
                while not stop.is_set():
                    try:
                        statuses.append(session.post(url, json={"instances": [example]}, timeout=30).status_code)
                    except requests.ConnectionError:
                        statuses.append("refused")
                        time.sleep(0.01)

        def big_request():
            payload = json.dumps({"instances": [example] * BIG}).encode()

            def body():  # sent in pieces; the event once the last one is on the wire
                for start in range(0, len(payload), 1 << 20):
                    yield payload[start:start + (1 << 20)]
                body_sent.set()
            response = requests.post(url, data=body(), headers={"Content-Type": "application/json"}, timeout=120)
            big.update(status=response.status_code, rows=len(response.json().get("predictions", [])),
                       answered=time.monotonic())

        clients = [threading.Thread(target=small_requests) for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        sender = threading.Thread(target=big_request)
        sender.start()
        # SIGTERM while the big request is being answered: its whole body is in, its answer is not
        # (a fixed sleep raced a fast machine, which answered it before the signal)
        assert body_sent.wait(timeout=60)
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        exit_code = server.process.wait(timeout=30)
        log = server.log()
        sender.join()
        stop.set()
        for client in clients:
            client.join()
    assert exit_code == 0
    assert (big["status"], big["rows"]) == (200, BIG) and big["answered"] > signalled, "answered after SIGTERM"
    answered = [s for s in statuses if s != "refused"]
    assert answered and set(answered) == {200}, "no request got an error answer, only refusals"
    assert "refused" in statuses, "after SIGTERM new requests are not taken"
    assert "Stopping on SIGTERM: no new requests; those in progress get up to" in log
    assert log.rstrip().endswith("Stopped"), log[-500:]
