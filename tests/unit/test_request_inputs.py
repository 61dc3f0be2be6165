"""Request inputs are checked against the SignatureDef before they reach the Session."""
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2

from serving import api
from serving.loaded_version import InputType, ServingError, input_type


def tensor_info(dtype: tf.DType, shape) -> InputType:
    """What the server checks a request against, read from a SignatureDef's TensorInfo."""
    return input_type(meta_graph_pb2.TensorInfo(name="x:0", dtype=dtype.as_datatype_enum,
                                                tensor_shape=tf.TensorShape(shape).as_proto()))


def test_numbers_are_cast_to_the_signature_dtype():
    checked = api._checked("fare", [[1], [2]], tensor_info(tf.float32, [None, 1]))
    assert checked.dtype == np.float32 and checked.tolist() == [[1.0], [2.0]]


def test_an_input_of_unknown_rank_takes_any_shape():
    for value in (1.5, [1.5], [[1.5, 2.5]]):
        assert api._checked("x", value, tensor_info(tf.float32, None)).tolist() == value


def test_bytes_and_text_are_accepted_for_strings():
    checked = api._checked("examples", np.array([b"a", "b"], dtype=object), tensor_info(tf.string, [None]))
    assert checked.tolist() == [b"a", "b"]


@pytest.mark.parametrize("value, info, message", [
    ([1, 2], tensor_info(tf.string, [None]), "must be string, got int64"),
    (np.array([b"x", 3], dtype=object), tensor_info(tf.string, [None]), "must be string"),
    (["1.5"], tensor_info(tf.float32, [None]), "must be float32, got str"),
    ([1.5], tensor_info(tf.int64, [None]), "must be int64, got float64"),
    ([[1.0, 2.0]], tensor_info(tf.float32, [None, 1]), r"shape \[1, 2\], the signature expects \[None, 1\]"),
    ([[1.0], [2.0, 3.0]], tensor_info(tf.float32, [None, 1]), "input 'x'"),
])
def test_a_wrong_input_is_a_bad_argument_naming_the_input(value, info, message):
    with pytest.raises(ServingError, match=message) as raised:
        api._checked("x", value, info)
    assert raised.value.code.name == "INVALID_ARGUMENT"
