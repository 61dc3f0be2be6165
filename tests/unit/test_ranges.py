"""Plausible ranges drafted from the observed one, and values outside them (schema/ranges.py), on
palmerpenguins."""
import csv
import math

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

from benchmarks import public_datasets
from schema import csv_statistics, ranges, vocabularies


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

    rows = list(csv.reader(open(path, encoding="utf-8")))
    rows[3][rows[0].index("bill_length_mm")] = "Inf"  # calibrate on data with an infinity: no bound from it
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    infinite = csv_statistics.statistics_of_csv(path, ("", "NA"))
    unbounded = ranges.with_plausible_ranges(tfdv.infer_schema(infinite), infinite, ["bill_length_mm"])
    assert not tfdv.get_feature(unbounded, "bill_length_mm").HasField("float_domain")


def test_values_outside_the_ranges_are_counted_per_column_as_predict_warns(tmp_path):
    """Grams sent as kilograms and a missing-value token: only numbers outside a range count."""
    path = str(tmp_path / "penguins.csv")
    public_datasets.PENGUINS.write_csv(path)
    statistics = csv_statistics.statistics_of_csv(path, ("", "NA"))
    schema = ranges.with_plausible_ranges(tfdv.infer_schema(statistics), statistics,
                                          ["bill_length_mm", "body_mass_g"])
    bounds = ranges.declared_ranges(schema, ["bill_length_mm", "body_mass_g", "island"])
    assert bounds == {"bill_length_mm": (0.0, 120.0), "body_mass_g": (0, 12600)}
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert ranges.outside_counts(rows, bounds) == {}
    for row in rows[:40]:
        row["body_mass_g"] = "NA" if row["body_mass_g"] == "NA" else str(int(row["body_mass_g"]) * 1000)
    kilograms = sum(row["body_mass_g"] != "NA" for row in rows[:40])
    assert ranges.outside_counts(rows, bounds) == {"body_mass_g": kilograms}
    rows[50]["body_mass_g"] = "-999"  # a file's number for "no value", declared so
    assert ranges.outside_counts(rows, bounds, ("", "NA", "-999")) == {"body_mass_g": kilograms}
    assert ranges.outside_counts(rows, bounds, ("", "NA")) == {"body_mass_g": kilograms + 1}
    warning = ranges.outside_warning({"body_mass_g": kilograms}, len(rows), bounds, "p.csv", has_label=True)
    assert warning.startswith(f"warning: values outside the schema's ranges: body_mass_g in {kilograms} "
                              f"row(s) (range [0, 12600]) of 344;")
    assert warning.endswith("`tfxpipe validate p.csv` checks the file against the schema.")
    assert "--skew-against" in ranges.outside_warning({"body_mass_g": 1}, 1, bounds, "p.csv", has_label=False)
    assert "`tfxpipe validate p.csv --dataset datasets/penguins` checks" in ranges.outside_warning(
        {"body_mass_g": 1}, 1, bounds, "p.csv", True, " --dataset datasets/penguins")


def test_integer_codes_have_no_range_to_fall_outside_and_numbers_of_few_values_have_one():
    """A code past `max_value` is an unknown category (an OOV bucket), not another unit; a count of
    few values is compared by its shares (`is_categorical` too) and its range is a unit's. The
    declaration tells them apart."""
    schema = schema_pb2.Schema()
    for name, high in (("hour", 23), ("cylinders", 16)):
        counted = schema.feature.add(name=name, type=schema_pb2.INT)
        counted.int_domain.min, counted.int_domain.max, counted.int_domain.is_categorical = 0, high, True
    fare = schema.feature.add(name="fare", type=schema_pb2.FLOAT)
    fare.float_domain.max = 500.0
    assert ranges.declared_ranges(schema, ["cylinders", "fare"]) == {"cylinders": (0, 16), "fare": (-math.inf, 500.0)}
    assert vocabularies.known_values(schema, ["hour"]) == {"hour": (0, 23)}


def test_a_cell_at_a_bound_is_inside_as_the_pipeline_reads_it_in_float32():
    """A schema holds 0.9 as float32 (0.89999998); a cell written 0.9 is read so too: at the bound,
    not past it. Each side is told; NaN and text are neither (no value; a type problem)."""
    schema = schema_pb2.Schema()
    feature = schema.feature.add(name="share", type=schema_pb2.FLOAT)
    feature.float_domain.min, feature.float_domain.max = 0.1, 0.9
    bounds = ranges.domain_bounds(feature)
    assert bounds[1] < 0.9  # float32
    assert [ranges.side_of(cell, bounds) for cell in ("0.1", "0.9", "0.5", "0.09", "0.91", "nan", "n.a.", "1e39")] \
        == [0, 0, 0, -1, 1, 0, 0, 1]
    assert ranges.outside_counts([{"share": "0.9"}, {"share": "0.95"}], {"share": bounds}) == {"share": 1}


def test_numbers_in_findings_and_warnings_read_as_written_not_in_exponent_notation():
    """An income sent x100 (7,355,420) was told as 7.35542e+06, which reads as a different number."""
    assert [ranges.plain(v) for v in (7355420.0, 148000, -3.0, 0.25, 1 / 3, 2.5e20, math.inf)] == \
        ["7355420", "148000", "-3", "0.25", "0.333333", "2.5e+20", "inf"]
    warning = ranges.outside_warning({"income": 2}, 10, {"income": (0, 1480000)}, "p.csv", True)
    assert "income in 2 row(s) (range [0, 1480000]) of 10" in warning
