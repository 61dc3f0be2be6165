"""What TFX 1.16 and ML Metadata 1.16 get wrong on a metadata *server* (PostgreSQL, MySQL), set right
for the duration of a run. Both are upstream bugs; nothing changes with the default SQLite store.

1. Result order. TFX assumes `get_artifacts_by_id(ids)` and `get_artifact_types_by_id(ids)` answer in
   the order asked, one type per id asked (`cache_utils.get_cached_outputs` zips the output events,
   the artifacts and their types). SQLite happens to; PostgreSQL returns rows in any order, so a cached
   Transform's `transformed_examples` was linked to its TransformGraph artifact and the Trainer found
   no examples (about every other cached run). The `*_by_id` reads answer in the order asked here.
2. Backslashes. MLMD's PostgreSQL `EscapeString` strips the quotes libpq's `PQescapeLiteral` adds,
   which for a string holding a backslash leaves `E'...` inside MLMD's own quotes: a syntax error.
   TFX records a failed component's error as JSON, whose escaped line breaks and quotes hold
   backslashes, so recording the failure failed too (an SQL error instead of the real one, and the
   execution left RUNNING). The message is recorded in plain ASCII without them. (The Evaluator's
   eval_config has the same problem at every run: pipeline/evaluator.py.)
TFX has no hook for either, so the two functions are wrapped while the run lasts.
"""
import contextlib
import copy
import re
from typing import Iterator

import ml_metadata as mlmd

from pipeline import metadata_store

_BY_ID = ("get_artifacts_by_id", "get_executions_by_id", "get_contexts_by_id")
_TYPES_BY_ID = ("get_artifact_types_by_id", "get_execution_types_by_id", "get_context_types_by_id")


def without_backslash(text: str) -> str:
    """`text` as printable ASCII without backslash or double quote: JSON encodes it as it is."""
    return re.sub(r"[^\x20-\x7e]", " ", text).replace("\\", "/").replace('"', "'")


def _in_request_order(read, one_per_id: bool):
    def ordered(self, ids, *args, **kwargs):
        ids = list(ids)
        found = {item.id: item for item in read(self, ids, *args, **kwargs)}
        wanted = ids if one_per_id else list(dict.fromkeys(ids))
        return [found[i] for i in wanted if i in found]
    return ordered


@contextlib.contextmanager
def applied(uri: str) -> Iterator[None]:
    """Both fixes while the body runs, when `uri` is a metadata server."""
    if not metadata_store.is_server(uri):
        yield
        return
    from tfx.orchestration.portable.mlmd import execution_lib  # pylint: disable=import-outside-toplevel

    set_execution_result = execution_lib.set_execution_result

    def set_plain_execution_result(execution_result, execution):
        plain = copy.deepcopy(execution_result)
        plain.result_message = without_backslash(plain.result_message)
        plain.ClearField("metadata_details")
        set_execution_result(plain, execution)

    originals = {name: getattr(mlmd.MetadataStore, name) for name in _BY_ID + _TYPES_BY_ID}
    for name, read in originals.items():
        setattr(mlmd.MetadataStore, name, _in_request_order(read, name in _TYPES_BY_ID))
    execution_lib.set_execution_result = set_plain_execution_result
    try:
        yield
    finally:
        execution_lib.set_execution_result = set_execution_result
        for name, read in originals.items():
            setattr(mlmd.MetadataStore, name, read)
