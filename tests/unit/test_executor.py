"""The single-threaded executor: chosen for graphs it can run, with the same answers; graphs it
cannot run keep TF's default executor and still load and answer."""
import numpy as np
import pytest
import tensorflow as tf

from serving import executor
from serving.loaded_version import LoadedVersion
from tests import serving_models


def v1_saved_model(path: str, build) -> str:
    """A TF1-style SavedModel: `serving_default` maps a float vector `x` to `build(x)`."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        y = build(x)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            builder = tf.compat.v1.saved_model.Builder(path)
            builder.add_meta_graph_and_variables(
                session, [tf.saved_model.SERVING], signature_def_map={
                    "serving_default": tf.compat.v1.saved_model.predict_signature_def({"x": x},
                                                                                      {"y": y})})
            builder.save()
    return path


def switch_merge(x):
    """TF1's low-level control flow: x * 3 if all of x > 0, else x * 2."""
    otherwise, positive = tf.raw_ops.Switch(data=x, pred=tf.reduce_all(x > 0))
    return tf.raw_ops.Merge(inputs=[otherwise * 2.0, positive * 3.0]).output


def ref_variable(x):
    """A TF1 variable of the reference kind (tf.Variable before resource variables)."""
    scale = tf.compat.v1.Variable(4.0, use_resource=False)
    return x * scale


def test_a_tf2_model_runs_single_threaded_with_the_in_process_answers(tmp_path):
    path = serving_models.build(str(tmp_path / "toy"), 1.5)
    loaded = LoadedVersion(1, path)
    assert loaded.single_threaded
    calls = [op for op in loaded._session.graph.get_operations()  # pylint: disable=protected-access
             if op.type in ("PartitionedCall", "StatefulPartitionedCall")]
    assert calls and all(op.get_attr("executor_type") == executor.SINGLE_THREADED.encode()
                         for op in calls)
    examples = [serving_models.example(miles, payment)
                for miles in (0.0, 1.25, 7.5, 40.0) for payment in ("Cash", "Credit Card", "")]
    served = loaded.run("serving_default", {"examples": np.array(examples, dtype=object)})
    in_process = tf.saved_model.load(path).signatures["serving_default"](
        examples=tf.constant(examples))
    np.testing.assert_array_equal(served["probabilities"], in_process["probabilities"].numpy())


@pytest.mark.parametrize("build, x, expected", [
    (switch_merge, [1.0, 2.0], [3.0, 6.0]),
    (switch_merge, [1.0, -2.0], [2.0, -4.0]),
    (ref_variable, [1.0, -2.0], [4.0, -8.0]),
], ids=["switch-merge, all positive", "switch-merge, not all positive", "ref variable"])
def test_graphs_it_cannot_run_keep_the_default_executor(tmp_path, build, x, expected):
    loaded = LoadedVersion(1, v1_saved_model(str(tmp_path / "v1"), build))
    assert not loaded.single_threaded
    answer = loaded.run("serving_default", {"x": np.array(x, dtype=np.float32)})
    np.testing.assert_array_equal(answer["y"], np.array(expected, dtype=np.float32))


def test_unsupported_graphs_are_left_unchanged():
    graph = tf.Graph()
    with graph.as_default():
        switch_merge(tf.compat.v1.placeholder(tf.float32, [None]))
        meta_graph = tf.compat.v1.train.export_meta_graph()
    before = meta_graph.SerializeToString(deterministic=True)
    config = tf.compat.v1.ConfigProto()
    assert not executor.use_single_threaded(meta_graph, config)
    assert meta_graph.SerializeToString(deterministic=True) == before
    assert config.experimental.executor_type == ""
