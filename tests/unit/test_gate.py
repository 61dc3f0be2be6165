"""The data gate tells each problem of a span once, though it shows in both splits, and how to
find the lines of text among numbers (pipeline/gate.py), on real TFDV findings for taxi rows."""
import json
import os

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

from pipeline import gate
from schema import checks, csv_statistics, distances, report, schema_text
from tests.bad_data import shuffled_slices, taxi_rows, write_rows
from tests.conftest import TAXI_SCHEMA


def _findings(folder, rows):
    write_rows(str(folder), rows)
    return checks.check_statistics(csv_statistics.statistics_of_csv(str(folder)), tfdv.load_schema_text(TAXI_SCHEMA))


def test_a_problem_in_both_splits_is_told_once_and_a_columns_low_and_high_values_apart(tmp_path):
    rows = taxi_rows(300)
    index = rows[0].index("pickup_latitude")
    for row in rows[1:10]:
        row[index] = "-41.9"  # a minus sign too many: below the range
    for row in rows[10:20]:
        row[index] = "4190"  # a slipped decimal point: above it
    train = _findings(tmp_path / "train", rows)
    evaluation = _findings(tmp_path / "eval", [rows[0]] + rows[10:20] + rows[100:200])  # high only
    assert len(train) == 2 and len(evaluation) == 1

    told = gate.merged([("train", train), ("eval", evaluation)])

    assert [f.feature for f in told] == ["pickup_latitude"] * 2
    details = sorted(f.detail for f in told)
    assert details[0] == "[train split; also in the eval split] Unexpectedly high value: 4190>42.1"
    assert details[1] == "[train split] Unexpectedly low values: -41.9<41.6"
    assert gate.next_steps(told, tfdv.load_schema_text(TAXI_SCHEMA)) == report.NEXT_STEPS  # no lines to find


def test_a_problem_in_both_splits_shows_the_figures_of_the_split_it_names_first(tmp_path):
    """A new payment type in 3% of the train split's rows and 11% of the eval split's: the finding
    told under "[train split; ...]" says the train split's share and distinct values, not the eval
    split's (whose figures, written one digit longer, were shown under the train split's name)."""
    rows = taxi_rows(400)
    index = rows[0].index("payment_type")
    for row in rows[1:10] + rows[301:312]:
        row[index] = "Voucher"  # no such payment type in the schema
    train = _findings(tmp_path / "train", rows[:301])
    evaluation = _findings(tmp_path / "eval", [rows[0]] + rows[301:401])
    assert [(f.feature, f.problem) for f in train] == [(f.feature, f.problem) for f in evaluation] == [
        ("payment_type", "Unexpected string values")]
    assert "in 3.0% of the rows holding a value" in train[0].detail and "in 11.0% of the rows holding a value" in evaluation[0].detail
    assert train[0].actual != evaluation[0].actual  # the eval split has fewer distinct values

    for order in ([("train", train), ("eval", evaluation)], [("eval", evaluation), ("train", train)]):
        (told,) = gate.merged(order)
        first, (kept,) = order[0][0], order[0][1]
        also = "eval" if first == "train" else "train"
        assert told.detail == f"[{first} split; also in the {also} split] {kept.detail}"
        assert (told.actual, told.examples) == (kept.actual, kept.examples)


def test_text_among_numbers_is_one_problem_though_only_one_split_holds_the_text(tmp_path):
    """CsvExampleGen types a column for the whole span: with a word in the train split, the eval
    split's fares are text too, a type problem told in fewer words. One finding, the fuller one."""
    rows = taxi_rows(300)
    index = rows[0].index("fare")
    rows[5][index] = "twelve"
    train = _findings(tmp_path / "train", rows)
    write_rows(str(tmp_path / "eval"), [rows[0]] + rows[100:200])
    as_typed = tfdv.load_schema_text(TAXI_SCHEMA)  # the span's types: fare is text
    tfdv.get_feature(as_typed, "fare").type = schema_pb2.BYTES
    evaluation = checks.check_statistics(
        csv_statistics.statistics_of_csv(str(tmp_path / "eval"), options=tfdv.StatsOptions(
            schema=as_typed, infer_type_from_schema=True)), tfdv.load_schema_text(TAXI_SCHEMA))
    assert [(f.feature, f.problem) for f in train] == [(f.feature, f.problem) for f in evaluation] == [
        ("fare", checks.WRONG_TYPE)]
    assert "twelve" not in evaluation[0].detail

    for order in ([("eval", evaluation), ("train", train)], [("train", train), ("eval", evaluation)]):
        (told,) = gate.merged(order)
        assert told.detail.startswith("[train split; also in the eval split] ")  # the split whose words these are
        assert "String values that were not floats were found, such as \"twelve\"" in told.detail
        assert told.examples == ("twelve",)
        assert gate.next_steps([told], tfdv.load_schema_text(TAXI_SCHEMA)).endswith(gate.LINES_HINT)
    steps = report.next_steps(train)  # a type change alone: schema-diff changes no type
    assert steps == report.TYPE_NEXT_STEPS and "schema-diff DATA --write" not in steps
    assert report.next_steps(train + evaluation) == report.TYPE_NEXT_STEPS


def test_drift_on_a_split_far_smaller_than_calibrated_for_says_so_and_how_to_calibrate(tmp_path):
    """The taxi schema's thresholds are calibrated on samples of 6,001 rows; drift found between two
    samples of 400 rows may be chance: the gate says so, with the calibrate command for that size."""
    header, (earlier, later) = shuffled_slices(1, 400, 400)
    fare = header.index("fare")
    for row in later:
        row[fare] = f"{float(row[fare] or 0) * 3:.2f}"  # a real change: fares tripled
    schema = tfdv.load_schema_text(TAXI_SCHEMA)
    write_rows(str(tmp_path / "earlier"), [header] + earlier)
    write_rows(str(tmp_path / "later"), [header] + later)
    compared = distances.stats_options(schema)
    found = checks.check_statistics(csv_statistics.statistics_of_csv(str(tmp_path / "later"), options=compared),
                                    schema, csv_statistics.statistics_of_csv(str(tmp_path / "earlier"),
                                                                             options=compared))
    assert any(checks.is_drift(f) for f in found), found
    assert schema_text.calibrated_sample_rows(TAXI_SCHEMA) == 6001
    steps = gate.next_steps(found, schema, TAXI_SCHEMA, drift_rows=400)
    assert steps.endswith(" Drift was measured on 400 rows, fewer than the 6,001 its thresholds were calibrated "
                          "for, and smaller samples differ more by chance: if nothing changed, calibrate for "
                          "this size, `tfxpipe calibrate --span-rows 500 --write`."), steps
    # Drift alone: schema-diff and calibrate accept no real change; the comparator is what to edit.
    assert gate.next_steps(found, schema, TAXI_SCHEMA, drift_rows=6001) == report.DRIFT_NEXT_STEPS
    assert "`drift_comparator`" in report.DRIFT_NEXT_STEPS
    no_drift = [f for f in found if not checks.is_drift(f)]
    assert gate.next_steps(no_drift, schema, TAXI_SCHEMA, drift_rows=400) == report.NEXT_STEPS


def test_the_gate_finds_the_spans_csv_it_names_lines_in_whatever_the_folders_digits(tmp_path):
    """CsvExampleGen reads `span-03/` as span 3: the gate reads that folder again for the lines, a
    file or flat folder as given, and nothing for data in a bucket or gone since."""
    (tmp_path / "span-03").mkdir()
    (tmp_path / "span-03" / "data.csv").write_text("a\n1\n")
    assert gate.data_read(os.path.join(str(tmp_path), "span-{SPAN}", "*"), 3) == str(tmp_path / "span-03")
    assert gate.data_read(os.path.join(str(tmp_path), "span-{SPAN}", "*"), 4) is None
    assert gate.data_read(os.path.join(str(tmp_path / "span-03"), "*"), 0) == str(tmp_path / "span-03")
    assert gate.data_read(str(tmp_path / "span-03" / "data.csv"), 0) == str(tmp_path / "span-03" / "data.csv")
    assert gate.data_read("gs://bucket/data/*", 0) is None and gate.data_read("", 0) is None


def test_a_span_too_small_to_train_on_is_told_so_alone_with_what_to_do(tmp_path):
    """12 rows: their values and drift would raise findings that are only noise at that size."""
    write_rows(str(tmp_path), taxi_rows(12))
    statistics = csv_statistics.statistics_of_csv(str(tmp_path))
    noise = checks.check_statistics(statistics, tfdv.load_schema_text(TAXI_SCHEMA))
    told = gate.span_findings([("train", noise)], statistics.datasets[0].num_examples)
    assert [(f.problem, f.expected, f.actual) for f in told] == [(checks.TOO_FEW_ROWS, "at least 50 rows", "12 row(s)")]
    assert gate.next_steps(told, tfdv.load_schema_text(TAXI_SCHEMA)) == report.ROWS_NEXT_STEPS
    assert gate.span_findings([("train", noise)], checks.MIN_ROWS) == gate.merged([("train", noise)])


def test_new_values_a_tolerance_let_through_are_named_in_the_run_summary(tmp_path):
    """Trips by taxi companies the schema does not list, in both splits: under company's tolerance (a
    tenth of its values may be new, min_domain_mass), so the gate passes; the run summary still
    names them, counted over the span, a few per column and how many more."""
    from pipeline import run_details  # pylint: disable=import-outside-toplevel
    from schema import vocabularies  # pylint: disable=import-outside-toplevel

    rows = taxi_rows(400)
    index = rows[0].index("company")
    for number, row in enumerate(rows[1:10]):
        row[index] = "Lakeshore Cabs" if number < 3 else f"Cab {number}"  # 3 rows; 6 of one row each
    curated = tfdv.load_schema_text(TAXI_SCHEMA)
    splits = []
    for name, part in (("train", rows[:301]), ("eval", [rows[0]] + rows[301:])):
        write_rows(str(tmp_path / name), part if name == "train" else part + rows[1:3])  # eval: 2 more
        splits.append(csv_statistics.statistics_of_csv(str(tmp_path / name)))
        assert checks.check_statistics(splits[-1], curated) == [], "tolerated: the gate passes"
    found = vocabularies.let_through([s.datasets[0] for s in splits], curated)
    assert found["company"][0] == ("Lakeshore Cabs", 5) and len(found["company"]) == 7
    recorded = vocabularies.let_through_record(402, found)  # as the gate records it
    many = json.loads(vocabularies.let_through_record(402, {"company": found["company"] * 4}))
    assert len(many["values"]["company"]) == vocabularies.LET_THROUGH_KEPT and many["more"] == {"company": 8}
    assert run_details.let_through_note(recorded) == (
        "note: values the schema does not list, let through as few (their columns tolerate some): company: "
        "'Lakeshore Cabs' (5 of 402 rows), 'Cab 3' (1 of 402 rows), 'Cab 4' (1 of 402 rows) and 4 more. The "
        "model learned little of each, from those rows alone; if they are real values, `tfxpipe schema-diff "
        "--write` adds them to the schema, otherwise correct the data")
    assert run_details.let_through_note(vocabularies.let_through_record(300, {})) is None
    assert run_details.let_through_note("") is None  # a run recorded before the gate recorded them
