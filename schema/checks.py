"""Checks data against the curated schema and says, per problem, what is wrong in plain words.

Two layers, shared by the pipeline's data gate and the `validate` command so both give one verdict:
- `csv_files.check_csv_path`: what TFX's CSV reader cannot even parse, and a header that does not
  match the schema's columns (schema/csv_files.py). Such files never reach CsvExampleGen.
- `check_statistics`: TFDV's validation of the statistics against the schema (types, presence,
  domains, ranges, new/dropped columns) and, given earlier data's statistics, drift with the
  schema's comparators. The schema is the one place where tolerances live.
"""
import dataclasses
import re
from typing import List, Optional, Sequence, Set, Tuple

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from schema import absent_classes, copied_values, descriptions, distances, rescaled

FILE = "(file)"  # `feature` of findings about a whole file


@dataclasses.dataclass(frozen=True)
class Finding:
    feature: str
    problem: str
    detail: str
    expected: str
    actual: str
    examples: Tuple[str, ...] = ()


class DataValidationError(RuntimeError):
    """Raised when data does not meet the schema; the message is the readable report."""


def expected_columns(schema: schema_pb2.Schema, environment: str = "TRAINING") -> List[str]:
    return [f.name for f in schema.feature if environment not in f.not_in_environment]


def optional_columns(schema: schema_pb2.Schema, read: Sequence[str]) -> List[str]:
    """Columns a file may leave out: those the model does not `read` (its features and label) whose
    presence the schema does not require (such as a row index `init` excluded)."""
    return [f.name for f in schema.feature if f.name not in read
            and not (f.presence.min_count or f.presence.min_fraction)]


def is_training_only(feature: Optional[schema_pb2.Feature]) -> bool:
    """The label: a column requests do not carry (the schema's SERVING environment leaves it out)."""
    return feature is not None and "SERVING" in feature.not_in_environment


def is_type_problem(finding: Finding, schema: schema_pb2.Schema) -> bool:
    """Cells of a numeric column that are not its numbers (text, or fractions in an INT column)."""
    feature = next((f for f in schema.feature if f.name == finding.feature), None)
    return finding.problem == WRONG_TYPE and feature is not None and feature.type in descriptions.NUMBER_TYPES


def check_statistics(
    statistics: statistics_pb2.DatasetFeatureStatisticsList,
    schema: schema_pb2.Schema,
    previous: Optional[statistics_pb2.DatasetFeatureStatisticsList] = None,
    environment: str = "TRAINING",
    classes: Sequence[str] = (),
) -> List[Finding]:
    """The data's findings against the curated `schema` (and drift against `previous`); `classes`:
    an integer label's declared classes where its range holds other values
    (`absent_classes.classes_to_check`)."""
    unchecked = distances.uncompared(schema, statistics, previous) if previous else set()
    compared = _as_compared(schema, environment, statistics, previous, unchecked=unchecked)
    anomalies = tfdv.validate_statistics(
        statistics, compared, environment=environment, previous_statistics=previous
    )
    label_checks = (new_label_copies(statistics, previous, schema) + missing_classes(statistics, previous, schema)
                    if previous and environment == "TRAINING" else [])
    found = _findings(anomalies, statistics, compared, previous)
    scaled = _rescaled(statistics, previous, compared, "drift_comparator", DRIFT, found) if previous else []
    unknown = unknown_classes(statistics, schema, classes) if classes and environment == "TRAINING" else []
    return found + scaled + label_checks + unknown


UNKNOWN_CLASS = "Not a declared class"


def unknown_classes(statistics: statistics_pb2.DatasetFeatureStatisticsList, schema: schema_pb2.Schema,
                    classes: Sequence[str]) -> List[Finding]:
    """Values of the integer label that are none of `classes` (schema/absent_classes.py)."""
    found = []
    for label in (f for f in schema.feature if is_training_only(f) and f.type == schema_pb2.INT):
        other = absent_classes.undeclared(statistics, label.name, classes)
        if other:
            found.append(Finding(
                label.name, UNKNOWN_CLASS,
                f"The label holds values that are none of its declared classes ({', '.join(classes)}): a model "
                "of those classes cannot learn them or be judged on them. If they are new classes, add them "
                "to `label: classes` in dataset.yaml (a model of the new classes is then trained); if they "
                "are errors, fix or drop those rows.",
                f"one of {', '.join(classes)}", f"{len(other)} other value(s)", tuple(other[:descriptions.MAX_EXAMPLES])))
    return found


DRIFT, SKEW = "between current and previous", "between training and serving"  # as TFDV titles them


def _rescaled(current, reference, compared: schema_pb2.Schema, comparator: str, between: str,
              found: List[Finding]) -> List[Finding]:
    """Numeric columns compared by `comparator` whose non-zero values moved by a unit's factor
    (schema/rescaled.py), but for those whose drift or skew was `found` already: told once, by what moved."""
    told = {f.feature for f in found if between in f.problem}
    names = [f.name for f in compared.feature
             if f.HasField(comparator) and not distances.is_categorical(f) and f.name not in told]
    return [Finding(name, f"{rescaled.PROBLEM} {between}", *said)
            for name, said in rescaled.rescaled(current, reference, names).items()]


TOO_FEW_ROWS = "Too few rows"
MIN_ROWS = 50  # to train and evaluate a model: `init` needs as many, and a span the gate passes too


def too_few_rows(rows: int) -> Finding:
    """The one finding for a span too small to train on: its other checks (values, drift) on so few
    rows would only be noise."""
    return Finding("(all columns)", TOO_FEW_ROWS,
                   f"The data holds {rows:,} row(s): too few to train a model and to evaluate it on held-out rows.",
                   f"at least {MIN_ROWS} rows", f"{rows:,} row(s)")


CLASS_MISSING = "Class missing"


def missing_classes(statistics: statistics_pb2.DatasetFeatureStatisticsList,
                    previous: statistics_pb2.DatasetFeatureStatisticsList,
                    schema: schema_pb2.Schema) -> List[Finding]:
    """A class of the label gone from the new data, which chance cannot explain (schema/absent_classes.py)."""
    found = []
    for label in (f for f in schema.feature if is_training_only(f)):
        gone = absent_classes.absent(statistics, previous, label.name, descriptions.known_values(label, schema))
        if gone:
            shares, rows = gone
            named = ", ".join(f"'{value}' ({share:.1%} of the rows before)" for value, share in shares.items())
            found.append(Finding(
                label.name, CLASS_MISSING,
                f"No row of {named} among {rows:,} rows: by chance, fewer than one such span in a million. "
                "Most often a filter or a join upstream dropped those rows. A model trained on them never "
                "predicts the class, and an eval split cut from them has none to show it.",
                "every class the previous span had", f"no row of {len(shares)} class(es)"))
    return found


COPIES_LABEL = "Copies the label"


def new_label_copies(statistics: statistics_pb2.DatasetFeatureStatisticsList,
                     previous: statistics_pb2.DatasetFeatureStatisticsList,
                     schema: schema_pb2.Schema) -> List[Finding]:
    """Columns that hold the label's own values in `statistics` (the same count, mean, spread,
    extremes and median, or the same count of every value) and did not in `previous`: a column
    overwritten by the label in an export or a join, from which a model learns the answer and then
    fails where it serves. Its drift alone may pass in small spans. TFDV compares no column with
    another, hence this check. Columns with two values or fewer (a binary label), or fewer than
    `copied_values.MIN_VALUES` values, are left out: theirs can match the label's by chance; so is a copy
    into a column of another type (a number written as text). A column that copied the label
    before too is `init`'s to name."""
    labels = [f.name for f in schema.feature if is_training_only(f)]
    return [Finding(name, COPIES_LABEL,
                    f"'{name}' holds the label's own values here (the same as '{label}' in every statistic) "
                    "and did not in the previous span: most often a column overwritten by the label in an "
                    "export or a join. A model trained on it learns the answer from the question.",
                    "values of its own", f"the values of '{label}'")
            for name, label in copied_values.new_copies(statistics, previous, labels)]


def _as_compared(schema: schema_pb2.Schema, environment: str,
                 *statistics: Optional[statistics_pb2.DatasetFeatureStatisticsList],
                 unchecked: Set[str] = frozenset()) -> schema_pb2.Schema:
    """`schema` less what does not apply: for columns whose data is of another type (numeric columns
    that hold text, text columns that hold numbers), the drift and skew comparators and the least
    number of distinct values (their type problem is what is wrong; TFDV, finding no histogram or no
    values counted to compare, would print a C++ warning to the terminal and a second, technical
    finding); at serving time, the least number of distinct values (a window of requests may all
    come from one segment, one island, one shop); the drift and skew comparators of `unchecked`
    columns (`distances.uncompared`)."""
    data_types = {(s.path.step[-1], s.type) for stats in statistics if stats for s in stats.datasets[0].features}
    retyped = {f.name for f in schema.feature if (
        (f.type in descriptions.NUMBER_TYPES and (f.name, statistics_pb2.FeatureNameStatistics.STRING) in data_types)
        or (f.type == schema_pb2.BYTES and any((f.name, t) in data_types for t in _NUMBER_STATISTICS)))}
    # An INT column with fractions: its FLOAT statistics count no distinct values (TFDV's comparator,
    # finding no histogram of its kind, only logs that natively, and finds nothing more)
    fractions = {f.name for f in schema.feature
                 if f.type == schema_pb2.INT and (f.name, statistics_pb2.FeatureNameStatistics.FLOAT) in data_types}
    serving = environment == "SERVING"
    if not retyped | fractions | unchecked and not (
            serving and any(f.HasField("unique_constraints") for f in schema.feature)):
        return schema
    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    for feature in result.feature:
        if feature.name in retyped | unchecked:
            feature.ClearField("drift_comparator")
            feature.ClearField("skew_comparator")
        if serving or feature.name in retyped | fractions:
            feature.ClearField("unique_constraints")
    return result


_NUMBER_STATISTICS = (statistics_pb2.FeatureNameStatistics.INT, statistics_pb2.FeatureNameStatistics.FLOAT)


def check_skew(
    serving: statistics_pb2.DatasetFeatureStatisticsList,
    training: statistics_pb2.DatasetFeatureStatisticsList,
    schema: schema_pb2.Schema,
) -> List[Finding]:
    """A sample of serving data (e.g. logged requests) against the schema's SERVING environment, and
    its distance to the training data with the schema's skew comparators."""
    unchecked = distances.uncompared(schema, serving, training)
    compared = _as_compared(schema, "SERVING", serving, training, unchecked=unchecked)
    skew = tfdv.validate_statistics(training, compared, environment="TRAINING", serving_statistics=serving)
    skew_only = [f for f in _findings(skew, serving, schema, training) if is_skew(f)]
    return (check_statistics(serving, schema, environment="SERVING") + skew_only
            + _rescaled(serving, training, compared, "skew_comparator", SKEW, skew_only))


def is_skew(finding: Finding) -> bool:
    return SKEW in finding.problem


def is_drift(finding: Finding) -> bool:
    return DRIFT in finding.problem


EMPTY_COLUMN = "Column empty"
OUT_OF_RANGE = "Out-of-range values"  # TFDV's name for values past a float_domain or int_domain
WRONG_TYPE = "Unexpected data type"
NOT_A_DATE = "Not a date"  # cells of a date feature written as text (schema/cell_lines.py)
NO_TIME = "Dates without a time"  # of a date feature whose parts include the hour (schema/date_cells.py)
# What TFDV adds to WRONG_TYPE when the cells are text ("String values that were not floats were
# found, such as ..."): told in the same finding, as one problem.
_TEXT_REASONS = (anomalies_pb2.AnomalyInfo.FLOAT_TYPE_STRING_NOT_FLOAT,
                 anomalies_pb2.AnomalyInfo.INT_TYPE_NOT_INT_STRING)
MISSING_VALUES = "Missing values"
# TFDV's aside on how its range messages round, glued to the numbers ("455000>910(upto six ...").
_UNSAID = re.compile(r"\s*\(upto six significant digits\)")


def _findings(anomalies, statistics: statistics_pb2.DatasetFeatureStatisticsList,
              schema: schema_pb2.Schema,
              before: Optional[statistics_pb2.DatasetFeatureStatisticsList] = None) -> List[Finding]:
    """One finding per anomaly reason; drift and skew say what moved from `before` to `statistics`."""
    dataset = statistics.datasets[0]
    by_name = {s.path.step[-1]: s for s in dataset.features}
    before_by_name = {s.path.step[-1]: s for s in before.datasets[0].features} if before else {}
    schema_features = {f.name: f for f in schema.feature}
    findings = []
    for key, info in sorted(anomalies.anomaly_info.items()):
        name = info.path.step[-1] if info.path.step else key  # keys quote names with spaces
        feature, stats = schema_features.get(name), by_name.get(name)
        actual, values = descriptions.actual(stats, dataset.num_examples)
        wrong_type = any(reason.short_description == WRONG_TYPE for reason in info.reason)
        text_said = " ".join(r.description for r in info.reason if r.type in _TEXT_REASONS)
        for reason in info.reason:
            if wrong_type and reason.type in _TEXT_REASONS:
                continue
            moved = reason.type in distances.COMPARATOR_TYPES
            problem, detail = reason.short_description, _UNSAID.sub("", reason.description)
            # TFDV titles both "Column dropped"; the header has the column (checked first).
            if reason.type == anomalies_pb2.AnomalyInfo.FEATURE_TYPE_LOW_FRACTION_PRESENT:
                problem, detail = MISSING_VALUES, ("Fewer rows have a value than the schema requires: "
                                                   "the others are empty (or a missing-value token); "
                                                   + ("every training row needs a label: fill in or "
                                                      "drop the others." if is_training_only(feature)
                                                      else "in requests, the feature left out."))
            elif reason.type == anomalies_pb2.AnomalyInfo.SCHEMA_NEW_COLUMN:  # TFDV's words repeat the title
                detail = ("A column the schema does not list: the model reads none by that name (a misspelt "
                          "feature, or one added upstream?)")
            elif reason.type == anomalies_pb2.AnomalyInfo.ENUM_TYPE_UNEXPECTED_STRING_VALUES:
                detail = descriptions.unlisted(detail, feature, schema, stats)
            elif problem == WRONG_TYPE and text_said:
                detail = f"{detail}. {text_said}"
            elif problem == "Column dropped":
                problem, detail = EMPTY_COLUMN, ("No row has a value: every cell is empty (or a "
                                                 "missing-value token); requests: never sent.")
            findings.append(Finding(
                feature=name,
                problem=problem,
                detail=(distances.what_moved(reason, before_by_name.get(name), stats,
                                             distances.measured(anomalies, name))
                        if moved else detail),
                expected=descriptions.expected(feature, schema),
                actual=actual,
                examples=(() if moved or problem == MISSING_VALUES  # no value is what is wrong
                          else descriptions.offending(feature, schema, stats, values, problem == OUT_OF_RANGE)),
            ))
    if anomalies.HasField("dataset_anomaly_info"):
        for reason in anomalies.dataset_anomaly_info.reason:
            findings.append(Finding(FILE, reason.short_description, reason.description,
                                    "schema's dataset constraints", f"{dataset.num_examples} rows"))
    return findings

