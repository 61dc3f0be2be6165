"""The server's request log: sampled, bounded on disk, readable as tf.Example TFRecords."""
import os

import pytest
import tensorflow as tf

from serving.request_log import RequestLog, RequestLogs, log_files, model_folder

EXAMPLE = tf.train.Example(features=tf.train.Features(feature={
    "trip_miles": tf.train.Feature(float_list=tf.train.FloatList(value=[1.5]))})).SerializeToString()


def logged(directory):
    return [r.numpy() for path in log_files(directory) for r in tf.data.TFRecordDataset(path)]


def test_every_example_is_logged_at_rate_one_and_reads_back(tmp_path):
    log = RequestLog(str(tmp_path), sample_rate=1.0)
    log.record([EXAMPLE] * 3)
    log.record([EXAMPLE])
    assert logged(str(tmp_path)) == [EXAMPLE] * 4  # readable while the server still writes
    log.close()


def test_sampling_keeps_about_the_rate(tmp_path):
    log = RequestLog(str(tmp_path), sample_rate=0.25, seed=1)
    log.record([EXAMPLE] * 4000)
    log.close()
    assert 850 <= len(logged(str(tmp_path))) <= 1150


def test_the_log_stays_within_its_disk_cap(tmp_path):
    cap = 64 * 1024
    log = RequestLog(str(tmp_path), max_bytes=cap)
    for _ in range(2000):
        log.record([EXAMPLE])
    log.close()
    files = log_files(str(tmp_path))
    total = sum(os.path.getsize(f) for f in files)
    assert total <= cap + cap // 8, total  # the cap, plus at most the file being written
    assert len(logged(str(tmp_path))) < 2000, "the oldest files were dropped"


def test_servers_sharing_a_folder_never_remove_each_others_open_file(tmp_path):
    """Two servers (replicas on a shared volume) log into one folder: the cap keeps the other's file
    being written, and removes it once untouched for `rotate_seconds` (its writer rotates first)."""
    cap = 64 * 1024
    quiet, busy = (RequestLog(str(tmp_path), max_bytes=cap, rotate_seconds=60) for _ in range(2))
    quiet.record([EXAMPLE])
    [open_file] = log_files(str(tmp_path))
    for _ in range(2000):
        busy.record([EXAMPLE])
    assert open_file in log_files(str(tmp_path))
    total = sum(os.path.getsize(f) for f in log_files(str(tmp_path)))
    assert total <= cap + 2 * cap // 8, total  # the cap, plus each server's file being written
    quiet.record([EXAMPLE])
    assert [r.numpy() for r in tf.data.TFRecordDataset(open_file)] == [EXAMPLE] * 2, "nothing lost"
    os.utime(open_file, (1, 1))  # untouched for longer than rotate_seconds
    for _ in range(300):
        busy.record([EXAMPLE])
    assert open_file not in log_files(str(tmp_path))
    quiet.close()
    busy.close()


def test_a_sample_rate_outside_0_1_is_refused(tmp_path):
    with pytest.raises(ValueError, match="sample rate"):
        RequestLog(str(tmp_path), sample_rate=0)


def test_files_rotate_on_time_so_a_quiet_server_still_fills_windows(tmp_path):
    log = RequestLog(str(tmp_path), rotate_seconds=0.0)
    log.record([EXAMPLE])
    log.record([EXAMPLE])
    log.close()
    assert len(log_files(str(tmp_path))) == 2


def test_a_failing_disk_never_fails_the_request(tmp_path, caplog):
    folder = tmp_path / "requests"
    folder.write_text("not a folder")  # no model's folder can be made in it: every write fails
    logs = RequestLogs(str(folder))
    logs.record("taxi", [EXAMPLE])  # no exception: logging is best effort
    logs.record("taxi", [EXAMPLE])
    assert sum("request log" in r.getMessage() for r in caplog.records) == 1, "reported once"


def test_each_model_is_logged_in_a_folder_of_the_log_whatever_its_name(tmp_path):
    logs = RequestLogs(str(tmp_path / "requests"))
    for name in ("taxi", "team/taxi", "..", "../elsewhere"):
        logs.record(name, [EXAMPLE])
    logs.close()
    folders = sorted(os.listdir(tmp_path / "requests"))
    assert folders == sorted(os.path.basename(model_folder("requests", n))
                             for n in ("taxi", "team/taxi", "..", "../elsewhere"))
    assert len(folders) == 4 and os.listdir(tmp_path) == ["requests"]  # nothing written beside the log
    assert model_folder("requests", "taxi") == os.path.join("requests", "taxi")
    assert logged(model_folder(str(tmp_path / "requests"), "..")) == [EXAMPLE]
