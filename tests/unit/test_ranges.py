"""Plausible ranges drafted from the observed one (schema/ranges.py), on palmerpenguins."""
import tensorflow_data_validation as tfdv

from benchmarks import public_datasets
from schema import csv_statistics, ranges


def test_plausible_ranges_widen_the_observed_range_and_keep_hand_curated_bounds(tmp_path):
    path = str(tmp_path / "penguins.csv")
    public_datasets.PENGUINS.write_csv(path)
    statistics = csv_statistics.statistics_of_csv(path, ("", "NA"))
    schema = tfdv.infer_schema(statistics)
    tfdv.get_feature(schema, "body_mass_g").int_domain.max = 7000  # curated by hand
    ranged = ranges.with_plausible_ranges(schema, statistics, ["bill_length_mm", "body_mass_g"])
    bill = tfdv.get_feature(ranged, "bill_length_mm").float_domain  # observed 32.1 .. 59.6: + 59.6
    assert (bill.min, bill.max) == (0.0, 120.0)
    mass = tfdv.get_feature(ranged, "body_mass_g").int_domain  # observed 2700 .. 6300
    assert (mass.min, mass.max) == (0, 7000)
    assert not tfdv.get_feature(ranged, "year").HasField("int_domain")  # not asked for
