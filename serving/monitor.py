"""`tfxpipe monitor`: is what the served model is asked about still what it was trained on?

Statistics (TFDV) over the examples the server logged (serving/request_log.py) in the latest time
window are checked against the curated schema's SERVING environment, for skew against the training
statistics and for drift against the previous window, with the schema's own comparators. Only the
model's input features are checked: clients send nothing else.
"""
import dataclasses
import os
import tempfile
import time
from typing import Iterator, List, Optional, Sequence, Set

import tensorflow as tf
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from schema import checks, distances
from serving import request_log


@dataclasses.dataclass
class MonitorResult:
    examples: int
    previous_examples: int
    findings: List[checks.Finding]
    statistics: Optional[statistics_pb2.DatasetFeatureStatisticsList]
    previous_statistics: Optional[statistics_pb2.DatasetFeatureStatisticsList] = None
    cut_off: List[str] = dataclasses.field(default_factory=list)  # files read up to a broken record


def serving_schema(curated: schema_pb2.Schema, features: Sequence[str]) -> schema_pb2.Schema:
    """The curated schema restricted to the model's input `features`. Two windows of requests are
    compared with the thresholds calibrated for windows, the skew ones (drift ones are for spans)."""
    restricted = schema_pb2.Schema()
    restricted.CopyFrom(curated)
    kept = [f for f in restricted.feature if f.name in set(features)]
    for feature in kept:
        feature.drift_comparator.CopyFrom(feature.skew_comparator)
    del restricted.feature[:]
    restricted.feature.extend(kept)
    return restricted


def _window_files(directory: str, start: float, end: float) -> List[str]:
    def written_at(path: str) -> float:
        try:
            return os.path.getmtime(path)
        except FileNotFoundError:  # removed by the log's size cap since it was listed
            return -1.0
    return [f for f in request_log.log_files(directory) if start <= written_at(f) < end]


def _records(path: str, cut_off: List[str]) -> Iterator[bytes]:
    """The examples of one log file, up to a record cut off or damaged (a server killed mid-write, a
    full disk, or the live file caught mid-write: the complete ones before it still count; the file
    goes into `cut_off`); none when the log's size cap removed the file after it was listed."""
    try:
        for record in tf.data.TFRecordDataset(path):
            yield record.numpy()
    except tf.errors.DataLossError:
        cut_off.append(path)
    except tf.errors.NotFoundError:
        return


def _statistics(files: List[str], schema: schema_pb2.Schema, cut_off: List[str]
                ) -> Optional[statistics_pb2.DatasetFeatureStatisticsList]:
    """TFDV statistics of the examples in `files` (copied into one file: TFDV reads a pattern)."""
    if not files:
        return None
    with tempfile.TemporaryDirectory(prefix="monitor-") as scratch:
        merged = os.path.join(scratch, "window.tfrecord")
        count = 0
        with tf.io.TFRecordWriter(merged) as writer:
            for path in files:
                for record in _records(path, cut_off):
                    writer.write(record)
                    count += 1
        return tfdv.generate_statistics_from_tfrecord(  # its output file: in scratch, not left behind
            data_location=merged, stats_options=distances.stats_options(schema),
            output_path=os.path.join(scratch, "statistics.tfrecord")) if count else None


def _without(statistics: Optional[statistics_pb2.DatasetFeatureStatisticsList], names: Set[str]
             ) -> Optional[statistics_pb2.DatasetFeatureStatisticsList]:
    for dataset in statistics.datasets if statistics else ():
        kept = [f for f in dataset.features if (f.path.step[-1] if f.path.step else f.name) not in names]
        del dataset.features[:]
        dataset.features.extend(kept)
    return statistics


def _count(statistics) -> int:
    return statistics.datasets[0].num_examples if statistics else 0


def check(log_dir: str, training: statistics_pb2.DatasetFeatureStatisticsList,
          curated: schema_pb2.Schema, features: Sequence[str], window_seconds: float,
          now: Optional[float] = None) -> MonitorResult:
    now = time.time() + 1 if now is None else now
    schema, cut_off = serving_schema(curated, features), []
    # columns the schema knows and the model does not read: excluded ones, which `predict` sends (a
    # version trained before the exclusion reads them); not new columns, and not checked
    unread = {f.name for f in curated.feature} - set(features)
    current = _without(_statistics(_window_files(log_dir, now - window_seconds, now), schema, cut_off), unread)
    previous = _without(_statistics(_window_files(log_dir, now - 2 * window_seconds, now - window_seconds),
                                    schema, cut_off), unread)
    if current is None:
        return MonitorResult(0, _count(previous), [], None, previous, cut_off)
    return MonitorResult(_count(current), _count(previous),
                         window_findings(current, previous, training, schema), current, previous, cut_off)


def window_findings(current: statistics_pb2.DatasetFeatureStatisticsList,
                    previous: Optional[statistics_pb2.DatasetFeatureStatisticsList],
                    training: statistics_pb2.DatasetFeatureStatisticsList,
                    schema: schema_pb2.Schema) -> List[checks.Finding]:
    """A window of requests checked with `serving_schema`: skew against training, and drift
    against the window before it (when there is one)."""
    findings = checks.check_skew(current, training, schema)
    if previous is not None:
        drift = checks.check_statistics(current, schema, previous, environment="SERVING")
        findings += [f for f in drift if checks.is_drift(f)]
    return findings
