"""The commands a hint suggests name the dataset the command was given (`--dataset DIR`, where it is
not the default one): copied as printed, `calibrate --write` or `schema-diff --write` would otherwise
change the default dataset's schema."""
import os
import re
import shutil

import tensorflow_data_validation as tfdv

from cli import main as cli
from schema import report
from serving import examples
from serving.request_log import RequestLog
from tests.bad_data import shuffled_slices, taxi_rows, write_rows
from tests.conftest import TAXI, TAXI_SCHEMA


def _own_dataset(tmp_path):
    """The taxi dataset copied to a folder of its own, as an operator's `datasets/mytaxi`."""
    folder = tmp_path / "mytaxi"
    shutil.copytree(os.path.dirname(TAXI_SCHEMA), folder)
    return str(folder)


def test_a_suggested_command_gets_the_dataset_once_and_only_commands_that_take_it():
    text = ("`tfxpipe calibrate --write`, `tfxpipe schema-diff new.csv --write`, `tfxpipe run`, "
            "`tfxpipe runs show` and `tfxpipe validate x.csv --dataset other`; tfxpipe calibrate")
    named = report.naming_dataset(text, " --dataset datasets/mytaxi")
    assert named == ("`tfxpipe calibrate --dataset datasets/mytaxi --write`, `tfxpipe schema-diff --dataset "
                     "datasets/mytaxi new.csv --write`, `tfxpipe run --dataset datasets/mytaxi`, `tfxpipe runs "
                     "show` and `tfxpipe validate x.csv --dataset other`; tfxpipe calibrate")
    assert report.naming_dataset(named, " --dataset datasets/mytaxi") == named
    assert report.naming_dataset(text, "") == text
    schema_only = report.naming_dataset("`tfxpipe validate x.csv`", " --schema s.pbtxt")  # the default dataset
    assert report.naming_dataset(schema_only, " --schema s.pbtxt") == schema_only == \
        "`tfxpipe validate --schema s.pbtxt x.csv`"
    assert report.naming_dataset("`tfxpipe validate --dataset=other x.csv`", " --dataset mine") == \
        "`tfxpipe validate --dataset=other x.csv`"


def test_monitor_on_a_small_window_suggests_calibrating_the_dataset_it_checked(tmp_path, capsys):
    """200 requests with fares in dimes, far fewer than the 1,000 its thresholds were calibrated for."""
    dataset = _own_dataset(tmp_path)
    write_rows(str(tmp_path / "training"), taxi_rows(3000))
    header, (rows,) = shuffled_slices(7, 200)
    fare = header.index("fare")
    dimes = [row[:fare] + [f"{float(row[fare]) * 10:.2f}" if row[fare] else ""] + row[fare + 1:] for row in rows]
    requests = [{k: v for k, v in zip(header, row) if k in TAXI.feature_names()} for row in dimes]
    log = RequestLog(str(tmp_path / "requests"))
    log.record(examples.serialize_rows(requests, tfdv.load_schema_text(TAXI_SCHEMA)))
    log.close()
    assert cli.main(["monitor", "--request-log", str(tmp_path / "requests"), "--dataset", dataset,
                     "--training-data", str(tmp_path / "training"), "--work-dir", str(tmp_path / "work")]) == 1
    out = capsys.readouterr().out
    assert "fare" in out and "calibrate for this size" in out, out
    assert f"`tfxpipe calibrate --dataset {dataset} --window-rows 200 --write`" in out, out


def test_schema_diff_on_drift_suggests_calibrating_the_dataset_it_read(tmp_path, capsys):
    """Fares in dimes are inside the schema's range: schema-diff changes nothing, and says that a
    run stops on drift, with the thresholds' advice for the dataset given."""
    dataset = _own_dataset(tmp_path)
    rows = taxi_rows(3000)
    fare = rows[0].index("fare")
    write_rows(str(tmp_path / "new"), [rows[0]] + [row[:fare] + [f"{float(row[fare]) / 10:.2f}" if row[fare] else ""]
                                                   + row[fare + 1:] for row in rows[1:]])
    cli.main(["schema-diff", str(tmp_path / "new"), "--dataset", dataset, "--work-dir", str(tmp_path / "work")])
    out = capsys.readouterr().out
    assert "stops on drift" in out, out
    assert f"`tfxpipe calibrate --dataset {dataset} --write`" in re.sub(r"\s+", " ", out), out


def test_an_error_names_the_dataset_in_the_command_it_suggests(tmp_path, capsys):
    dataset = _own_dataset(tmp_path)
    schema = os.path.join(dataset, "schema.pbtxt")
    with open(schema, "a", encoding="utf-8") as f:
        f.write("feature { name: \n")  # an edit left half done
    assert cli.main(["validate", str(tmp_path), "--dataset", dataset]) == 1
    err = capsys.readouterr().err
    assert f"`tfxpipe schema-diff --dataset {dataset} --write` changes a schema" in err, err
