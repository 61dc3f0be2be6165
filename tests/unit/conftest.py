"""Fixtures shared by the unit test modules."""
import pandas as pd
import pytest

from benchmarks import public_datasets
from schema import infer


@pytest.fixture(scope="session")
def penguins_draft(tmp_path_factory):
    """palmerpenguins' CSV as the package ships it, the frame read from it, and its draft (made once,
    before the function-scoped `few_calibration_draws`, so on all calibration draws). Read-only: copy
    the frame before changing it."""
    path = str(tmp_path_factory.mktemp("penguins") / "penguins.csv")
    public_datasets.PENGUINS.write_csv(path)
    return path, pd.read_csv(path, keep_default_na=False), infer.infer(path, "species", name="penguins")


@pytest.fixture
def saved_model(tmp_path):
    """The files of a SavedModel folder (not a loadable one): what the serving folder's tests move
    and compare."""
    src = tmp_path / "export"
    (src / "variables").mkdir(parents=True)
    (src / "saved_model.pb").write_bytes(b"graph")
    (src / "variables" / "variables.index").write_bytes(b"index")
    return src
