"""Hot swap: a new version is pushed, then rolled back, while 8 clients (REST and gRPC) keep sending
requests."""
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from serving import client, model_dir, rollback
from serving import process as serving_server
from tests import serving_models

# Timed: run alone, after the tests that run two at a time (Makefile).
pytestmark = pytest.mark.serial  # requests kept flowing through a version swap, with a deadline

EXAMPLES = [serving_models.example(3.0, "Cash"), serving_models.example(0.25, "Prcard")]
CLIENTS_PER_TRANSPORT = 4
MIN_REQUESTS = 3000
MIN_AFTER_SWAP = 300


def expected_answers(path):
    model = tf.saved_model.load(path)
    return model.signatures["serving_default"](examples=tf.constant(EXAMPLES))["probabilities"].numpy()


def test_pushing_a_new_version_and_rolling_it_back_under_load_fails_no_request(tmp_path):
    old = serving_models.build(str(tmp_path / "built" / "old"), 1.0)
    new = serving_models.build(str(tmp_path / "built" / "new"), 2.0)
    base = tmp_path / "models" / "toy"
    old_version = int(model_dir.publish(old, str(base)).rsplit("/", 1)[-1])
    answers = {"old": expected_answers(old), "new": expected_answers(new)}
    assert not np.array_equal(answers["old"], answers["new"])

    with serving_server.running(["--serving-dir", str(base.parent), "--model-name", "toy",
                                 "--poll-seconds", "0.2", "--settle-seconds", "0.2"]) as server:
        results, failures, stop, lock = [], [], threading.Event(), threading.Lock()

        def send(make_client):
            connection = make_client()
            while not stop.is_set():
                try:
                    if isinstance(connection, client.GrpcClient):
                        values, version = connection.predict_with_version(EXAMPLES)
                    else:
                        values, version = connection.predict(EXAMPLES), None
                except Exception as error:  # pylint: disable=broad-except  (every failure counts)
                    with lock:
                        failures.append(repr(error))
                    continue
                with lock:
                    results.append((values, version))
            connection.close()

        threads = [threading.Thread(target=send, args=(lambda: client.RestClient(server.rest_url, "toy"),))
                   for _ in range(CLIENTS_PER_TRANSPORT)]
        threads += [threading.Thread(target=send, args=(lambda: client.GrpcClient(server.grpc_target, "toy"),))
                    for _ in range(CLIENTS_PER_TRANSPORT)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(results) < MIN_REQUESTS // 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        new_version = int(model_dir.publish(new, str(base)).rsplit("/", 1)[-1])

        def answered_by_new():
            return sum(np.array_equal(values, answers["new"]) for values, _ in list(results))

        while (len(results) < MIN_REQUESTS or answered_by_new() < MIN_AFTER_SWAP) \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        rolled_back_at = len(results)
        assert rollback.withdraw(str(base), "a bad push").version == new_version

        def answered_by_old_again():
            return sum(np.array_equal(values, answers["old"]) for values, _ in list(results)[rolled_back_at:])

        while answered_by_old_again() < MIN_AFTER_SWAP and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join()
        status = client.GrpcClient(server.grpc_target, "toy").status().model_version_status

    assert not failures, failures[:5]
    assert len(results) >= MIN_REQUESTS
    from_old = [r for r in results if np.array_equal(r[0], answers["old"])]
    from_new = [r for r in results if np.array_equal(r[0], answers["new"])]
    old_again = [r for r in results[rolled_back_at:] if np.array_equal(r[0], answers["old"])]
    assert len(old_again) >= MIN_AFTER_SWAP and {v for _, v in old_again} <= {old_version, None}
    assert len(from_old) + len(from_new) == len(results), "an answer came from neither version"
    assert from_old and len(from_new) >= MIN_AFTER_SWAP
    assert {v for _, v in from_old} <= {old_version, None}
    assert {v for _, v in from_new} <= {new_version, None}
    states = {s.version: s.state for s in status}
    assert states[old_version] == status[0].AVAILABLE  # loaded again once the new one was withdrawn
    assert states[new_version] == status[0].END

