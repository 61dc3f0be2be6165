"""The scale benchmark's synthetic taxi rows (benchmarks/scale.py): drawn from the bundled sample,
jittered so rows are not copies, at the steps the sample's values are written in (a finer jitter
breaks ties the data gate sees as drift)."""
import pandas as pd

from benchmarks import scale
from tests.conftest import TAXI_CSV


def _share(values: pd.Series, step: float) -> float:
    values = values.dropna()
    return float(((values / step).round(6) % 1 == 0).mean())


def test_synthetic_rows_are_not_copies_of_the_sample_but_keep_its_steps(tmp_path):
    sample = pd.read_csv(TAXI_CSV)
    synthetic = pd.read_csv(scale.write_synthetic(4000, str(tmp_path)))
    assert len(synthetic) == 4000 and list(synthetic.columns) == list(sample.columns)
    for column, step in [("trip_seconds", 60), ("tips", 1), ("fare", 0.05), ("trip_miles", 0.1)]:
        assert abs(_share(synthetic[column], step) - _share(sample[column], step)) < 0.03, column
    copies = synthetic.merge(sample.drop_duplicates(), how="inner")
    assert len(copies) < 0.8 * len(synthetic)  # most rows differ from every sample row in a jittered cell
