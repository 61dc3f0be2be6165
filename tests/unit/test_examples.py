import csv

import pytest
import tensorflow_data_validation as tfdv

from serving import examples
from tests.bad_data import taxi_rows
from tests.conftest import TAXI_SCHEMA


@pytest.fixture(scope="module")
def types():
    return examples.feature_types(tfdv.load_schema_text(TAXI_SCHEMA))


def test_values_are_typed_by_the_schema_and_empty_cells_are_missing(types):
    example = examples.to_example(
        {"fare": "12.5", "trip_start_hour": "7", "company": "", "payment_type": "Cash"}, types
    )
    features = example.features.feature
    assert features["fare"].float_list.value == [12.5]
    assert features["trip_start_hour"].int64_list.value == [7]
    assert features["payment_type"].bytes_list.value == [b"Cash"]
    assert "company" not in features


def test_bad_values_and_unknown_columns_are_named(types):
    with pytest.raises(ValueError, match="column 'fare': 'abc' is not a valid FLOAT value"):
        examples.to_example({"fare": "abc"}, types)
    with pytest.raises(ValueError, match="column 'colour' is not in the schema"):
        examples.to_example({"colour": "red"}, types)


def test_a_word_among_numbers_is_told_how_to_read_it_as_no_value(types):
    """R and spreadsheets write `NA` for a missing number: the dataset's `missing_values` reads it."""
    with pytest.raises(ValueError) as raised:
        examples.to_example({"fare": "NA"}, types)
    assert str(raised.value) == ("column 'fare': 'NA' is not a valid FLOAT value; if it means no value, "
                                 "list it under `missing_values` in dataset.yaml")
    with pytest.raises(ValueError) as raised:
        examples.to_example({"fare": "12.5.1"}, types)
    assert str(raised.value) == "column 'fare': '12.5.1' is not a valid FLOAT value"


def test_an_integer_column_takes_whole_numbers_and_refuses_fractions(types):
    """`7.0` (pandas writes an integer column with gaps so) is 7; `7.5` is not cut to 7."""
    for text in ("7", "7.0", "+7", " 7"):
        assert examples.to_example({"trip_start_hour": text}, types).features.feature[
            "trip_start_hour"].int64_list.value == [7]
    for text in ("7.5", "nan", "inf", "seven", "7.0000000000000001"):
        with pytest.raises(ValueError, match=f"column 'trip_start_hour': '{text}' is not a valid INT value"):
            examples.to_example({"trip_start_hour": text}, types)
    sentinel = examples.to_example({"trip_start_hour": "-999.0"}, types, ("", "-999"))  # the token, as pandas writes it
    assert "trip_start_hour" not in sentinel.features.feature


def test_rows_saved_by_excel_read_as_the_plain_file(tmp_path):
    """`predict`'s rows: a byte-order mark (Excel's "CSV UTF-8") is not part of the first name."""
    rows = taxi_rows(20)
    for name, encoding in (("plain.csv", "utf-8"), ("excel.csv", "utf-8-sig")):
        with open(tmp_path / name, "w", newline="", encoding=encoding) as f:
            csv.writer(f, lineterminator="\r\n").writerows(rows)
    excel = examples.read_csv_rows(str(tmp_path / "excel.csv"), drop_columns=["tips"])
    assert excel == examples.read_csv_rows(str(tmp_path / "plain.csv"), drop_columns=["tips"])
    assert list(excel[0]) == [c for c in rows[0] if c != "tips"] and len(excel) == 20
