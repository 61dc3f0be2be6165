"""pipeline/accepted_statistics.py: on Kubeflow, the gate's drift reference is the newest statistics
it accepted of this span or an older one, as the local resolver chooses it from MLMD."""
import os

import pytest
from tfx.types import artifact_utils, standard_artifacts

from pipeline import accepted_statistics


def _statistics(folder, *splits: str) -> standard_artifacts.ExampleStatistics:
    artifact = standard_artifacts.ExampleStatistics()
    artifact.uri = str(folder)
    artifact.split_names = artifact_utils.encode_split_names(list(splits))
    for split in splits:
        os.makedirs(os.path.join(artifact.uri, f"Split-{split}"), exist_ok=True)
    return artifact


def test_the_reference_is_the_newest_accepted_span_not_newer_than_this_one(tmp_path):
    records = str(tmp_path / "records")
    first, third, fifth = (_statistics(tmp_path / f"s{n}", "train", "eval") for n in (1, 3, 5))
    accepted_statistics.record(records, third, 3)
    accepted_statistics.record(records, first, 1)  # a backfill, accepted later: still the older span
    accepted_statistics.record(records, fifth, 5)
    current = _statistics(tmp_path / "now", "train", "eval")
    assert accepted_statistics.previous(records, current, 4, "train").uri == third.uri
    assert accepted_statistics.previous(records, current, 5, "train").uri == fifth.uri  # span rewritten
    assert accepted_statistics.previous(records, current, 0, "train") is None
    assert accepted_statistics.previous(str(tmp_path / "no_records"), current, 4, "train") is None


def test_the_statistics_being_checked_are_never_their_own_reference(tmp_path):
    """A gate run again on the artifact it accepted before (a retried step) compares with the span's
    earlier accepted version, or with nothing."""
    records = str(tmp_path / "records")
    earlier, same = _statistics(tmp_path / "earlier", "train"), _statistics(tmp_path / "same", "train")
    accepted_statistics.record(records, earlier, 2)
    accepted_statistics.record(records, same, 2)
    assert accepted_statistics.previous(records, same, 2, "train").uri == earlier.uri


def test_records_whose_statistics_are_gone_or_lack_the_split_are_passed_over(tmp_path):
    records = str(tmp_path / "records")
    kept = _statistics(tmp_path / "kept", "train")
    accepted_statistics.record(records, kept, 1)
    accepted_statistics.record(records, _statistics(tmp_path / "eval_only", "eval"), 2)
    deleted = _statistics(tmp_path / "deleted", "train")
    accepted_statistics.record(records, deleted, 3)
    os.rmdir(os.path.join(deleted.uri, "Split-train"))  # removed by a bucket's retention rule
    current = _statistics(tmp_path / "now", "train")
    assert accepted_statistics.previous(records, current, 4, "train").uri == kept.uri


def test_a_damaged_record_is_named_with_what_to_do(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    (records / "0000000002-1-ab.json").write_text('{"span": 2, "uri"')  # cut short by hand
    with pytest.raises(ValueError, match=r"0000000002-1-ab.json is no record of statistics the data "
                                         r"gate accepted .*: delete it"):
        accepted_statistics.previous(str(records), _statistics(tmp_path / "now", "train"), 3, "train")


def test_a_record_is_written_whole_and_other_files_in_the_folder_are_not_records(tmp_path):
    records = str(tmp_path / "records")
    os.makedirs(records)
    for stray in ("notes.txt", "x-1.json", "0000000001-1.json.tmp-12"):
        (tmp_path / "records" / stray).write_text("{")
    path = accepted_statistics.record(records, _statistics(tmp_path / "s", "train"), 7)
    assert sorted(os.listdir(records)) == sorted(["notes.txt", "x-1.json", "0000000001-1.json.tmp-12",
                                                  os.path.basename(path)])
    assert accepted_statistics.previous(records, _statistics(tmp_path / "now", "train"), 9,
                                        "train").uri == str(tmp_path / "s")
