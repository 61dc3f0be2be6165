"""`tfxpipe predict` reads the answers by the dataset's task: answers of a model of another
dataset (another --model-name or server) are refused, not printed as impossible probabilities."""
import re

import numpy as np
import pytest

from benchmarks import public_datasets
from cli import main as cli
from cli import predict_command
from models import dataset
from tests.conftest import TAXI

PENGUINS = dataset.parse({"name": "penguins", "task": "multiclass",
                          "label": {"column": "species", "classes": ["Adelie", "Chinstrap", "Gentoo"]},
                          "features": {"bill_length_mm": "numeric"}})
REGRESSION = dataset.parse({"name": "cars", "task": "regression", "label": {"column": "mpg"},
                            "features": {"weight": "numeric"}})


@pytest.mark.parametrize("declaration, answers", [
    (PENGUINS, [[0.1, 0.2, 0.7]]),
    (TAXI, [[0.3]]),
    (REGRESSION, [[21.8]]),
])
def test_answers_of_a_model_of_the_dataset_are_printed(declaration, answers):
    assert predict_command._misfit(declaration, np.array(answers)) is None  # pylint: disable=protected-access
    table = predict_command._predictions_table(declaration, np.array(answers))  # pylint: disable=protected-access
    assert table.count("\n") == 1 and table.splitlines()[1].split()[0] == "1"  # the first data row is row 1


@pytest.mark.parametrize("declaration, answers, message", [
    (PENGUINS, [[21.8]], "answers 1 value.s. per row, but a multiclass model of 'penguins' answers 3 class probabilities"),
    (TAXI, [[0.1, 0.2, 0.7]], "answers 3 value.s. per row, but a binary model"),
    (TAXI, [[21.8]], "values outside 0..1, but a binary model answers probabilities"),
    (REGRESSION, [[0.5, 0.5]], "answers 2 value.s. per row, but a regression model of 'cars' answers one value"),
    (REGRESSION, [21.8, 20.1], "not a table of numbers, one row per example"),
    (TAXI, [[float("nan")]], "not finite numbers"),
])
def test_answers_of_a_model_of_another_dataset_are_refused(declaration, answers, message):
    misfit = predict_command._misfit(declaration, np.array(answers))  # pylint: disable=protected-access
    assert misfit is not None and re.search(message, misfit), misfit


def test_predict_refuses_a_file_with_none_of_the_datasets_features(tmp_path, capfd):
    """palmerpenguins' CSV sent to the taxi model: no answer for a file of another dataset."""
    path = str(tmp_path / "penguins.csv")
    public_datasets.PENGUINS.write_csv(path)
    assert cli.main(["predict", path, "--server", "http://127.0.0.1:1"]) == 1
    err = capfd.readouterr().err  # errors go to the terminal's stderr, past the diverted native log
    assert f"error: {path} has none of the features of dataset 'taxi' (fare, trip_miles, " in err, err
    assert "is it this dataset's file? --dataset names the dataset" in err


def test_predict_names_the_data_row_of_a_cell_not_of_its_columns_type(tmp_path, capfd):
    """The taxi sample with text in one fare: refused before anything is sent, the row named."""
    import pandas as pd  # pylint: disable=import-outside-toplevel

    from tests.conftest import TAXI_CSV  # pylint: disable=import-outside-toplevel
    frame = pd.read_csv(TAXI_CSV, dtype=str, keep_default_na=False).head(5)
    frame.loc[3, "fare"] = "twelve"
    path = str(tmp_path / "text.csv")
    frame.to_csv(path, index=False)
    assert cli.main(["predict", path, "--server", "http://127.0.0.1:1"]) == 1
    err = capfd.readouterr().err  # errors go to the terminal's stderr, past the diverted native log
    assert f"error: {path}: data row 4: column 'fare': 'twelve' is not a valid FLOAT value" in err, err


def test_predict_to_a_port_no_server_listens_on_says_the_connection_was_refused(capfd):
    """Not urllib3's MaxRetryError: what happened, and what to do."""
    from tests.conftest import TAXI_CSV  # pylint: disable=import-outside-toplevel
    assert cli.main(["predict", TAXI_CSV, "--server", "http://127.0.0.1:1", "--limit", "2"]) == 1
    err = capfd.readouterr().err
    assert "error: cannot reach http://127.0.0.1:1: Connection refused; is a server running there " \
           "(`tfxpipe serve --dataset ...`)? --server names another" in err, err


def test_predict_sends_excluded_columns_for_a_version_trained_before_they_were_excluded(monkeypatch, capfd, tmp_path):
    """A version trained when a column was still a feature (served until a newer one is pushed, or
    again after a rollback) reads it: it is sent, as `score` sends the version's features, so both
    answer the same. The label's own column is not."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from serving import client  # pylint: disable=import-outside-toplevel
    from tests.conftest import TAXI_CSV  # pylint: disable=import-outside-toplevel
    sent = []

    class Recording:
        def predict(self, serialized):
            sent.extend(serialized)
            return [[0.5]] * len(serialized)

        def close(self):
            pass

    monkeypatch.setattr(client, "connect", lambda server, model: Recording())
    assert cli.main(["predict", TAXI_CSV, "--limit", "3"]) == 0, capfd.readouterr()
    keys = set(tf.train.Example.FromString(sent[0]).features.feature)
    assert "trip_start_timestamp" in TAXI.excluded and "trip_start_timestamp" in keys
    assert "fare" in keys and "tips" not in keys  # fare is a feature; tips is the label's alone

    import pandas as pd  # pylint: disable=import-outside-toplevel
    frame = pd.read_csv(TAXI_CSV, dtype=str, keep_default_na=False).head(3)
    frame.loc[1, "trip_start_timestamp"] = "2013-01-01 08:00"  # text in a column the model does not read
    path = str(tmp_path / "dated.csv")
    frame.to_csv(path, index=False)
    sent.clear()
    assert cli.main(["predict", path]) == 0  # not refused for a column the current model does not read
    assert "trip_start_timestamp: not features of the declaration" in capfd.readouterr().out
    assert [("trip_start_timestamp" in tf.train.Example.FromString(e).features.feature) for e in sent] == [
        True, False, True]
