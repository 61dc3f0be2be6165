"""The short TensorProto conversions give exactly what TensorFlow's own functions give."""
import timeit

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from serving import tensors

ARRAYS = [
    np.array([[0.25]], dtype=np.float32),  # one example's probability: a typed field
    np.array([[0.25], [0.5], [1e-30]], dtype=np.float32),  # a batch: tensor_content
    np.array(3.5, dtype=np.float64),
    np.arange(6, dtype=np.int64).reshape(2, 3),
    np.array([7], dtype=np.int32),
    np.zeros((0, 1), dtype=np.float32),
    np.arange(6, dtype=np.float32).reshape(2, 3).T,  # not C-contiguous
    np.array([b"a", b"\x00b\xff"], dtype=object),
    np.array([[b"x"], [b""]], dtype=object),
    np.array([True, False]),
    np.array([1.5, -0.0, np.inf], dtype=np.float16),
    np.array([[1 + 2j, 3 - 4j]], dtype=np.complex64),
    np.array([0, 255, 7], dtype=np.uint8),
    np.array([1 << 63], dtype=np.uint64),
    np.array([1.5, -2.0, 3e38], dtype=tf.bfloat16.as_numpy_dtype),  # half_val, as AsProtoField
    np.array(["text"], dtype=object),  # str, not bytes: TensorFlow's function
]


def filled(array: np.ndarray):
    """`array` written by `tensors.fill` into a response's output, as the server writes answers."""
    response = predict_pb2.PredictResponse()
    tensors.fill(response.outputs["probabilities"], array)
    return response.outputs["probabilities"]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{list(a.shape)}")
def test_fill_writes_every_value_in_its_typed_field_as_tf_serving_answers(array):
    """TF Serving answers with `Tensor::AsProtoField` (predict_util.cc): typed fields, never
    `tensor_content`, which `tf.make_tensor_proto` uses from two values on."""
    proto, built = filled(array), tf.make_tensor_proto(array)
    assert not proto.tensor_content
    assert proto.dtype == built.dtype and proto.tensor_shape == built.tensor_shape
    result, expected = tf.make_ndarray(proto), tf.make_ndarray(built)  # str items read as bytes
    assert result.dtype == expected.dtype and result.shape == expected.shape
    np.testing.assert_array_equal(result, expected)
    if array.size <= 1 or array.dtype == object:  # where TensorFlow writes the typed field too
        assert proto == built


def test_a_batch_of_probabilities_is_read_from_float_val_as_go_and_node_clients_read_it():
    batch = np.array([[0.25], [0.5], [1e-30]], dtype=np.float32)
    proto = filled(batch)
    assert list(proto.float_val) == batch.ravel().tolist()
    assert [d.size for d in proto.tensor_shape.dim] == [3, 1]


@pytest.mark.parametrize("array, field", [
    (np.array([[0.25], [np.nan], [-0.0], [1e-45], [np.inf]] * 40, dtype=np.float32), "float_val"),
    (np.linspace(-1e300, 1e300, 301).reshape(7, 43), "double_val"),
    (np.arange(12, dtype=np.float32).reshape(3, 4).T, "float_val"),  # not C-contiguous
], ids=["float32", "float64", "transposed"])
def test_floats_are_written_as_the_same_bytes_as_value_by_value(array, field):
    """`fill` writes float_val/double_val as their packed wire bytes: the same message, byte for
    byte, as extending the field with the values one by one."""
    proto = filled(array)
    slow = predict_pb2.PredictResponse().outputs["probabilities"]
    slow.dtype = proto.dtype
    slow.tensor_shape.CopyFrom(proto.tensor_shape)
    getattr(slow, field).extend(array.ravel().tolist())
    assert not proto.tensor_content
    np.testing.assert_array_equal(np.array(getattr(proto, field), dtype=array.dtype), array.ravel())
    assert proto.SerializeToString() == slow.SerializeToString()


def test_a_large_float_answer_is_written_without_a_python_float_per_value():
    """100,000 floats: ~0.15 ms as packed bytes, ~5 ms through `.tolist()` (best of 10 runs)."""
    array = np.random.default_rng(0).random((100_000, 1), dtype=np.float32)
    best = min(timeit.repeat(lambda: filled(array), number=1, repeat=10))
    assert best < 1e-3, f"{best * 1e3:.2f} ms"


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{list(a.shape)}")
def test_to_array_inverts_either_proto(array):
    for proto in (tf.make_tensor_proto(array), filled(array)):
        result, expected = tensors.to_array(proto), tf.make_ndarray(proto)
        assert result.dtype == expected.dtype and result.shape == expected.shape
        np.testing.assert_array_equal(result, expected)
        assert result.flags.writeable  # a copy, not a view of the request's bytes


@pytest.mark.parametrize("values, dtype", [([b"a"], tf.string), ([2.5], tf.float32), ([7], tf.int64)])
def test_to_array_pads_short_value_lists_as_tensorflow_does(values, dtype):
    proto = tf.make_tensor_proto(values, dtype=dtype, shape=[3])  # one value for three elements
    result = tensors.to_array(proto)
    assert result.dtype == tf.make_ndarray(proto).dtype
    np.testing.assert_array_equal(result, values * 3)


def test_fill_strings_writes_what_make_tensor_proto_builds():
    values = [b"one", b"two\x00"]
    for given in (values, iter(values)):
        request = predict_pb2.PredictRequest()
        tensors.fill_strings(request.inputs["examples"], given)
        assert request.inputs["examples"] == tf.make_tensor_proto(values, dtype=tf.string)
