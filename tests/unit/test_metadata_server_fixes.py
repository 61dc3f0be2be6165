import json

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration.portable.mlmd import execution_lib
from tfx.proto.orchestration import execution_result_pb2

from pipeline import metadata_server_fixes

SERVER = "postgresql://u:p@127.0.0.1:1/db"


def test_reads_by_id_answer_in_the_order_asked_with_one_type_per_id_asked():
    def unordered(self, ids, extra_options=None):  # what PostgreSQL may answer
        return [metadata_store_pb2.Artifact(id=i) for i in sorted(set(ids), reverse=True)]

    ordered = metadata_server_fixes._in_request_order(unordered, one_per_id=False)  # pylint: disable=protected-access
    assert [a.id for a in ordered(None, iter([3, 9, 3, 5]))] == [3, 9, 5]
    types = metadata_server_fixes._in_request_order(unordered, one_per_id=True)  # pylint: disable=protected-access
    assert [t.id for t in types(None, [15, 27, 15])] == [15, 27, 15]


def test_the_fixes_apply_to_servers_only_and_are_undone_after_the_run():
    originals = (mlmd.MetadataStore.get_artifacts_by_id, mlmd.MetadataStore.get_artifact_types_by_id,
                 execution_lib.set_execution_result)
    with metadata_server_fixes.applied("sqlite:///tmp/m.sqlite"):
        assert mlmd.MetadataStore.get_artifacts_by_id is originals[0]
    with metadata_server_fixes.applied(SERVER):
        assert mlmd.MetadataStore.get_artifacts_by_id is not originals[0]
        execution = metadata_store_pb2.Execution()
        execution_lib.set_execution_result(execution_result_pb2.ExecutionResult(
            code=1, result_message='Trainer: "bad"\nvalue C:\\data é'), execution)
        recorded = execution.custom_properties["__execution_result__"].string_value
        assert "\\" not in recorded
        assert json.loads(recorded)["resultMessage"] == "Trainer: 'bad' value C:/data  "
    assert (mlmd.MetadataStore.get_artifacts_by_id, mlmd.MetadataStore.get_artifact_types_by_id,
            execution_lib.set_execution_result) == originals
