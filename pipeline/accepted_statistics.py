"""The statistics the data gate accepted, recorded as files under the pipeline root: the drift
reference on Kubeflow Pipelines v2 / Vertex AI Pipelines.

Locally, the previous span's statistics are resolved from the gate's executions in MLMD
(`resolvers.PreviousSpanStatisticsStrategy`). KFP v2 compiles only TFX's built-in resolver
strategies, and the one that could fetch statistics (LatestArtifactStrategy) queries the newest
artifact of a type in the whole metadata store: the statistics of a refused span, or of another
pipeline. So there the gate keeps its own record: one small file per accepted span, naming the
statistics artifact's folder, in the pipeline root that every step can read (a bucket on a cluster).
"""
import json
import os
import time
import uuid
from typing import List, Optional, Tuple

from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts

from schema import report

FOLDER = "accepted_statistics"


def folder(pipeline_root: str) -> str:
    return os.path.join(pipeline_root, FOLDER)


def _records(record_dir: str) -> List[Tuple[int, str]]:
    """(span, file name) of every record, oldest first: names sort by span, then by time accepted."""
    names = fileio.listdir(record_dir) if fileio.isdir(record_dir) else []
    found = []
    for name in (n.rstrip("/") for n in names):
        span, _, rest = name.partition("-")
        if span.isdigit() and rest.endswith(".json"):
            found.append((int(span), name))
    return sorted(found)


def record(record_dir: str, statistics: standard_artifacts.ExampleStatistics, span: int) -> str:
    """Records that the gate accepted `statistics`, the statistics of span `span`; returns the file,
    written whole or not at all (its partial copy's name is no record's)."""
    name = f"{span:010d}-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"  # never another's name
    path = os.path.join(record_dir, name)
    report.write_atomically(path, json.dumps(
        {"span": span, "uri": statistics.uri, "split_names": statistics.split_names}))
    return path


def _read(path: str) -> dict:
    try:
        with fileio.open(path, "r") as f:
            entry = json.loads(f.read())
        return {key: entry[key] for key in ("uri", "split_names")}
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is no record of statistics the data gate accepted ({error!r}): "
                         "delete it (the span it named is then no drift reference)") from None


def previous(record_dir: str, statistics: standard_artifacts.ExampleStatistics, span: int,
             split: str) -> Optional[standard_artifacts.ExampleStatistics]:
    """The newest accepted statistics of span `span` or an older one, other than `statistics` itself
    (a gate run again on the same artifact) and with `split`: the reference to check drift against,
    as `resolvers.PreviousSpanStatisticsStrategy` chooses it locally. Records whose statistics are
    gone (a bucket's retention rule) are passed over; None on a first run."""
    for recorded_span, name in reversed(_records(record_dir)):
        if recorded_span > span:
            continue
        entry = _read(os.path.join(record_dir, name))
        if entry["uri"].rstrip("/") == statistics.uri.rstrip("/"):
            continue
        accepted = standard_artifacts.ExampleStatistics()
        accepted.uri, accepted.split_names = entry["uri"], entry["split_names"]
        if (split in artifact_utils.decode_split_names(accepted.split_names)
                and fileio.exists(os.path.join(accepted.uri, f"Split-{split}"))):
            return accepted
    return None
