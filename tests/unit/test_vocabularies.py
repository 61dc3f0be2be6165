"""Categories outside the schema's vocabulary (schema/vocabularies.py), against the taxi sample's curated schema."""
import tensorflow_data_validation as tfdv

from schema import vocabularies
from serving import examples
from tests.conftest import TAXI_CSV, TAXI_SCHEMA

SCHEMA = tfdv.load_schema_text(TAXI_SCHEMA)


def test_vocabularies_are_the_string_domains_and_the_ranges_of_integer_codes():
    known = vocabularies.known_values(SCHEMA, ["payment_type", "trip_start_hour", "fare", "company",
                                               "dropoff_census_tract"])
    assert "Cash" in known["payment_type"] and "Bitcoin" not in known["payment_type"]
    assert known["trip_start_hour"] == (0, 23)
    assert "fare" not in known  # a number: its range is told by schema/ranges.py
    assert "dropoff_census_tract" not in known  # codes without a declared range: no vocabulary to leave


def test_unseen_categories_are_counted_per_column_and_named_but_not_missing_values_or_other_types():
    rows = examples.read_csv_rows(TAXI_CSV)[:500]
    assert rows[0]["payment_type"] and rows[0]["trip_start_hour"]
    known = vocabularies.known_values(SCHEMA, ["payment_type", "trip_start_hour"])
    unseen = vocabularies.Unseen()
    for row in rows:
        unseen.check(row, known, ("", "NA"))
    assert unseen.counts == {}, "the sample's own rows hold no unseen category"
    for i, value in enumerate(["Bitcoin", "NA", "", "Crypto", "Bitcoin", "cash", "Check"]):
        rows[i]["payment_type"] = value
    rows[0]["trip_start_hour"], rows[1]["trip_start_hour"], rows[2]["trip_start_hour"] = "24", "-1", "noon"
    rows[3]["trip_start_hour"], rows[4]["trip_start_hour"] = "30.0", "3.5"  # a code as pandas writes it; a fraction
    for row in rows:
        unseen.check(row, known, ("", "NA"))
    assert unseen.counts == {"payment_type": 5, "trip_start_hour": 3}  # "noon", "3.5": type problems
    assert unseen.values == {"payment_type": ["Bitcoin", "Crypto", "cash"], "trip_start_hour": ["24", "-1", "30.0"]}
    warning = vocabularies.unseen_warning(unseen, len(rows), "new.csv", has_label=False,
                                          dataset_flag=" --dataset datasets/taxi")
    assert warning.startswith("warning: categories the schema does not list, among 500 rows: payment_type in 5 "
                              "('Bitcoin', 'Crypto', 'cash'); trip_start_hour in 3 ('24', '-1', '30.0'). "), warning
    assert "`tfxpipe validate new.csv --dataset datasets/taxi --skew-against TRAINING_DATA` checks" in warning


def test_workers_counts_sum_through_counters_and_the_values_most_workers_met_are_named():
    workers = [vocabularies.Unseen() for _ in range(3)]
    for worker, values in zip(workers, (["Crypto", "Bitcoin"], ["Bitcoin", "Gold", "Barter", "Shells"], ["Bitcoin"])):
        for value in values:
            worker.add("payment_type", value)
    summed = {}
    for worker in workers:
        for name, count in worker.as_counters().items():
            summed[name] = summed.get(name, 0) + count
    merged = vocabularies.Unseen.from_counters(summed)
    assert merged.counts == {"payment_type": 7}
    assert merged.values == {"payment_type": ["Bitcoin", "Barter", "Crypto"]}  # 3 workers, then by name
