"""Server-side batching (serving/batching.py) on a real SavedModel: TF Serving's signatures over a
toy model (tests/serving_models.py), loaded as the server loads it."""
import asyncio
import threading

import grpc
import numpy as np
import pytest
import tensorflow as tf

from serving import batching
from serving.loaded_version import LoadedVersion, ServingError
from tests import serving_models

SIGNATURE = "serving_default"
PAYMENTS = ("Cash", "Credit Card", "Mobile", "Prcard")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("toy") / "1")
    serving_models.build(path, 0.7)
    return LoadedVersion(1, path)


class Recording:
    """A LoadedVersion whose Session calls are counted by batch size, and can be held."""

    def __init__(self, loaded: LoadedVersion):
        self._loaded, self.batch_sizes = loaded, []
        self.release = threading.Event()
        self.release.set()

    def run(self, name, inputs):
        self.release.wait()
        self.batch_sizes.append(len(inputs["examples"]))
        return self._loaded.run(name, inputs)


def examples_for(request: int, size: int) -> np.ndarray:
    return np.array([serving_models.example(request + row / 10, PAYMENTS[(request + row) % 4])
                     for row in range(size)], dtype=object)


def answer(batcher, model, inputs, signature=SIGNATURE):
    """`batcher.run` on an event loop of this thread's own, as the server's pool threads call it."""
    return asyncio.run(batcher.run(model, signature, inputs))


async def held_in_its_session_call(batcher, model, request):
    """Starts `request` and holds the one batch thread inside its Session call with it; returns the
    running request, so that those sent next queue up behind it."""
    model.release.clear()
    running = asyncio.ensure_future(batcher.run(model, SIGNATURE, {"examples": request}))
    await asyncio.sleep(0)  # (queued)
    while batcher._queues:  # pylint: disable=protected-access  (until the thread took it)
        await asyncio.sleep(0.01)
    return running


def concurrently(batcher, model, requests, signature=SIGNATURE, key="examples"):
    """Sends every request from its own thread at once; returns answers (or errors) in order."""
    answers = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def send(index):
        start.wait()
        try:
            answers[index] = answer(batcher, model, {key: requests[index]}, signature)
        except Exception as error:  # pylint: disable=broad-except
            answers[index] = error

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_concurrent_requests_are_merged_and_each_gets_exactly_its_own_rows(loaded):
    model = Recording(loaded)
    batcher = batching.Batcher(batching.Parameters(
        max_batch_size=64, batch_timeout_micros=200_000, num_batch_threads=1))
    requests = [examples_for(i, 1 + i % 4) for i in range(16)]
    answers = concurrently(batcher, model, requests)
    for request, answer in zip(requests, answers):
        alone = loaded.run(SIGNATURE, {"examples": request})
        assert set(answer) == set(alone)
        for key in alone:
            np.testing.assert_allclose(answer[key], alone[key], rtol=1e-6)
    assert sum(model.batch_sizes) == sum(len(r) for r in requests)
    assert len(model.batch_sizes) < len(requests), "requests were merged into fewer Session calls"


def test_a_lone_request_waits_for_nothing_with_the_default_timeout(loaded):
    batcher = batching.Batcher(batching.Parameters())
    answered = answer(batcher, loaded, {"examples": examples_for(3, 2)})
    np.testing.assert_array_equal(answered["probabilities"],
                                  loaded.run(SIGNATURE, {"examples": examples_for(3, 2)})["probabilities"])


def test_a_full_queue_refuses_with_tf_servings_unavailable_message(loaded):
    model = Recording(loaded)
    batcher = batching.Batcher(batching.Parameters(
        max_batch_size=2, max_enqueued_batches=1, num_batch_threads=1, batch_timeout_micros=0))

    async def send_three():
        running = await held_in_its_session_call(batcher, model, examples_for(0, 2))
        waiting = asyncio.ensure_future(batcher.run(model, SIGNATURE, {"examples": examples_for(1, 2)}))
        await asyncio.sleep(0)
        assert batcher._queues  # pylint: disable=protected-access
        with pytest.raises(ServingError) as refused:
            await batcher.run(model, SIGNATURE, {"examples": examples_for(2, 1)})
        model.release.set()
        return refused.value, await running, await waiting

    refused, running, waiting = asyncio.run(send_three())
    assert refused.code == grpc.StatusCode.UNAVAILABLE
    assert refused.message == batching.QUEUE_FULL
    assert len(running["probabilities"]) == len(waiting["probabilities"]) == 2
    assert model.batch_sizes == [2, 2]


def test_a_request_whose_client_went_away_is_dropped_and_the_batch_thread_keeps_answering(loaded):
    model = Recording(loaded)
    batcher = batching.Batcher(batching.Parameters(
        max_batch_size=8, num_batch_threads=1, batch_timeout_micros=0))

    async def send_and_go_away():
        running = await held_in_its_session_call(batcher, model, examples_for(0, 1))
        gone = asyncio.ensure_future(batcher.run(model, SIGNATURE, {"examples": examples_for(1, 2)}))
        await asyncio.sleep(0)  # (queued)
        assert gone.cancel()  # what the server's handler gets when its client disconnects
        model.release.set()
        return await running

    assert len(asyncio.run(send_and_go_away())["probabilities"]) == 1
    after = answer(batcher, model, {"examples": examples_for(2, 3)})
    assert len(after["probabilities"]) == 3
    assert model.batch_sizes == [1, 3], "the cancelled request was not run"


def test_coroutines_get_their_own_rows_with_one_wake_up_of_their_loop_per_batch(loaded):
    model = Recording(loaded)
    batcher = batching.Batcher(batching.Parameters(
        max_batch_size=64, num_batch_threads=1, batch_timeout_micros=0))
    requests = [examples_for(i, 1 + i % 3) for i in range(6)]
    wake_ups = []

    async def send_all():
        loop = asyncio.get_running_loop()
        call_soon_threadsafe = loop.call_soon_threadsafe

        def counted(callback, *args):
            wake_ups.append(callback)
            return call_soon_threadsafe(callback, *args)

        loop.call_soon_threadsafe = counted
        first = await held_in_its_session_call(batcher, model, requests[0])
        rest = [asyncio.ensure_future(batcher.run(model, SIGNATURE, {"examples": r}))
                for r in requests[1:]]
        gone = asyncio.ensure_future(batcher.run(model, SIGNATURE, {"examples": examples_for(9, 2)}))
        await asyncio.sleep(0.05)  # while the others queue up, and one caller goes away
        gone.cancel()
        model.release.set()
        return await asyncio.gather(first, *rest)

    answers = asyncio.run(send_all())
    for request, answer in zip(requests, answers):
        np.testing.assert_allclose(answer["probabilities"], loaded.run(
            SIGNATURE, {"examples": request})["probabilities"], rtol=1e-6)
    assert model.batch_sizes == [1, sum(len(r) for r in requests[1:])], "the cancelled one not run"
    assert len(wake_ups) == 2, "the event loop was woken once per batch, not once per request"


def test_a_request_larger_than_max_batch_size_is_refused_by_name(loaded):
    batcher = batching.Batcher(batching.Parameters(max_batch_size=4))
    with pytest.raises(ServingError, match="Task size 5 is larger than maximum input batch size 4"):
        answer(batcher, loaded, {"examples": examples_for(0, 5)})


def test_allowed_batch_sizes_pad_the_batch_and_the_answer_drops_the_padding(loaded):
    model = Recording(loaded)
    batcher = batching.Batcher(batching.Parameters(max_batch_size=8, allowed_batch_sizes=(4, 8)))
    request = examples_for(5, 3)
    answered = answer(batcher, model, {"examples": request})
    assert model.batch_sizes == [4]
    np.testing.assert_array_equal(answered["probabilities"],
                                  loaded.run(SIGNATURE, {"examples": request})["probabilities"])


def test_a_malformed_request_fails_alone_when_merged_with_good_ones(loaded):
    batcher = batching.Batcher(batching.Parameters(batch_timeout_micros=200_000, num_batch_threads=1))
    good = [examples_for(i, 2) for i in range(5)]
    requests = good + [np.array([b"not a tf.Example"], dtype=object)]
    answers = concurrently(batcher, loaded, requests)
    assert isinstance(answers[-1], tf.errors.InvalidArgumentError)
    for request, answer in zip(good, answers):
        np.testing.assert_allclose(answer["probabilities"],
                                   loaded.run(SIGNATURE, {"examples": request})["probabilities"], rtol=1e-6)


class RowSums:
    """A signature over a [batch, n] float input, for inputs of varying length."""

    def __init__(self):
        self.shapes = []

    def run(self, name, inputs):
        self.shapes.append(inputs["x"].shape)
        return {"sum": inputs["x"].sum(axis=1)}


def test_inputs_of_different_lengths_are_padded_with_their_first_value_only_when_asked():
    requests = [np.array([[1.0, 2.0]]), np.array([[3.0, 4.0, 5.0]])]
    model = RowSums()
    answers = concurrently(batching.Batcher(batching.Parameters(
        batch_timeout_micros=200_000, num_batch_threads=1, pad_variable_length_inputs=True)), model, requests, "sums", "x")
    assert model.shapes == [(2, 3)]
    assert [float(a["sum"][0]) for a in answers] == [1.0 + 2.0 + 1.0, 12.0]
    model = RowSums()
    answers = concurrently(batching.Batcher(batching.Parameters(
        batch_timeout_micros=50_000, num_batch_threads=1)), model, requests, "sums", "x")
    assert sorted(model.shapes) == [(1, 2), (1, 3)], "different shapes are queued apart"
    assert [float(a["sum"][0]) for a in answers] == [3.0, 12.0]


def test_tf_servings_batching_parameters_file_is_read_and_bad_values_are_named(tmp_path):
    path = tmp_path / "batching.config"
    path.write_text("max_batch_size { value: 32 }\nbatch_timeout_micros { value: 1000 }\n"
                    "num_batch_threads { value: 2 }\nallowed_batch_sizes: 8\n"
                    "allowed_batch_sizes: 32\npad_variable_length_inputs: true\n")
    parameters = batching.read_parameters(str(path))
    assert parameters == batching.Parameters(
        max_batch_size=32, batch_timeout_micros=1000, num_batch_threads=2, max_enqueued_batches=10,
        allowed_batch_sizes=(8, 32), pad_variable_length_inputs=True)
    path.write_text("max_batch_size { value: 32 }\nallowed_batch_sizes: 8\nallowed_batch_sizes: 16\n")
    with pytest.raises(ValueError, match="allowed_batch_sizes must increase and end with max_batch_size"):
        batching.read_parameters(str(path))
    path.write_text("max_batch_size: 32\n")
    with pytest.raises(ValueError, match="not TF Serving batching parameters"):
        batching.read_parameters(str(path))


def test_the_batching_config_deploy_config_writes_for_tf_serving_is_read_the_same_way(tmp_path):
    from serving import deploy  # pylint: disable=import-outside-toplevel

    path = tmp_path / "batching.config"
    path.write_text(deploy.batching_config())
    parameters = batching.read_parameters(str(path))
    assert (parameters.max_batch_size, parameters.batch_timeout_micros,
            parameters.max_enqueued_batches, parameters.num_batch_threads) == (1024, 0, 100, 4)
