"""Fixtures shared by unit and e2e tests: the bundled taxi dataset, read through its declaration."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import functools  # noqa: E402

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from models import dataset  # noqa: E402
from pipeline.configs import DEFAULT_DATASET  # noqa: E402

TAXI = dataset.load(DEFAULT_DATASET)
TAXI_CSV = os.path.join(TAXI.data_root(), "data.csv")
TAXI_SCHEMA = TAXI.schema_file


@pytest.fixture(scope="session")
def taxi_frame() -> pd.DataFrame:
    """The bundled Chicago taxi sample as a DataFrame (15,002 rows, 18 columns)."""
    return pd.read_csv(TAXI_CSV)


DRAFTING_DRAWS = 3


@pytest.fixture
def few_calibration_draws(request, monkeypatch):
    """Tests of `init`'s drafting decisions (kinds, exclusions, refusals) calibrate its thresholds on
    `DRAFTING_DRAWS` random draws instead of `calibration.PAIRS`: the draws are most of the time an
    `init` of a small file takes, and no drafting decision reads them. Module- and session-scoped
    drafts are made before this fixture applies, so on all draws; a test that compares thresholds or
    needs a check to survive every draw's noise is marked `all_draws`."""
    from schema import calibration  # pylint: disable=import-outside-toplevel  (TFDV: unit tests only)

    if request.node.get_closest_marker("all_draws") is None:
        monkeypatch.setattr(calibration, "calibrate",
                            functools.partial(calibration.calibrate, pairs=DRAFTING_DRAWS))
