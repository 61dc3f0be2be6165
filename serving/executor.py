"""A served graph runs on TensorFlow's single-threaded executor wherever the graph allows it.

TF's default executor pushes every node through ready queues and atomic counters, built for graphs
whose ops run in parallel. A one-example request runs hundreds of tiny kernels one after another
(parsing, Transform's lookups, Keras' layers), so that bookkeeping is much of its cost.
TF's single-threaded executor (the one tf.data runs its functions on) runs the same kernels in
topological order, evaluates each constant once and hands arguments straight to their consumers:
answers stay bit for bit the same (tests/unit/test_executor.py) and small requests are answered
sooner (measurements: docs/serving.md).

It cannot run reference-typed edges or TF1's low-level control flow, so a graph holding either
(a TF1 model with `tf.Variable`s of the ref kind or `tf.cond` of the v1 kind) keeps the default.
"""
from typing import Iterator

from tensorflow.core.framework import node_def_pb2
from tensorflow.core.protobuf import config_pb2, meta_graph_pb2
from tensorflow.python.framework import op_def_registry

SINGLE_THREADED = "SINGLE_THREADED_EXECUTOR"
# Function calls name the executor their body runs on; the Session's own graph takes it from the
# Session's config.
_CALL_OPS = {"PartitionedCall", "StatefulPartitionedCall"}
# What the single-threaded executor refuses (tensorflow/core/common_runtime/
# single_threaded_executor.cc): TF1 control flow, and the send/receive pairs of partitioned graphs.
_UNSUPPORTED_OPS = {
    "Switch", "RefSwitch", "_SwitchN", "Merge", "RefMerge", "_XlaMerge", "Enter", "RefEnter",
    "Exit", "RefExit", "NextIteration", "RefNextIteration", "LoopCond",
    "_Send", "_Recv", "_HostSend", "_HostRecv",
}


def _nodes(meta_graph: meta_graph_pb2.MetaGraphDef) -> Iterator[node_def_pb2.NodeDef]:
    yield from meta_graph.graph_def.node
    for function in meta_graph.graph_def.library.function:
        yield from function.node_def


def _has_ref_output(op: str) -> bool:
    op_def = op_def_registry.get(op)  # None for a node that calls a library function by name
    return op_def is not None and any(arg.is_ref for arg in op_def.output_arg)


def supports_single_threaded(meta_graph: meta_graph_pb2.MetaGraphDef) -> bool:
    return not any(node.op in _UNSUPPORTED_OPS or _has_ref_output(node.op)
                   for node in _nodes(meta_graph))


def use_single_threaded(meta_graph: meta_graph_pb2.MetaGraphDef,
                        config: config_pb2.ConfigProto) -> bool:
    """Points `config` (for the Session's graph) and every function call in `meta_graph` (before
    it is imported) at the single-threaded executor; changes nothing and returns False when the
    graph holds something that executor cannot run."""
    if not supports_single_threaded(meta_graph):
        return False
    for node in _nodes(meta_graph):
        if node.op in _CALL_OPS:
            node.attr["executor_type"].s = SINGLE_THREADED.encode()
    config.experimental.executor_type = SINGLE_THREADED
    return True
