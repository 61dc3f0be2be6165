"""Which runs on older data are refused before they start (pipeline/older_data.py): spans are
compared within one folder of spans (also given one `span-N` folder of it), and across folders only
for a run on the dataset's declared data without spans. The newest spans the gate accepted per
folder are read from ML Metadata (tests/e2e/test_operations.py records them through real runs);
here they are given, to try each case."""
import os
import shutil

import pytest

from pipeline import older_data
from pipeline.configs import DEFAULT_DATASET, PipelineConfig
from tests.bad_data import taxi_rows, write_rows


@pytest.fixture
def feed(tmp_path):
    """A folder of spans 1 and 2 of taxi rows."""
    folder = str(tmp_path / "feed")
    for span in (1, 2):
        write_rows(os.path.join(folder, f"span-{span}"), taxi_rows(60))
    return folder


def refusal(monkeypatch, accepted, span, data_root=None, dataset_dir=DEFAULT_DATASET):
    """What a run on `data_root` (None: the declared data) is told, as check_inputs asks."""
    monkeypatch.setattr(older_data, "newest_accepted", lambda store, name: accepted)
    config = PipelineConfig(dataset_dir=dataset_dir, data_root=data_root).resolved()
    return older_data.refusal(None, config, span, config.data_root)


def test_the_declared_data_after_newer_spans_of_a_folder_is_refused_naming_that_folder(feed, monkeypatch):
    said = refusal(monkeypatch, {os.path.realpath(feed): 2}, 0)
    assert "(no span-N/ folders: span 0) is older than span 2 of" in said
    assert f"Give the data the runs read (--data {os.path.realpath(feed)})" in said


def test_a_span_older_than_one_accepted_from_the_same_folder_is_refused(feed, monkeypatch):
    said = refusal(monkeypatch, {os.path.realpath(feed): 5}, 2, feed)
    assert said.startswith(f"span 2 of {feed} is older than span 5 of {os.path.realpath(feed)}")
    assert f"The newer spans are gone from {os.path.realpath(feed)}" in said and "exclude-span N" in said


def test_one_span_folder_of_a_folder_of_spans_given_with_data_is_that_span_of_it(feed, monkeypatch):
    said = refusal(monkeypatch, {os.path.realpath(feed): 2}, 0, os.path.join(feed, "span-1"))
    assert said.startswith(f"span 1 of {os.path.join(feed, 'span-1')} is older than span 2 of {os.path.realpath(feed)}")
    assert refusal(monkeypatch, {os.path.realpath(feed): 2}, 0, os.path.join(feed, "span-2")) is None


def test_folders_of_spans_are_not_compared_with_each_other(feed, tmp_path, monkeypatch):
    """A new feed numbered from 1 runs; so does a declared folder of spans after a backfill's."""
    assert refusal(monkeypatch, {str(tmp_path / "old-feed"): 12}, 2, feed) is None
    assert refusal(monkeypatch, {os.path.realpath(feed): 2}, 2, feed) is None
    assert refusal(monkeypatch, {}, 0) is None
    declared = tmp_path / "datasets" / "feed"
    shutil.copytree(os.path.realpath(DEFAULT_DATASET), declared)
    yaml = declared / "dataset.yaml"
    yaml.write_text("\n".join(f"data: {feed}" if line.startswith("data:") else line
                              for line in yaml.read_text().splitlines()) + "\n")
    assert refusal(monkeypatch, {str(tmp_path / "backfill"): 12}, 2, None, str(declared)) is None
