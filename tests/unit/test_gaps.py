"""Gaps in the rows `score` and `predict` send, against the share of values the schema requires
(schema/gaps.py), on palmerpenguins."""
import csv

import tensorflow_data_validation as tfdv

from benchmarks import public_datasets
from schema import csv_statistics, gaps


def test_features_missing_in_more_rows_than_the_schema_tolerates_are_warned_about(tmp_path):
    """penguins' sex is NA in 11 of 344 rows: a schema that requires it in 90 % of rows lets that
    pass, one that requires it in every row does not; a column gone empty fails any requirement."""
    path = str(tmp_path / "penguins.csv")
    public_datasets.PENGUINS.write_csv(path)
    schema = tfdv.infer_schema(csv_statistics.statistics_of_csv(path, ("", "NA")))
    tfdv.get_feature(schema, "sex").presence.min_fraction = 0.9
    tfdv.get_feature(schema, "island").presence.min_fraction = 1.0
    tfdv.get_feature(schema, "bill_length_mm").ClearField("presence")  # requires nothing
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    features = ["sex", "island", "bill_length_mm"]
    required = gaps.required_shares(schema, features)
    assert required == {"sex": 0.9, "island": 1.0}
    counts = gaps.missing_counts(rows, features, ("", "NA"))
    assert counts == {"sex": 11, "bill_length_mm": 2}
    assert gaps.short_of_required(counts, len(rows), required) == {}
    assert gaps.short_of_required({"sex": 2}, 4, required) == {}  # 2 of 4 rows: chance, at one in ten
    assert gaps.short_of_required({"sex": 3}, 4, required) == {"sex": 3}
    for row in rows:
        row["island"] = ""
    counts = gaps.missing_counts(rows, features, ("", "NA"))
    short = gaps.short_of_required(counts, len(rows), required)
    assert short == {"island": 344}
    required["sex"] = 1.0
    assert gaps.short_of_required(counts, len(rows), required) == {"island": 344, "sex": 11}
    warning = gaps.missing_warning(short, len(rows), required, "p.csv", has_label=False)
    assert warning.startswith("warning: values missing, among 344 rows: island has none in 344 (the schema "
                              "requires one in every row); the model fills them in")
    assert "sex has none in 11 (the schema requires one in 99.6% of rows)" in gaps.missing_warning(
        {"sex": 11}, 344, {"sex": 0.996}, "p.csv", has_label=True)
    assert warning.endswith("`tfxpipe validate p.csv --skew-against TRAINING_DATA` checks the file against the schema.")
