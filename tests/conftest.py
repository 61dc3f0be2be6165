"""Fixtures shared by unit and e2e tests: the bundled taxi data, read through the real schema."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from pipeline.configs import bundled_data_root  # noqa: E402

TAXI_CSV = os.path.join(bundled_data_root(), "data.csv")


@pytest.fixture(scope="session")
def taxi_frame() -> pd.DataFrame:
    """The bundled Chicago taxi sample as a DataFrame (15,002 rows, 18 columns)."""
    return pd.read_csv(TAXI_CSV)
