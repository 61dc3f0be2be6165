"""The declaration and its curated schema must fit each other before a run starts
(schema/declaration_fit.py): on the bundled taxi folder, edited as a user would edit it."""
import dataclasses
import shutil

import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

from models.dataset import Feature, Kind, Label, Task
from pipeline import runner
from pipeline.configs import PipelineConfig
from schema import declaration_fit
from tests.conftest import TAXI, TAXI_SCHEMA

SCHEMA = tfdv.load_schema_text(TAXI_SCHEMA)


def _with(**changes):
    return dataclasses.replace(TAXI, **changes)


def test_the_bundled_declaration_fits_its_schema():
    assert declaration_fit.mismatches(TAXI, SCHEMA) == []


def test_a_declared_feature_the_schema_lacks_is_named_with_the_fix():
    (problem,) = declaration_fit.mismatches(_with(features=(*TAXI.features, Feature("Colour", Kind.NUMERIC))),
                                            SCHEMA)
    assert problem.startswith("feature 'Colour' is declared but is not a column of the schema")
    assert "remove it from dataset.yaml" in problem


def test_a_kind_the_schemas_type_cannot_feed_is_named_with_the_kinds_that_can():
    retyped = {"payment_type": Feature("payment_type", Kind.NUMERIC),  # text
               "trip_miles": Feature("trip_miles", Kind.CATEGORICAL_INT, max_value=50)}  # floats
    features = tuple(retyped.get(f.name, f) for f in TAXI.features)
    floats, text = declaration_fit.mismatches(_with(features=features), SCHEMA)  # declaration order
    assert text == ("feature 'payment_type' is declared numeric but the schema holds text (BYTES): "
                    "declare it categorical_string or hashed, or correct its type in the schema")
    assert floats.startswith("feature 'trip_miles' is declared categorical_int with max_value but "
                             "the schema holds numbers (FLOAT)")
    hashed = tuple(Feature(f.name, Kind.HASHED, buckets=10) if f.name == "trip_miles" else f
                   for f in TAXI.features)
    assert declaration_fit.mismatches(_with(features=hashed), SCHEMA) == []  # hashing takes numbers
    for vocabulary in (Feature("trip_miles", Kind.CATEGORICAL_STRING, vocab_size=10),
                       Feature("trip_miles", Kind.CATEGORICAL_INT, vocab_size=10)):  # no max_value
        features = tuple(vocabulary if f.name == "trip_miles" else f for f in TAXI.features)
        (problem,) = declaration_fit.mismatches(_with(features=features), SCHEMA)
        assert problem == (f"feature 'trip_miles' is declared {vocabulary.kind.value} but the schema "
                           "holds numbers (FLOAT): declare it numeric, bucketized or hashed, or "
                           "correct its type in the schema")


def test_codes_the_schema_accepts_past_the_declared_max_value_are_named():
    """`schema-diff --write` widened the hour codes to 0..30; the identity ids still end at 23."""
    widened = schema_pb2.Schema()
    widened.CopyFrom(SCHEMA)
    tfdv.get_feature(widened, "trip_start_hour").int_domain.max = 30
    (problem,) = declaration_fit.mismatches(TAXI, widened)
    assert problem == ("feature 'trip_start_hour': the schema accepts codes up to 30 but dataset.yaml's "
                       "max_value is 23, so codes above it would share one unknown-code id: raise "
                       "max_value to 30 (or lower the schema's int_domain max)")


def test_a_feature_declared_numeric_that_the_schema_compares_by_value_shares_fits():
    """Integer numbers of few values are `is_categorical` in the schema (drift over their shares),
    read by the model as numbers: both hold together, as init drafts them."""
    features = tuple(Feature(f.name, Kind.NUMERIC) if f.name == "trip_start_hour" else f for f in TAXI.features)
    assert tfdv.get_feature(SCHEMA, "trip_start_hour").int_domain.is_categorical
    assert declaration_fit.mismatches(_with(features=features), SCHEMA) == []


def test_a_regression_label_on_text_or_a_missing_label_column_is_named():
    assert declaration_fit.mismatches(_with(label=Label("company", Task.REGRESSION)), SCHEMA) == [
        "label column 'company' must hold numbers for a regression label, but the schema holds "
        "text (BYTES)"]
    (missing,) = declaration_fit.mismatches(_with(label=Label("tip_share", Task.REGRESSION)), SCHEMA)
    assert missing.startswith("label column 'tip_share' is not a column of the schema")


def test_a_class_the_schema_accepts_but_the_declaration_lacks_is_named():
    """`schema-diff --write` can add a new label value to the schema's domain; a model that was not
    declared that class would train on it as an unknown label and fail in the Evaluator."""
    features = tuple(f for f in TAXI.features if f.name != "payment_type")
    payment = _with(features=features, label=Label(column="payment_type", task=Task.MULTICLASS,
                                                   classes=("Cash", "Credit Card", "Dispute", "No Charge")))
    (problem,) = declaration_fit.mismatches(payment, SCHEMA)
    assert problem.startswith("label column 'payment_type': the schema accepts 'Pcard', 'Prcard', "
                              "'Unknown', which dataset.yaml does not declare"), problem
    every_class = ("Cash", "Credit Card", "Dispute", "No Charge", "Pcard", "Prcard", "Unknown")
    declared = dataclasses.replace(payment, label=dataclasses.replace(payment.label, classes=every_class))
    assert declaration_fit.mismatches(declared, SCHEMA) == []


def test_a_class_label_typed_float_is_said_since_a_fraction_would_pass_as_a_class():
    """A 0/1 label written 0.0/1.0, typed FLOAT (by an earlier init): 0.5 passed the gate and trained
    as class 0. Said, not refused: changing the type starts a new contract."""
    floats = _with(label=Label("tips", Task.BINARY, classes=("0", "1")))
    assert declaration_fit.mismatches(floats, SCHEMA) == []
    note = declaration_fit.float_class_label(floats, SCHEMA)
    assert note.startswith("label column 'tips' is typed FLOAT in schema.pbtxt, so a fraction passes"), note
    assert "`type: INT` with `int_domain { min: 0 max: 1 is_categorical: true }`" in note
    assert "no baseline" in note
    assert declaration_fit.float_class_label(TAXI, SCHEMA) is None  # a derived label: computed, not read


def test_a_run_stops_before_any_component_when_they_disagree(tmp_path):
    folder = shutil.copytree(TAXI.folder, tmp_path / "taxi")
    declaration = folder / "dataset.yaml"
    declaration.write_text(declaration.read_text().replace("  fare: numeric\n",
                                                          "  fare: numeric\n  Colour: numeric\n"))
    config = PipelineConfig(dataset_dir=str(folder), work_dir=str(tmp_path / "work")).resolved()
    with pytest.raises(runner.PipelineFailed, match=r"(?s)declaration and its schema .* disagree:\n"
                                                    r"- feature 'Colour' is declared"):
        runner.check_inputs(config)


@pytest.mark.parametrize("column, mark", [("trip_miles", "lifecycle_stage: DEPRECATED"),
                                          ("tips", "deprecated: true")])
def test_a_declared_column_the_schema_marks_unread_is_named(column, mark):
    """TFDV's `update_schema` deprecates a column whose data changed type; Transform then does not
    read it and the run fails on a KeyError, so a run is refused before it starts."""
    marked = tfdv.load_schema_text(TAXI_SCHEMA)
    feature = tfdv.get_feature(marked, column)
    if mark.startswith("deprecated"):
        feature.deprecated = True
    else:
        feature.lifecycle_stage = schema_pb2.DEPRECATED
    (problem,) = declaration_fit.mismatches(TAXI, marked)
    assert problem.startswith(f"{'label ' if column == 'tips' else ''}column '{column}' is marked {mark}"), problem
    assert "remove that line" in problem
