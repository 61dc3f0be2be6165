"""TF Serving's config messages that tensorflow-serving-api does not ship (MonitoringConfig,
BatchingParameters), declared field by field so that TF Serving's own text files parse with
protobuf's parser: the same files work for `tensorflow_model_server` and `tfxpipe serve`."""
from google.protobuf import (descriptor_pb2, descriptor_pool, message, message_factory, text_format,
                             wrappers_pb2)

PACKAGE = "tensorflow.serving"
WRAPPERS = "google/protobuf/wrappers.proto"  # Int64Value, StringValue, ...


def new_file(name: str) -> descriptor_pb2.FileDescriptorProto:
    """An empty proto3 file in TF Serving's package, which may use the wrapper types."""
    return descriptor_pb2.FileDescriptorProto(name=name, package=PACKAGE, syntax="proto3",
                                              dependency=[WRAPPERS])


def read_text_file(path: str, file: descriptor_pb2.FileDescriptorProto, message_name: str,
                   what: str) -> message.Message:
    """`path` parsed as message `message_name` of `file`; ValueError names a malformed file."""
    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    pool.Add(file)
    descriptor = pool.FindMessageTypeByName(f"{PACKAGE}.{message_name}")
    parsed = message_factory.MessageFactory(pool).GetPrototype(descriptor)()  # protobuf 3.20's API
    with open(path, encoding="utf-8") as f:
        try:
            text_format.Parse(f.read(), parsed)
        except text_format.ParseError as error:
            raise ValueError(f"{path}: not {what}: {error}") from None
    return parsed
