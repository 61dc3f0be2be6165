"""Where a numeric column's misfit cells are: counted, and named by file and line."""
import pandas as pd
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from benchmarks import public_datasets
from schema import cell_lines, checks, csv_statistics, distances


def _penguins(tmp_path) -> pd.DataFrame:
    path = str(tmp_path / "penguins.csv")
    public_datasets.PENGUINS.write_csv(path)
    return pd.read_csv(path, keep_default_na=False, dtype=str)  # cells as written, `NA` included


def test_cells_that_are_not_numbers_are_counted_and_named_by_line(tmp_path):
    frame = _penguins(tmp_path)
    frame.loc[[10, 200, 201], "bill_length_mm"] = ["39,1", "n.a.", " "]
    frame.loc[100, "island"] = "Two\nLines"  # a quoted line break: the rows after it a line further
    frame.loc[50, "year"] = "2007.5"  # integers' column: a fraction does not fit
    frame.loc[60, "body_mass_g"] = "4,250"
    frame.loc[70, "bill_length_mm"] = "inf"  # a number to TFX's CSV reader, as `1_000` is
    frame.to_csv(tmp_path / "edited.csv", index=False)

    found = cell_lines.misfit_cells(str(tmp_path / "edited.csv"),
                                    {"bill_length_mm": schema_pb2.FLOAT, "year": schema_pb2.INT,
                                     "flipper_length_mm": schema_pb2.FLOAT}, missing_values=("", "NA"))
    # line = row + 2 (the header is line 1); `NA`, the file's own missing-value token, is no misfit
    assert found["bill_length_mm"].first == ["line 12: '39,1'", "line 203: 'n.a.'", "line 204: ' '"]
    assert found["bill_length_mm"].count == 3
    assert (found["year"].count, found["year"].first) == (1, ["line 52: '2007.5'"])
    # where a record starts, as `score` names lines: a misfit on a record spanning two lines
    frame.loc[120, ["island", "bill_depth_mm"]] = ["Three\nLines", "deep"]
    frame.to_csv(tmp_path / "spanning.csv", index=False)
    spanning = cell_lines.misfit_cells(str(tmp_path / "spanning.csv"), {"bill_depth_mm": schema_pb2.FLOAT},
                                       ("", "NA"))
    assert spanning["bill_depth_mm"].first == ["line 123: 'deep'"]
    assert found["flipper_length_mm"].count == 0
    assert "body_mass_g" not in found  # only the columns asked about are read


def test_in_a_folder_each_misfit_names_its_file(tmp_path):
    frame = _penguins(tmp_path)
    (tmp_path / "spans").mkdir()
    frame.iloc[:100].to_csv(tmp_path / "spans" / "a.csv", index=False)
    late = frame.iloc[100:].copy()
    late.iloc[4, late.columns.get_loc("bill_depth_mm")] = "deep"
    late.to_csv(tmp_path / "spans" / "b.csv", index=False)
    found = cell_lines.misfit_cells(str(tmp_path / "spans"), {"bill_depth_mm": schema_pb2.FLOAT}, ("", "NA"))
    assert found["bill_depth_mm"].first == ["b.csv line 6: 'deep'"]


def test_a_type_finding_is_one_problem_naming_the_cells_and_prints_nothing_else(tmp_path, capfd):
    """TFDV gives two reasons for text in a numeric column and, where the schema compares the column
    by JSD, a C++ warning on the terminal; the report tells it once, with the lines."""
    frame = _penguins(tmp_path)
    clean = str(tmp_path / "clean.csv")
    frame.to_csv(clean, index=False)
    curated = tfdv.infer_schema(csv_statistics.statistics_of_csv(clean, ("", "NA")))
    curated.default_environment.append("TRAINING")
    tfdv.get_feature(curated, "bill_length_mm").drift_comparator.jensen_shannon_divergence.threshold = 0.3
    frame.loc[99, "bill_length_mm"] = "unknown"
    edited = str(tmp_path / "edited.csv")
    frame.to_csv(edited, index=False)
    capfd.readouterr()

    found = checks.check_statistics(csv_statistics.statistics_of_csv(edited, ("", "NA")), curated,
                                    csv_statistics.statistics_of_csv(clean, ("", "NA")))
    (finding,) = cell_lines.located(found, edited, curated, ("", "NA"))
    assert (finding.feature, finding.problem) == ("bill_length_mm", checks.WRONG_TYPE)
    assert finding.detail.startswith("1 cell(s) are not numbers")
    assert finding.examples == ("line 101: 'unknown'",)
    assert "jensen_shannon" not in capfd.readouterr().err


def test_whole_numbers_written_as_floats_are_integers_and_only_fractions_are_a_type_problem(tmp_path):
    """A column of integers written `3750.0` (pandas does so once the column has a gap): read as its
    integers, as the pipeline reads it, only the gap is a problem; a fraction in it is a type
    problem that names that one cell."""
    frame = _penguins(tmp_path)
    clean = str(tmp_path / "clean.csv")
    frame.to_csv(clean, index=False)
    curated = tfdv.infer_schema(csv_statistics.statistics_of_csv(clean, ("", "NA")))
    curated.default_environment.append("TRAINING")
    tfdv.get_feature(curated, "body_mass_g").presence.min_fraction = 0.99
    masses = pd.to_numeric(frame["body_mass_g"], errors="coerce")  # NA: a gap, as pandas reads it
    frame["body_mass_g"] = masses.where(frame.index >= 10)  # ten more gaps
    whole = str(tmp_path / "whole.csv")
    frame.to_csv(whole, index=False)
    assert f"{masses[10]:.1f}" in open(whole, encoding="utf-8").read()

    def found_in(path):
        statistics = csv_statistics.statistics_of_csv(path, ("", "NA"), distances.stats_options(curated))
        return cell_lines.located(checks.check_statistics(statistics, curated), path, curated, ("", "NA"))
    assert {f.problem for f in found_in(whole) if f.feature == "body_mass_g"} == {"Missing values"}

    frame.loc[50, "body_mass_g"] = 3750.5
    frame.to_csv(whole, index=False)
    by_problem = {f.problem: f for f in found_in(whole) if f.feature == "body_mass_g"}
    assert set(by_problem) == {checks.WRONG_TYPE, "Missing values"}
    typed = by_problem[checks.WRONG_TYPE]
    assert typed.detail.startswith("1 cell(s) are fractions in a column of integers"), typed.detail
    assert typed.examples == ("line 52: '3750.5'",)
    assert "cell(s)" not in by_problem["Missing values"].detail


def test_a_float_column_exported_as_integers_is_read_as_floats(tmp_path):
    """Bill lengths trained as `39.1`, later exported rounded to whole millimetres (`.astype(int)`):
    TFDV would type them INT; read by the schema's type they are floats, and the gate sees no change
    of type (the values' drift is the drift check's to judge)."""
    frame = _penguins(tmp_path)
    clean = str(tmp_path / "clean.csv")
    frame.to_csv(clean, index=False)
    curated = tfdv.infer_schema(csv_statistics.statistics_of_csv(clean, ("", "NA")))
    curated.default_environment.append("TRAINING")
    assert tfdv.get_feature(curated, "bill_length_mm").type == schema_pb2.FLOAT
    lengths = pd.to_numeric(frame["bill_length_mm"], errors="coerce")
    frame["bill_length_mm"] = lengths.round().astype("Int64")
    rounded = str(tmp_path / "rounded.csv")
    frame.to_csv(rounded, index=False)
    as_data_says = checks.check_statistics(csv_statistics.statistics_of_csv(rounded, ("", "NA")), curated)
    assert [f.problem for f in as_data_says if f.feature == "bill_length_mm"] == [checks.WRONG_TYPE]
    statistics = csv_statistics.statistics_of_csv(rounded, ("", "NA"), distances.stats_options(curated))
    assert [f for f in checks.check_statistics(statistics, curated) if f.feature == "bill_length_mm"] == []
    (length,) = [f for f in statistics.datasets[0].features if f.path.step == ["bill_length_mm"]]
    assert length.type == statistics_pb2.FeatureNameStatistics.FLOAT


def test_codes_in_place_of_names_are_one_problem_said_as_such_and_print_nothing_else(tmp_path, capfd):
    """Species written 1, 2, 3: one type problem with what it likely is, not also TFDV's distinct-
    values jargon, and no C++ warning about a histogram (drift compared against the names)."""
    frame = _penguins(tmp_path)
    clean = str(tmp_path / "clean.csv")
    frame.to_csv(clean, index=False)
    compared = distances.stats_options
    curated = tfdv.infer_schema(csv_statistics.statistics_of_csv(clean, ("", "NA")))
    curated.default_environment.append("TRAINING")
    species = tfdv.get_feature(curated, "species")
    species.unique_constraints.min = 2
    species.drift_comparator.jensen_shannon_divergence.threshold = 0.1
    frame["species"] = frame["species"].map({"Adelie": "1", "Gentoo": "2", "Chinstrap": "3"})
    codes = str(tmp_path / "codes.csv")
    frame.to_csv(codes, index=False)
    capfd.readouterr()
    found = cell_lines.located(checks.check_statistics(
        csv_statistics.statistics_of_csv(codes, ("", "NA"), compared(curated)), curated,
        csv_statistics.statistics_of_csv(clean, ("", "NA"), compared(curated))), codes, curated, ("", "NA"))
    assert [(f.feature, f.problem, f.detail) for f in found] == [
        ("species", checks.WRONG_TYPE, cell_lines.NUMBERS_FOR_TEXT)]
    assert capfd.readouterr().err == ""


def test_values_past_a_columns_range_are_counted_and_named_by_line(tmp_path):
    """Five body masses in milligrams among 344 in grams: TFDV says only the largest; the lines say
    where each is."""
    frame = _penguins(tmp_path)
    clean = str(tmp_path / "clean.csv")
    frame.to_csv(clean, index=False)
    curated = tfdv.infer_schema(csv_statistics.statistics_of_csv(clean, ("", "NA")))
    curated.default_environment.append("TRAINING")
    mass = tfdv.get_feature(curated, "body_mass_g")
    mass.int_domain.min, mass.int_domain.max = 2000, 7000
    rows = [20, 100, 101, 200, 300]
    for row in rows:
        frame.loc[row, "body_mass_g"] = str(int(frame.loc[row, "body_mass_g"]) * 1000)
    milligrams = str(tmp_path / "milligrams.csv")
    frame.to_csv(milligrams, index=False)
    found = cell_lines.located(checks.check_statistics(csv_statistics.statistics_of_csv(milligrams, ("", "NA")),
                                                       curated), milligrams, curated, ("", "NA"))
    (past,) = [f for f in found if f.feature == "body_mass_g"]
    assert past.problem == cell_lines.OUT_OF_RANGE and past.detail.endswith(". 5 cell(s) above 7000")
    assert past.examples == tuple(f"line {row + 2}: '{frame.loc[row, 'body_mass_g']}'" for row in rows)


def test_each_side_of_a_range_names_its_own_cells_and_the_bounds_themselves_are_inside(tmp_path):
    """Bill lengths bounded by their own extremes, 32.1 and 59.6 (float32 in the schema, as the
    pipeline reads cells): those cells are inside; two lengths in centimetres fall below, three in
    tenths of a millimetre above, and each finding names its own."""
    frame = _penguins(tmp_path)
    clean = str(tmp_path / "clean.csv")
    frame.to_csv(clean, index=False)
    curated = tfdv.infer_schema(csv_statistics.statistics_of_csv(clean, ("", "NA")))
    curated.default_environment.append("TRAINING")
    lengths = pd.to_numeric(frame["bill_length_mm"], errors="coerce")
    bill = tfdv.get_feature(curated, "bill_length_mm")
    bill.float_domain.min, bill.float_domain.max = lengths.min(), lengths.max()
    assert {"32.1", "59.6"} <= set(frame["bill_length_mm"])
    for row in (10, 11):
        frame.loc[row, "bill_length_mm"] = f"{lengths[row] / 10:.2f}"
    for row in (20, 21, 22):
        frame.loc[row, "bill_length_mm"] = f"{lengths[row] * 10:.0f}"
    odd = str(tmp_path / "odd.csv")
    frame.to_csv(odd, index=False)
    found = cell_lines.located(checks.check_statistics(csv_statistics.statistics_of_csv(odd, ("", "NA")),
                                                       curated), odd, curated, ("", "NA"))
    sides = {f.detail.split(". ")[-1]: f.examples for f in found if f.feature == "bill_length_mm"}
    assert sides == {
        "2 cell(s) below 32.1": tuple(f"line {r + 2}: '{frame.loc[r, 'bill_length_mm']}'" for r in (10, 11)),
        "3 cell(s) above 59.6": tuple(f"line {r + 2}: '{frame.loc[r, 'bill_length_mm']}'" for r in (20, 21, 22))}


def test_fractions_in_an_integer_label_are_told_as_the_label_not_as_a_feature(tmp_path):
    """A 0/1 label with 0.5 in three rows: no feature advice (`numeric feature in dataset.yaml`)."""
    frame = _penguins(tmp_path)[["bill_length_mm", "year"]].copy()
    frame["label"] = (frame.index % 2).astype(int)
    clean = str(tmp_path / "clean.csv")
    frame.to_csv(clean, index=False)
    curated = tfdv.infer_schema(csv_statistics.statistics_of_csv(clean, ("", "NA")))
    curated.default_environment[:] = ["TRAINING", "SERVING"]
    tfdv.get_feature(curated, "label").not_in_environment.append("SERVING")
    frame["label"] = frame["label"].astype(float)
    frame.loc[[3, 4, 5], "label"] = 0.5
    halves = str(tmp_path / "halves.csv")
    frame.to_csv(halves, index=False)
    statistics = csv_statistics.statistics_of_csv(halves, ("", "NA"), distances.stats_options(curated))
    (typed,) = [f for f in cell_lines.located(checks.check_statistics(statistics, curated), halves, curated,
                                              ("", "NA")) if f.feature == "label"]
    assert typed.detail.startswith("3 cell(s) are fractions in the label's column of integers: correct them"), typed
    assert "feature in dataset.yaml" not in typed.detail
