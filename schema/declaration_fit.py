"""Does a dataset's declaration (`dataset.yaml`) fit its curated schema (`schema.pbtxt`)?

Both are edited by hand after `tfxpipe init`, and they can drift apart: a feature declared but
absent from the schema, or declared `numeric` where the schema holds text. Neither the data gate
(it checks data against the schema) nor TFX notices; Transform then fails on a KeyError or on
TensorFlow's "Cast string to float is not supported", many lines into a traceback. Checked before a
run starts, with what to change.
"""
from typing import List, Optional

from tensorflow_metadata.proto.v0 import schema_pb2

from models.dataset import Dataset, Feature, Kind, Task
from schema import descriptions, maintain

_TYPE_WORDS = {schema_pb2.BYTES: "text (BYTES)", schema_pb2.INT: "integers (INT)",
               schema_pb2.FLOAT: "numbers (FLOAT)"}
_NUMBERS = (schema_pb2.INT, schema_pb2.FLOAT)
# What a column of each type can be declared (INT feeds every kind).
_ADVICE = {schema_pb2.BYTES: "declare it categorical_string or hashed",
           schema_pb2.FLOAT: "declare it numeric, bucketized or hashed"}


def _needs(feature: Feature) -> tuple:
    """Schema types `feature` can be transformed from (models/preprocessing.py)."""
    kind, max_value = feature.kind, feature.max_value
    if kind is Kind.DATE:  # integers since 1970 in its unit, else text (models/calendar.py)
        return (schema_pb2.INT,) if feature.unit else (schema_pb2.BYTES,)
    if kind in (Kind.NUMERIC, Kind.BUCKETIZED):
        return _NUMBERS
    if kind is Kind.CATEGORICAL_INT and max_value is not None:
        return (schema_pb2.INT,)  # identity ids: the value is the id
    if kind is Kind.HASHED:
        return (schema_pb2.BYTES, *_NUMBERS)  # hashed as text
    return (schema_pb2.BYTES, schema_pb2.INT)  # TFT's vocabulary takes strings or integers


def mismatches(dataset: Dataset, schema: schema_pb2.Schema) -> List[str]:
    """One line per disagreement, naming the column and what to change; empty when they fit."""
    label_columns = set(dataset.label.source_columns)
    declared = label_columns | {feature.name for feature in dataset.features}
    types = {f.name: f.type for f in schema.feature}
    found = [f"{'label ' if f.name in label_columns else ''}column '{f.name}' is marked "
             f"{_stage(f)} in schema.pbtxt, so Transform would not read it: remove that line from "
             "its entry (and correct its data), or take it out of dataset.yaml"
             for f in schema.feature if f.name in declared and maintain.is_unread(f)]
    for feature in dataset.features:
        if feature.name not in types:
            found.append(f"feature '{feature.name}' is declared but is not a column of the schema: "
                         "add it to schema.pbtxt (and to the data) or remove it from dataset.yaml")
        elif types[feature.name] not in _needs(feature):
            advice = (f"{_ADVICE[types[feature.name]]}, or correct its type in the schema"
                      if types[feature.name] in _ADVICE else "give the column a type in schema.pbtxt")
            if feature.kind is Kind.DATE:
                advice = ("a date written as text has no `unit`; one written as integers since 1970 needs "
                          "one (seconds or milliseconds)")
            range_note = " with max_value" if feature.max_value is not None else ""
            found.append(f"feature '{feature.name}' is declared {feature.kind.value}{range_note} but "
                         f"the schema holds {_TYPE_WORDS.get(types[feature.name], 'no type')}: "
                         f"{advice}")
        elif feature.max_value is not None and types[feature.name] == schema_pb2.INT:
            domain = next(f for f in schema.feature if f.name == feature.name).int_domain
            if domain.HasField("max") and domain.max > feature.max_value:
                found.append(f"feature '{feature.name}': the schema accepts codes up to {domain.max} but "
                             f"dataset.yaml's max_value is {feature.max_value}, so codes above it would "
                             f"share one unknown-code id: raise max_value to {domain.max} (or lower the "
                             "schema's int_domain max)")
    label = dataset.label
    for column in label.source_columns:
        if column not in types:
            found.append(f"label column '{column}' is not a column of the schema: add it to "
                         "schema.pbtxt, or name the right column under `label:` in dataset.yaml")
        elif (label.task is Task.REGRESSION or label.derived) and types[column] not in _NUMBERS:
            found.append(f"label column '{column}' must hold numbers for a "
                         f"{'derived' if label.derived else 'regression'} label, but the schema "
                         f"holds {_TYPE_WORDS.get(types[column], 'no type')}")
    if label.classes_in_column and label.column in types:
        column = next(f for f in schema.feature if f.name == label.column)
        undeclared = [v for v in descriptions.domain_values(schema, column) if v not in label.classes]
        if undeclared:
            found.append(
                f"label column '{label.column}': the schema accepts {_quoted(undeclared)}, which "
                f"dataset.yaml does not declare (classes: {', '.join(label.classes)}); the model "
                "cannot learn a class it was not declared: remove the value from the label's domain "
                "in schema.pbtxt (the gate then refuses such rows), or add it to `classes` (more than "
                "two make a binary task multiclass) and run again")
    return found


def float_class_label(dataset: Dataset, schema: schema_pb2.Schema) -> Optional[str]:
    """What to change when the label's classes are numbers in a column the schema types FLOAT (as
    `init` drafted 0.0/1.0 before it read them as integers): a fraction then passes the gate and
    trains as a class. Said, not refused: the change starts a new contract (the served model parsed
    the label as floats, so it is no baseline for examples that carry it as integers)."""
    label = dataset.label
    column = next((f for f in schema.feature if f.name == label.column), None)
    if not label.classes_in_column or column is None or column.type != schema_pb2.FLOAT:
        return None
    codes = sorted(int(float(c)) for c in label.classes if _is_whole(c))
    domain = f"min: {codes[0]} max: {codes[-1]} " if codes else ""
    return (f"label column '{label.column}' is typed FLOAT in schema.pbtxt, so a fraction passes the gate and "
            "trains as a class (0.5 as 0): make it `type: INT` with `int_domain "
            f"{{ {domain}is_categorical: true }}` in place of its float_domain (classes written 1.0 are read "
            "as 1). The next model then starts a new contract: the served model, which read the label as "
            "floats, is no baseline for it")


def _is_whole(text: str) -> bool:
    try:
        return float(text).is_integer()
    except ValueError:
        return False


def _stage(feature: schema_pb2.Feature) -> str:
    if feature.lifecycle_stage:
        return f"lifecycle_stage: {schema_pb2.LifecycleStage.Name(feature.lifecycle_stage)}"
    return "deprecated: true"


def _quoted(values: List[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)
