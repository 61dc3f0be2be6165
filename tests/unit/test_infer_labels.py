"""`tfxpipe init`'s label decisions (schema/infer.py): the task and classes from the label's values
(iris, whole numbers, 0/1 floats, 57 US states), unlearnable labels refused, classes too small named,
and features that copy the label named (schema/label_copies.py through init)."""
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

from benchmarks import public_datasets
from models import dataset as ds
from schema import checks, csv_statistics, distances, infer, label_copies
from tests.unit.drafting import crafted_frame, decision_on, feature_named, write_csv

pytestmark = pytest.mark.usefixtures("few_calibration_draws")


def test_classes_with_too_few_rows_to_learn_or_measure_are_named_with_their_counts(tmp_path):
    """palmerpenguins with all but 3 Chinstraps left out: init drafts the label and names the class
    whose eval split may hold none of its rows."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins().dropna()
    few = pd.concat([frame[frame["species"] != "Chinstrap"], frame[frame["species"] == "Chinstrap"].head(3)])
    draft = infer.infer(write_csv(tmp_path, few, "penguins.csv"), "species")
    assert decision_on(draft, "species") == (
        "species: label, multiclass with 3 classes (Adelie, Chinstrap, Gentoo; 1 class(es) with fewer "
        "than 5 rows, too few to learn or to measure: Chinstrap (3); merge them or gather more rows)")
    assert "fewer than" not in decision_on(infer.infer(write_csv(tmp_path, frame, "all.csv"), "species"), "species")


def test_integer_label_with_few_values_gets_classes_in_numeric_order(tmp_path):
    frame = crafted_frame(120).assign(outcome=np.resize([0, 2, 10], 120))
    draft = infer.infer(write_csv(tmp_path, frame), "outcome")
    assert draft.declaration["task"] == "multiclass"
    assert draft.declaration["label"]["classes"] == ["0", "2", "10"]
    label = feature_named(draft, "outcome")
    assert (label.int_domain.min, label.int_domain.max) == (0, 10)


def test_integer_label_with_many_values_is_a_regression_target(tmp_path):
    frame = crafted_frame(120).assign(outcome=np.arange(120) % 40)
    draft = infer.infer(write_csv(tmp_path, frame), "outcome", name="counts")
    assert draft.declaration["task"] == "regression" and "classes" not in draft.declaration["label"]
    assert draft.declaration["name"] == "counts"
    assert ds.parse(draft.declaration).task is ds.Task.REGRESSION


def test_iris_is_multiclass_with_three_classes_and_four_numeric_features(tmp_path):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    iris = sklearn_datasets.load_iris(as_frame=True).frame
    draft = infer.infer(write_csv(tmp_path, iris, "iris.csv"), "target")
    assert draft.declaration["task"] == "multiclass"
    assert draft.declaration["label"]["classes"] == ["0", "1", "2"]
    assert draft.declaration["features"] == {c: {"kind": "numeric"} for c in iris.columns[:4]}
    assert draft.declaration["excluded"] == {}
    ds.parse(draft.declaration)


def test_few_whole_number_labels_are_classes_written_as_integers_or_floats_and_init_says_how_to_switch(tmp_path):
    """statsmodels writes every column as floats: iris' species codes 0.0/1.0/2.0 are the classes they
    are as 0/1/2; 25 distinct flipper lengths are a quantity. Either guess names the other --task."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    palmerpenguins = pytest.importorskip("palmerpenguins")
    iris = sklearn_datasets.load_iris(as_frame=True).frame
    iris["target"] = iris["target"].astype(float)
    draft = infer.infer(write_csv(tmp_path, iris, "iris.csv"), "target")
    assert (draft.declaration["task"], draft.declaration["label"]["classes"]) == ("multiclass", ["0", "1", "2"])
    assert "target: label, multiclass with 3 classes (0, 1, 2; --task regression if they are a quantity)" \
        in draft.decisions
    penguins = palmerpenguins.load_penguins()
    gentoo = penguins[penguins["species"] == "Gentoo"].dropna()
    draft = infer.infer(write_csv(tmp_path, gentoo.drop(columns=["species", "island"]), "gentoo.csv"),
                        "flipper_length_mm")
    assert draft.declaration["task"] == "regression"
    assert "flipper_length_mm: label, regression (numbers from 203 to 231; 25 whole values: --task " \
           "multiclass if they are classes)" in draft.decisions


def test_a_0_1_label_written_as_floats_is_binary_and_other_float_labels_regression(tmp_path):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    cancer = sklearn_datasets.load_breast_cancer(as_frame=True).frame
    cancer = cancer[["mean radius", "mean texture", "mean smoothness", "target"]].copy()  # faster
    cancer["target"] = cancer["target"].astype(float)  # written 0.0 / 1.0
    path = write_csv(tmp_path, cancer, "cancer.csv")
    draft = infer.infer(path, "target")
    assert (draft.declaration["task"], draft.declaration["label"]["classes"]) == ("binary", ["0", "1"])
    assert "target: label, binary with 2 classes (0, 1)" in draft.decisions  # no --task hint for 0/1
    # classes written 1.0 are read as 1: the label is INT, so a fraction is a type change, not class 0
    label = tfdv.get_feature(draft.schema, "target")
    assert label.type == schema_pb2.INT and label.int_domain.is_categorical
    assert (label.int_domain.min, label.int_domain.max) == (0, 1)

    def statistics(file):
        return csv_statistics.statistics_of_csv(file, ("",), distances.stats_options(draft.schema))

    drafted_from = statistics(path)
    assert checks.check_statistics(drafted_from, draft.schema) == []
    # the class balance changed (63 % -> 16 % ones): the classes' shares say it
    shifted = pd.concat([cancer[cancer["target"] == 0], cancer[cancer["target"] == 1].head(40)])
    moved = checks.check_statistics(statistics(write_csv(tmp_path, shifted, "shifted.csv")), draft.schema, drafted_from)
    drift = next(f.detail for f in moved if f.feature == "target" and checks.is_drift(f))
    ones, zeros = (f"'1' in {cancer['target'].mean():.1%} -> {shifted['target'].mean():.1%} of rows",
                   f"'0' in {1 - cancer['target'].mean():.1%} -> {1 - shifted['target'].mean():.1%} of rows")
    assert ones in drift or zeros in drift, drift  # both moved as much
    halves = cancer.copy()
    halves.loc[halves.index[:3], "target"] = 0.5
    typed = checks.check_statistics(statistics(write_csv(tmp_path, halves, "halves.csv")), draft.schema)
    assert [f.problem for f in typed if f.feature == "target"] == [checks.WRONG_TYPE], typed
    cancer["target"] = cancer["target"] * 2 + cancer["mean radius"] / 100  # a quantity
    assert infer.infer(write_csv(tmp_path, cancer, "cancer.csv"), "target").declaration["task"] == "regression"


def test_a_label_missing_as_a_word_pandas_reads_as_a_value_gets_the_line_that_reads_it_as_missing(tmp_path):
    frame = crafted_frame(120)
    frame["outcome"] = np.resize(["yes", "no", "?"], 120)
    with pytest.raises(infer.InitError, match=r"pd\.read_csv\(FILE, na_values=\['\?'\]\)\.dropna\(subset=\['outcome'\]\)"):
        infer.infer(write_csv(tmp_path, frame), "outcome", missing=["?"])


@pytest.mark.parametrize("column, values, task, message", [
    ("outcome", None, "auto", r"'nope' is not in .*; its columns: 'sample_id', 'recorded', 'weight'"),
    ("", None, "auto", r"--label is empty: name the column the model predicts"),
    ("outcome", ["same"], "auto", r"label 'outcome' has one value \('same'\)"),
    ("outcome", ["yes", "no"], "regression", r"--task regression needs a numeric label"),
    ("outcome", ["yes", "no", ""], "auto", r"missing in 40 of 120 rows: every training row needs a label.*dropna\(subset=\['outcome'\]\)"),
    ("outcome", [f"c{i}" for i in range(110)], "multiclass", r"110 distinct values.*--task regression"),
    ("outcome", ["yes", "no", "maybe"], "binary", r"--task binary needs a label with two values"),
])
def test_unlearnable_labels_are_refused_with_what_to_do(tmp_path, column, values, task, message):
    frame = crafted_frame(120)
    if values is not None:
        frame[column] = np.resize(values, 120)
    elif column:
        column = "nope"
    with pytest.raises(infer.InitError, match=message):
        infer.infer(write_csv(tmp_path, frame), column, task=task)


def test_a_label_of_57_us_states_is_classes_and_a_state_written_na_may_mean_no_value(tmp_path):
    """vega_datasets' airports: `state` holds 57 states and territories, and `NA` where an airport
    has none, in `city` too. Text columns may hold `NA` as a value, so init reads it as one and says
    how to read it as missing; a label of thousands of values (`city`) is no classes."""
    import vega_datasets  # pylint: disable=import-outside-toplevel

    path = shutil.copy(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "airports.csv"), tmp_path)
    draft = infer.infer(path, "state")
    assert draft.declaration["task"] == "multiclass" and len(draft.declaration["label"]["classes"]) == 57
    assert "NA" in draft.declaration["label"]["classes"] and "NA" not in draft.declaration["missing_values"]
    assert "missing values: 'NA' read as a value in 'city', 'state' (text): if it means no value there, run init " \
           "again with --missing-value 'NA' (rows without a label are then to be dropped or filled)" in draft.decisions
    with pytest.raises(infer.InitError, match=r"label 'state' is missing in 12 of 3376 rows"):
        infer.infer(path, "state", missing=["NA"])
    with pytest.raises(infer.InitError, match=r"label 'city' has (about )?\d+ distinct values, more than 100 classes"):
        infer.infer(path, "city")


def test_a_numeric_label_measured_again_in_other_features_is_named_as_copied_by_them(tmp_path):
    """scikit-learn's breast cancer tumours: the mean area is πr² of the mean radius and grows with
    the mean perimeter. As the label, the radius is the label on another scale (in its order in
    every row): excluded, with the reason; the perimeter is named; the worst area (rank correlation
    0.98, a different measurement) is not, nor is any feature for the diagnosis."""
    path = str(tmp_path / "breast_cancer.csv")
    public_datasets.BREAST_CANCER.write_csv(path)
    by_area = infer.infer(path, "mean area", name="tumour_area")
    assert "mean radius" not in by_area.declaration["features"]
    assert by_area.declaration["excluded"]["mean radius"].startswith(
        "the label in another unit or scale (rank correlation +1.000): known only with it")
    assert "mean radius: excluded, the label in another unit or scale" in "\n".join(by_area.decisions)
    [check] = by_area.checks
    assert check.startswith("'mean perimeter' (rank correlation +0.997) predicts the label nearly perfectly on "
                            "its own. Where a feature's value is known only with or after the label")
    assert "move it from `features` to `excluded` in dataset.yaml" in check
    assert "'worst area'" not in check
    infer.write(by_area, str(tmp_path / "tumour_area"), path)
    with open(tmp_path / "tumour_area" / "dataset.yaml", encoding="utf-8") as f:
        assert f"# Check: {check}\n" in f.read()
    assert infer.infer(path, "diagnosis").checks == []


@pytest.mark.parametrize("label, source, derive", [
    ("heavy", "body_mass_g", lambda f: np.where(f["body_mass_g"].astype(float) > 4000, "yes", "no")),
    ("adelie", "species", lambda f: np.where(f["species"] == "Adelie", "yes", "no")),
], ids=["from-a-number", "from-a-category"])
def test_a_label_derived_from_a_column_the_csv_keeps_names_that_column(tmp_path, penguins_draft, label, source, derive):
    """A binary label made from a kept column (heavier than 4 kg; Adelie or not) is predicted by that
    column alone on held-out rows; palmerpenguins' own species label is copied by no column."""
    _, frame, draft = penguins_draft
    assert draft.checks == []
    frame = frame[frame["body_mass_g"] != "NA"].copy()
    frame[label] = derive(frame)
    [check] = infer.infer(write_csv(tmp_path, frame), label).checks
    assert check.startswith(f"{source!r} (accuracy 1.000 on held-out rows, 0.5")
    assert "predicts the label nearly perfectly" in check


def test_a_copy_is_not_told_from_the_few_rows_where_a_feature_is_present(tmp_path):
    """Any 3 rows rank-correlate perfectly: the mean radius present in 40 tumours says nothing."""
    path = str(tmp_path / "breast_cancer.csv")
    public_datasets.BREAST_CANCER.write_csv(path)
    frame = pd.read_csv(path, dtype=str)
    features = {"mean radius": {"kind": "numeric"}}
    assert [c.column for c in label_copies.label_copies(path, "mean area", "regression", features, [""], 569)] == \
        ["mean radius"]
    frame.loc[40:, "mean radius"] = ""
    sparse = write_csv(tmp_path, frame, "sparse.csv")
    assert label_copies.label_copies(sparse, "mean area", "regression", features, [""], 569) == []


def test_a_column_filled_in_only_for_one_class_is_named_by_where_it_is_missing(tmp_path, penguins_draft):
    """Gentoo penguins' body mass kept, the others' left empty, as a record filled in only once the
    outcome is known: among the rows where it is present, every penguin is a Gentoo, so only its
    missing cells tell the classes apart; they are one more value, not rows left out."""
    _, frame, _ = penguins_draft
    frame = frame.copy()
    frame["gentoo_mass"] = np.where(frame["species"] == "Gentoo", frame["body_mass_g"], "NA")
    frame.loc[frame["gentoo_mass"] == "NA", "gentoo_mass"] = ""
    frame["gentoo"] = np.where(frame["species"] == "Gentoo", "yes", "no")
    frame = frame.drop(columns=["species", "body_mass_g"])
    copies = label_copies.label_copies(write_csv(tmp_path, frame), "gentoo", "binary",
                                       {"gentoo_mass": {"kind": "numeric"}, "island": {"kind": "categorical_string"}},
                                       ["", "NA"], len(frame))
    majority = (frame["gentoo"] == "no").mean()
    assert [c.column for c in copies] == ["gentoo_mass"]
    assert copies[0].score.startswith("accuracy 1.000 on held-out rows, 0.")
    assert abs(float(copies[0].score.rsplit(", ", 1)[1].split()[0]) - majority) < 0.1


def test_a_file_sorted_by_its_label_is_sampled_over_all_its_rows(tmp_path, monkeypatch):
    """Tumours sorted by diagnosis, 212 malignant first, and a sample of 150 rows: read from the top,
    the sample would hold one class, which every feature "predicts". Drawn over the file, no feature
    copies the diagnosis; a file of one class gets no check at all."""
    path = str(tmp_path / "breast_cancer.csv")
    public_datasets.BREAST_CANCER.write_csv(path)
    frame = pd.read_csv(path, dtype=str).sort_values("diagnosis")
    features = {c: {"kind": "numeric"} for c in frame.columns if c != "diagnosis"}
    monkeypatch.setattr(label_copies, "SAMPLE_ROWS", 150)
    by_label = write_csv(tmp_path, frame, "sorted.csv")
    drawn = label_copies.sample(by_label, ["diagnosis", "mean radius"], [""], len(frame))["diagnosis"]
    assert 100 < len(drawn) < 200 and 0.25 < (drawn == "malignant").mean() < 0.5
    assert label_copies.label_copies(by_label, "diagnosis", "binary", features, [""], len(frame)) == []
    one_class = write_csv(tmp_path, frame[frame["diagnosis"] == "malignant"], "malignant.csv")
    assert label_copies.label_copies(one_class, "diagnosis", "binary", features, [""], 212) == []


def test_classes_written_in_two_cases_are_named_for_a_check_and_the_line_given_joins_them(tmp_path):
    """palmerpenguins with the Dream island's species written in lower case, as a second source might:
    Adelie there, written twice, is named by init's checks; the pandas line it gives joins them."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    frame = palmerpenguins.load_penguins().dropna()
    dream = frame["island"] == "Dream"
    frame.loc[dream, "species"] = frame.loc[dream, "species"].str.lower()
    draft = infer.infer(write_csv(tmp_path, frame, "penguins.csv"), "species")
    assert draft.declaration["label"]["classes"] == ["Adelie", "Gentoo", "adelie", "chinstrap"]
    [check] = [line for line in draft.checks if line.startswith("label 'species'")]
    assert check.startswith("label 'species': classes 'Adelie' and 'adelie' differ only in case or spaces: one "
                            "class written two ways? The model learns them as different classes.")
    frame["species"] = frame["species"].str.strip().str.lower()  # the line given
    draft = infer.infer(write_csv(tmp_path, frame, "joined.csv"), "species")
    assert draft.declaration["label"]["classes"] == ["adelie", "chinstrap", "gentoo"]
    assert not [line for line in draft.checks if line.startswith("label 'species'")]


def test_fractional_class_codes_are_told_how_to_become_classes_and_a_yearly_figure_gets_no_class_hint(tmp_path):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    iris = sklearn_datasets.load_iris(as_frame=True).frame
    iris["target"] = iris["target"] / 2 + 0.5  # codes 0.5, 1.0, 1.5
    with pytest.raises(infer.InitError, match=r"holds fractional numbers, not classes: use --task regression; "
                                              r"if they are names of classes, write them as text") as refused:
        infer.infer(write_csv(tmp_path, iris, "iris.csv"), "target", task="multiclass")
    assert "`df['target'] = 'class ' + df['target'].astype(str)`" in str(refused.value)
    iris["target"] = "class " + iris["target"].astype(str)  # the line given
    draft = infer.infer(write_csv(tmp_path, iris, "named.csv"), "target", task="multiclass")
    assert draft.declaration["label"]["classes"] == ["class 0.5", "class 1.0", "class 1.5"]
    # Iowa's yearly net generation by source: 51 whole numbers, each once, a quantity, no classes to offer
    vega = pytest.importorskip("vega_datasets")
    iowa = pd.read_csv(os.path.join(os.path.dirname(vega.__file__), "_data", "iowa-electricity.csv"))
    draft = infer.infer(write_csv(tmp_path, iowa, "iowa.csv"), "net_generation")
    assert draft.declaration["task"] == "regression"
    assert "--task multiclass" not in decision_on(draft, "net_generation")
