"""One model version loaded as TF Serving loads it (`LoadedVersion`), its signature inputs as
requests are checked against them (`InputType`), and the error with the gRPC status code every API
answers with (`ServingError`). Which versions are loaded, swapped and retired: serving/servables.py."""
from typing import Callable, Dict, NamedTuple, Optional, Tuple

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import config_pb2
from tensorflow.python.saved_model import loader_impl

from serving import executor


class ServingError(Exception):
    """An error with its gRPC status code; REST maps the code to TF Serving's HTTP status."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class InputType(NamedTuple):
    """A signature input as requests are checked against it, worked out once per signature."""
    dtype: tf.DType
    dims: Optional[Tuple[Optional[int], ...]]  # None: any rank; a None dim: any size
    numpy_dtype: Optional[np.dtype]  # what request values are cast to; None: nothing can be fed
    kinds: str  # numpy dtype kinds a request may send: b(ool), i(nt), u(nsigned), f(loat),
    # c(omplex), O(bject), S/U (str); O only for strings


def input_type(tensor_info) -> InputType:
    """A SignatureDef input's TensorInfo as requests are checked against it."""
    shape = tf.TensorShape(tensor_info.tensor_shape)
    dtype = tf.dtypes.as_dtype(tensor_info.dtype)
    kinds = _accepted_kinds(dtype)
    return InputType(dtype, None if shape.rank is None else tuple(shape.as_list()),
                     np.dtype(dtype.as_numpy_dtype) if kinds else None, kinds)


def _accepted_kinds(dtype: tf.DType) -> str:
    if dtype == tf.string:
        return "OSU"
    if dtype.is_bool:
        return "b"
    if dtype.is_floating:
        return "biuf"
    if dtype.is_integer:
        return "bu" if dtype.is_unsigned else "biu"
    if dtype.is_complex:
        return "biufc"
    return ""  # resources, variants, quantized types: nothing a request can feed


class LoadedVersion:
    """One version, loaded as TF Serving loads it: the SavedModel's serving MetaGraph in a Session of
    its own, a signature run by its SignatureDef's tensor names, on TF's single-threaded executor
    where the graph allows (serving/executor.py). For small requests this is about twice as fast as
    the TF2 `ConcreteFunction` (per-call argument binding, ops handed to the inter-op pool);
    benchmarks/serving_latency.py measures both."""

    # A request's ops run in the thread that handles it: for graphs this small, handing each op to
    # the inter-op pool costs more than running them in parallel saves. Large ops (matmuls over big
    # batches) still use the intra-op pool.
    SESSION_CONFIG = tf.compat.v1.ConfigProto(inter_op_parallelism_threads=-1)
    # Grappler rewrites the session graph differently from the TF2 function (fused ops), which moved
    # 8 % of the answers by one float32 ulp; without it the server answers bit for bit as the
    # in-process call and the Evaluator did, for a little more time per single-example call.
    SESSION_CONFIG.graph_options.rewrite_options.disable_meta_optimizer = True
    # False: TF's default executor (`serve --default-executor`, for benchmarks/serving_latency.py)
    try_single_threaded = True
    # TF's intra-op threads spin a while after each piece of work, waiting for more (TF's default);
    # the batching server turns it off (serving/server.py: why). TensorFlow makes that pool once
    # per process, with the first Session's setting.
    thread_spinning = True

    def __init__(self, version: int, path: str):
        self.version, self.path = version, path
        # The loader of `tf.compat.v1.saved_model.load`, opened first to choose the executor from
        # the MetaGraph (and set it on its function calls) before the graph is imported.
        loader = loader_impl.SavedModelLoader(path)
        meta_graph = loader.get_meta_graph_def_from_tags([tf.saved_model.SERVING])
        config = config_pb2.ConfigProto()
        config.CopyFrom(self.SESSION_CONFIG)
        config.experimental.disable_thread_spinning = not self.thread_spinning
        self.single_threaded = (self.try_single_threaded
                                and executor.use_single_threaded(meta_graph, config))
        graph = tf.Graph()
        self._session = tf.compat.v1.Session(graph=graph, config=config)
        with graph.as_default():
            loader.load(self._session, [tf.saved_model.SERVING])
        self.signature_defs = dict(meta_graph.signature_def)  # name -> SignatureDef, as TF Serving
        self._callables: Dict[str, Tuple[Callable, Tuple[str, ...], Tuple[str, ...]]] = {}
        self._input_types: Dict[str, Dict[str, InputType]] = {}

    def _callable(self, signature_def) -> Tuple[Callable, Tuple[str, ...], Tuple[str, ...]]:
        """A Session callable for one signature (TF's `Session::MakeCallable`, what TF Serving's
        C++ runs): feeds and fetches resolved once. `Session.run` resolves them on every call, and
        public `make_callable` with feeds is `Session.run` underneath; `_make_callable_from_options`
        is the entry point tf_keras's own graph-mode backend uses."""
        input_keys, output_keys = tuple(sorted(signature_def.inputs)), tuple(signature_def.outputs)
        options = config_pb2.CallableOptions(
            feed=[signature_def.inputs[key].name for key in input_keys],
            fetch=[signature_def.outputs[key].name for key in output_keys])
        run = self._session._make_callable_from_options(options)  # pylint: disable=protected-access
        return run, input_keys, output_keys

    def signature(self, name: str):
        """The SignatureDef called `name`; unknown, FAILED_PRECONDITION, as TF Serving's Predict
        answers (its REST layer, its Classify and Regress look signatures up themselves)."""
        try:
            return self.signature_defs[name]
        except KeyError:
            raise ServingError(grpc.StatusCode.FAILED_PRECONDITION,
                               f'Serving signature key "{name}" not found.') from None

    def input_types(self, name: str) -> Dict[str, InputType]:
        """Signature `name`'s inputs as InputTypes, worked out from its SignatureDef once: requests
        are checked against them on every call."""
        types = self._input_types.get(name)
        if types is None:
            types = self._input_types[name] = {
                key: input_type(info) for key, info in self.signature(name).inputs.items()}
        return types

    def close(self) -> None:
        """Frees the Session and its callables now, not whenever the object is collected."""
        self._callables.clear()
        self._session.close()

    def run(self, name: str, inputs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Runs signature `name` on numpy inputs keyed by its input names (the caller checks them);
        returns every output by name. Thread-safe, as Session callables are."""
        signature = self._callables.get(name)
        if signature is None:  # made on first use (warmup); two threads racing make it twice
            signature = self._callables[name] = self._callable(self.signature(name))
        run, input_keys, output_keys = signature
        return dict(zip(output_keys, run(*(inputs[key] for key in input_keys))))
