"""numpy arrays <-> TensorProtos on the request path, with the same results as TensorFlow's.

`tf.make_ndarray` and `tf.make_tensor_proto` take every dtype and any Python nesting through a long
generic path. Inside the server, where code runs between network waits with cold caches, that is
a noticeable share of a one-example Predict (docs/serving.md). Requests and
answers are nearly always strings or plain numbers: those take the short path here, which reads
what `tf.make_ndarray` reads and writes answers as TF Serving does, every value in the dtype's typed
field (tests/unit/test_tensors.py compares them over shapes and dtypes); everything else is handed to
TensorFlow's functions.
"""
import math

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2

# numpy dtype -> (DataType, its repeated typed field)
_NUMBERS = {
    np.dtype(np.float32): (types_pb2.DT_FLOAT, "float_val"),
    np.dtype(np.float64): (types_pb2.DT_DOUBLE, "double_val"),
    np.dtype(np.int32): (types_pb2.DT_INT32, "int_val"),
    np.dtype(np.int64): (types_pb2.DT_INT64, "int64_val"),
}
_BY_ENUM = {enum: (dtype, field) for dtype, (enum, field) in _NUMBERS.items()}
# Floating point answers written as their packed field's wire bytes, which are the values
# little-endian one after the other: the key (field 5 or 6, wire type 2) and the values' dtype
_PACKED = {
    np.dtype(np.float32): (bytes([5 << 3 | 2]), np.dtype("<f4")),
    np.dtype(np.float64): (bytes([6 << 3 | 2]), np.dtype("<f8")),
}
# Answers only: the other numpy dtypes a model may output -> (DataType, typed field, the values as
# that field holds them: half floats as their 16 bits, complex numbers as (real, imaginary) pairs)
_OTHER_ANSWERS = {
    np.dtype(np.bool_): (types_pb2.DT_BOOL, "bool_val", None),
    np.dtype(np.int8): (types_pb2.DT_INT8, "int_val", None),
    np.dtype(np.int16): (types_pb2.DT_INT16, "int_val", None),
    np.dtype(np.uint8): (types_pb2.DT_UINT8, "int_val", None),
    np.dtype(np.uint16): (types_pb2.DT_UINT16, "int_val", None),
    np.dtype(np.uint32): (types_pb2.DT_UINT32, "uint32_val", None),
    np.dtype(np.uint64): (types_pb2.DT_UINT64, "uint64_val", None),
    np.dtype(np.float16): (types_pb2.DT_HALF, "half_val", np.uint16),
    np.dtype(np.complex64): (types_pb2.DT_COMPLEX64, "scomplex_val", np.float32),
    np.dtype(np.complex128): (types_pb2.DT_COMPLEX128, "dcomplex_val", np.float64),
    # as TensorFlow's AsProtoField writes bfloat16: its 16 bits in half_val
    np.dtype(tf.bfloat16.as_numpy_dtype): (types_pb2.DT_BFLOAT16, "half_val", np.uint16),
}


def to_array(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """`tf.make_ndarray(proto)`: strings, and the numbers above with one value per element (in
    `tensor_content` or their typed field), take the short path."""
    shape = [dim.size for dim in proto.tensor_shape.dim]
    if proto.dtype == types_pb2.DT_STRING:
        values = list(proto.string_val)
        if len(values) == math.prod(shape):
            return np.array(values, dtype=object).reshape(shape)
    number = _BY_ENUM.get(proto.dtype)
    if number is not None:
        dtype, field = number
        if proto.tensor_content:
            return np.frombuffer(proto.tensor_content, dtype=dtype).copy().reshape(shape)
        values = list(getattr(proto, field))  # numpy reads a list faster than a proto container
        if len(values) == math.prod(shape):
            return np.array(values, dtype=dtype).reshape(shape)
    return tf.make_ndarray(proto)


def _fill_shape(proto: tensor_pb2.TensorProto, shape) -> None:
    proto.tensor_shape.SetInParent()  # present even for a scalar, as TensorFlow writes it
    dims = proto.tensor_shape.dim
    for size in shape:
        dims.add(size=size)


def fill(proto: tensor_pb2.TensorProto, array: np.ndarray) -> None:
    """Writes `array` into the empty `proto`, usually a field of the response (which saves building
    a second message and copying it), as TF Serving answers: every value in the dtype's typed field
    (`float_val`, `int64_val`, bfloat16's and float16's `half_val`...), not in `tensor_content`.
    That is TensorFlow's `Tensor::AsProtoField`, which TF Serving's Predict uses by default
    (predict_util.cc, kAsProtoField); `tf.make_tensor_proto` packs two values or more into
    `tensor_content`, which clients that read the typed fields (Go's, Node's) see as an empty list.
    Object arrays of bytes become `string_val`; what is left (str items, dtypes no model serves)
    is written by TensorFlow's function."""
    number = _NUMBERS.get(array.dtype)
    if number is not None:
        proto.dtype, field = number
        _fill_shape(proto, array.shape)
        packed = _PACKED.get(array.dtype)
        if packed is not None and array.size:
            # The bytes `float_val.extend(array.ravel().tolist())` would serialize, ~50 times
            # faster (docs/serving.md has the figures): the field parsed from its wire form
            key, little_endian = packed
            values = np.ascontiguousarray(array, dtype=little_endian).tobytes()
            proto.MergeFromString(key + _varint(len(values)) + values)
        else:  # integers: varints on the wire
            getattr(proto, field).extend(array.ravel().tolist())
        return
    other = _OTHER_ANSWERS.get(array.dtype)
    if other is not None:
        proto.dtype, field, stored = other
        _fill_shape(proto, array.shape)
        values = np.ascontiguousarray(array).ravel()
        getattr(proto, field).extend((values.view(stored) if stored else values).tolist())
        return
    if array.dtype == object:
        values = array.ravel().tolist()
        if all(isinstance(value, bytes) for value in values):
            _fill_strings(proto, values, array.shape)
            return
    proto.CopyFrom(tf.make_tensor_proto(array))


def _varint(value: int) -> bytes:
    """`value` as protobuf's base-128 varint."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _fill_strings(proto: tensor_pb2.TensorProto, values: list, shape) -> None:
    proto.dtype = types_pb2.DT_STRING
    _fill_shape(proto, shape)
    proto.string_val.extend(values)


def fill_strings(proto: tensor_pb2.TensorProto, values) -> None:
    """Writes a 1-D string tensor of `values` (bytes) into the empty `proto`, as
    `tf.make_tensor_proto(list(values), tf.string)` builds it."""
    values = list(values)
    _fill_strings(proto, values, [len(values)])
