"""`tfxpipe monitor`'s windows over the server's request log, on examples from the taxi sample."""
import os

import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv

from cli import main as cli_main
from schema import distances
from serving import examples, monitor, request_log
from serving.request_log import RequestLog
from tests.bad_data import shuffled_slices
from tests.conftest import TAXI, TAXI_SCHEMA

SCHEMA = tfdv.load_schema_text(TAXI_SCHEMA)


def taxi_examples(seed: int, count: int):
    header, (rows,) = shuffled_slices(seed, count)
    return examples.serialize_rows(
        [{k: v for k, v in zip(header, row) if k in TAXI.feature_names()} for row in rows], SCHEMA)


def statistics_of(serialized, folder):
    path = os.path.join(folder, "examples.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for example in serialized:
            writer.write(example)
    return tfdv.generate_statistics_from_tfrecord(
        data_location=path, stats_options=distances.stats_options(monitor.serving_schema(SCHEMA, TAXI.feature_names())),
        output_path=os.path.join(folder, "statistics.tfrecord"))


def test_a_log_cut_off_mid_record_or_removed_meanwhile_is_read_as_far_as_it_goes(tmp_path, monkeypatch):
    """A server killed mid-write leaves a file ending in part of a record; the log's size cap may
    remove a file between `monitor` listing and reading it. Neither stops the check."""
    requests = taxi_examples(3, 200)
    log_dir = str(tmp_path / "requests")
    for served in (requests[:100], requests[100:]):  # two servers' files, one after the other
        log = RequestLog(log_dir)
        log.record(served)
        log.close()
    first, second = request_log.log_files(log_dir)
    with open(second, "r+b") as f:
        f.truncate(os.path.getsize(second) - 10)  # the last record is cut off
    gone = os.path.join(log_dir, f"{request_log.FILE_PREFIX}9.tfrecord")
    listed = request_log.log_files
    monkeypatch.setattr(request_log, "log_files", lambda directory: listed(directory) + [gone])
    training = statistics_of(requests, str(tmp_path))
    result = monitor.check(log_dir, training, SCHEMA, TAXI.feature_names(), window_seconds=3600)
    assert result.examples == 199
    assert result.cut_off == [second]
    assert result.previous_examples == 0 and result.previous_statistics is None
    assert result.findings == []  # the requests are the training data


@pytest.mark.parametrize("minutes", ["0", "-5", "nan"])
def test_a_window_of_no_minutes_is_refused_before_any_log_is_read(minutes, capsys):
    with pytest.raises(SystemExit) as ended:
        cli_main.main(["monitor", "--window-minutes", minutes])
    assert ended.value.code == 2
    assert f"argument --window-minutes: {minutes!r}: give a number of minutes above 0" in capsys.readouterr().err


def test_a_column_the_schema_knows_and_the_model_does_not_read_is_no_new_column(tmp_path):
    """`predict` sends the columns the declaration excluded (a version trained before the exclusion
    reads them): `monitor` once called each a new column, and exited 1 on every window."""
    requests = taxi_examples(4, 200)
    log_dir = str(tmp_path / "requests")
    log = RequestLog(log_dir)
    log.record(requests)
    log.close()
    read = [name for name in TAXI.feature_names() if name != "trip_miles"]  # excluded since
    training = statistics_of(requests, str(tmp_path))
    result = monitor.check(log_dir, training, SCHEMA, read, window_seconds=3600)
    assert result.examples == 200 and result.findings == [], result.findings
    assert "trip_miles" not in {f.path.step[0] for f in result.statistics.datasets[0].features}
