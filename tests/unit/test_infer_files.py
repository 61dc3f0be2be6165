"""The files `tfxpipe init` reads and refuses (schema/infer.py): Excel's and R's CSVs, pandas' index
column, folders and spans, bounded cell counts, words among numbers, numbers written for people,
infinite numbers, UTF-16, ragged rows, files not comma-separated, a category collapsed to one
value, missing data, an unknown task, an existing dataset folder, too few rows."""
import csv
import os

import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

from benchmarks import public_datasets
from models import dataset as ds
from schema import cell_counts, checks, columns, csv_files, csv_statistics, distances, infer, written_numbers
from tests.unit.drafting import crafted_frame, feature_named, write_csv

pytestmark = pytest.mark.usefixtures("few_calibration_draws")


def test_a_folder_is_read_as_one_dataset_named_after_it(tmp_path):
    folder = tmp_path / "Two Parts"
    folder.mkdir()
    frame = crafted_frame(60)
    write_csv(folder, frame[:30], "a.csv")  # 30 rows each: too few alone, enough together
    write_csv(folder, frame[30:], "b.csv")
    draft = infer.infer(str(folder), "outcome")
    assert draft.declaration["name"] == "two_parts"
    assert "sample_id: excluded, ID-like (60 distinct values in 60 rows)" in draft.decisions


def test_too_few_rows_are_refused(tmp_path):
    with pytest.raises(infer.InitError, match="too few rows: .* has 49, at least 50"):
        infer.infer(write_csv(tmp_path, crafted_frame(49)), "outcome")


@pytest.mark.all_draws  # compared with the `penguins_draft`, made with all draws
def test_a_csv_saved_by_excel_or_r_drafts_the_same_dataset_as_the_plain_file(tmp_path, penguins_draft):
    """Excel's "CSV UTF-8" starts with a byte-order mark and ends lines with CRLF; R's write.csv
    quotes every name and string. The mark must not become part of the first column's name."""
    _, frame, plain = penguins_draft
    frame.to_csv(tmp_path / "saved.csv", index=False, encoding="utf-8-sig", lineterminator="\r\n",
                 quoting=csv.QUOTE_NONNUMERIC)
    saved = infer.infer(str(tmp_path / "saved.csv"), "species", name="penguins")
    assert saved.declaration == plain.declaration and saved.schema == plain.schema
    assert saved.decisions == plain.decisions


@pytest.mark.all_draws  # compared with the `penguins_draft`, made with all draws
def test_a_draft_from_bounded_cell_counts_equals_the_draft_from_every_value_counted(penguins_draft, monkeypatch):
    """Past `COUNTED` distinct values a column is estimated (a large file in bounded memory): with
    20 counted, every penguin measurement is, and `NA` cells past them must still read as missing."""
    path, _, exact = penguins_draft
    monkeypatch.setattr(cell_counts, "COUNTED", 20)
    bounded = infer.infer(path, "species", name="penguins")
    assert bounded.declaration == exact.declaration and bounded.schema == exact.schema
    assert bounded.decisions == exact.decisions


def test_an_unnamed_index_column_as_pandas_writes_it_is_excluded_and_the_rest_drafted_alike(
        tmp_path, penguins_draft):
    _, frame, plain = penguins_draft
    frame.to_csv(tmp_path / "indexed.csv")  # index=True: an unnamed first column
    indexed = infer.infer(str(tmp_path / "indexed.csv"), "species", name="penguins")
    assert indexed.declaration["features"] == plain.declaration["features"]
    assert indexed.declaration["excluded"] == {"": columns.UNNAMED_REASON}
    assert f"(unnamed column): excluded, {columns.UNNAMED_REASON}" in indexed.decisions
    dataset = ds.parse(indexed.declaration)
    infer.write(indexed, str(tmp_path / "drafted"), str(tmp_path / "indexed.csv"))
    written = (tmp_path / "drafted" / ds.DECLARATION_FILE).read_text(encoding="utf-8")
    assert "\n  '': 'unnamed: " in written and "? ''" not in written  # a plain key, as users write
    assert ds.load(str(tmp_path / "drafted")).excluded == {"": columns.UNNAMED_REASON}
    # the same rows saved without the index (to_csv(index=False)) meet the draft, header and statistics
    plain_path = str(tmp_path / "plain.csv")
    frame.to_csv(plain_path, index=False)
    optional = checks.optional_columns(indexed.schema, dataset.read_columns())
    assert optional == [""]
    assert csv_files.check_csv_file(plain_path, checks.expected_columns(indexed.schema), "penguins", optional) == []
    assert checks.check_statistics(csv_statistics.statistics_of_csv(
        plain_path, ("", "NA"), tfdv.StatsOptions(schema=indexed.schema, infer_type_from_schema=True)),
        indexed.schema) == []
    without_mass = str(tmp_path / "no_mass.csv")
    frame.drop(columns="body_mass_g").to_csv(without_mass, index=False)  # a feature stays required
    assert [f.feature for f in csv_files.check_csv_file(
        without_mass, checks.expected_columns(indexed.schema), "penguins", optional)] == ["body_mass_g"]


def test_a_comma_at_the_end_of_every_line_makes_an_empty_unnamed_column_that_is_excluded(
        tmp_path, penguins_draft):
    path, _, plain = penguins_draft
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    (tmp_path / "trailing.csv").write_text("".join(line + ",\n" for line in lines), encoding="utf-8")
    trailing = infer.infer(str(tmp_path / "trailing.csv"), "species", name="penguins")
    assert trailing.declaration["features"] == plain.declaration["features"]
    assert trailing.declaration["excluded"] == {"": columns.UNNAMED_EMPTY_REASON}


def test_a_file_that_is_not_comma_separated_is_refused_naming_the_file_once(tmp_path):
    public_datasets.PENGUINS.write_csv(str(tmp_path / "comma.csv"))
    path = str(tmp_path / "penguins.csv")
    pd.read_csv(tmp_path / "comma.csv").to_csv(path, sep=";", index=False)
    with pytest.raises(infer.InitError) as refused:
        infer.infer(path, "species")
    assert str(refused.value) == ("penguins.csv is not comma-separated (one column; ';' separates the "
                                  "header); expected comma-separated columns (convert it, e.g. with "
                                  "pandas: pd.read_csv(FILE, sep=';').to_csv(NEW_FILE, index=False), "
                                  "adding decimal=',' for numbers written 3,14): fix the file")
    (tmp_path / "folder").mkdir()  # in a folder of files, moving it out is a way too
    os.replace(path, tmp_path / "folder" / "b.csv")
    public_datasets.PENGUINS.write_csv(str(tmp_path / "folder" / "a.csv"))
    with pytest.raises(infer.InitError, match=r"^b\.csv is not comma-separated .*: fix the file or move it out "
                                              r"of the data folder$"):
        infer.infer(str(tmp_path / "folder"), "species")


@pytest.mark.parametrize("make, message", [
    (lambda tmp: str(tmp / "absent.csv"), "does not exist"),
    (lambda tmp: str(tmp), "holds no CSV files"),
])
def test_missing_data_is_refused(tmp_path, make, message):
    with pytest.raises(infer.InitError, match=message):
        infer.infer(make(tmp_path), "outcome")


def test_unknown_task_is_refused_with_the_choices(tmp_path):
    with pytest.raises(infer.InitError, match="unknown task 'ranking': use one of auto, binary"):
        infer.infer(write_csv(tmp_path, crafted_frame(60)), "outcome", task="ranking")


def test_a_few_words_among_numbers_are_named_by_line_not_drafted_as_text(tmp_path, penguins_draft):
    """One decimal comma or one `n.a.` would make a measurement a text column (hashed, each number a
    category): init names the cells; a word for "no value" is then passed as --missing-value."""
    _, frame, plain = penguins_draft
    frame = frame.copy()
    frame.loc[10, "bill_length_mm"] = "39,1"
    frame.loc[[20, 30], "body_mass_g"] = "n.a."
    path = write_csv(tmp_path, frame, "penguins.csv")
    with pytest.raises(infer.InitError) as refused:
        infer.infer(path, "species")
    message = str(refused.value)
    assert message.startswith("2 column(s) hold numbers but for a few cells"), message
    assert "'bill_length_mm': 1 cell(s), line 12: '39,1'; 'body_mass_g': 2 cell(s), line 22: 'n.a.', " \
           "line 32: 'n.a.'" in message
    assert "--missing-value WORD" in message

    frame.loc[10, "bill_length_mm"] = "39.1"
    draft = infer.infer(write_csv(tmp_path, frame, "penguins.csv"), "species", name="penguins", missing=["n.a."])
    assert draft.declaration["missing_values"] == ["", "NA", "n.a."]  # NA still found beside the word
    assert draft.declaration["features"] == plain.declaration["features"]
    assert "missing values: 'n.a.' read as missing (--missing-value)" in draft.decisions


def test_text_columns_with_some_numbers_are_drafted_as_text(tmp_path):
    """palmerpenguins' raw table: sample numbers, comments and IDs mix words and numbers on purpose."""
    path = str(tmp_path / "raw.csv")
    public_datasets.PENGUINS_RAW.write_csv(path)
    draft = infer.infer(path, "Species")
    assert draft.declaration["features"]  # drafted, not refused


def test_init_into_an_existing_dataset_folder_is_refused_before_reading_the_data(tmp_path, capsys):
    from cli import main as cli  # pylint: disable=import-outside-toplevel

    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / ds.DECLARATION_FILE).write_text("name: taken\n")
    assert cli.main(["init", str(tmp_path / "absent.csv"), "--label", "y", "--out", str(tmp_path / "taken")]) == 1
    out = capsys.readouterr().out
    assert "dataset.yaml already exists" in out and "Drafting" not in out and "does not exist" not in out


def test_two_folders_drafted_from_one_file_are_named_after_their_folders(tmp_path, capsys):
    """Two labels of one file: two datasets, so two pipelines, each with its runs and served model
    (named after the file, both would compare a species model with the served island one)."""
    from cli import main as cli  # pylint: disable=import-outside-toplevel

    path = str(tmp_path / "penguins.csv")
    public_datasets.PENGUINS.write_csv(path)
    for label in ("species", "island"):
        assert cli.main(["init", path, "--label", label, "--out", str(tmp_path / f"by_{label}")]) == 0
        assert f"Dataset 'by_{label}' (multiclass, label '{label}')" in capsys.readouterr().out
    assert [ds.load(str(tmp_path / f"by_{label}")).name for label in ("species", "island")] == \
        ["by_species", "by_island"]


def test_a_folder_of_spans_is_drafted_from_its_newest_span_and_declared_whole(tmp_path, capsys):
    """The layout a run reads (`span-N/` folders): init drafts from the newest span, as a run trains
    on it, and declares the whole folder as the data."""
    from cli import main as cli  # pylint: disable=import-outside-toplevel

    frame = pd.read_csv(public_datasets.PENGUINS.write_folder(str(tmp_path / "raw")) + "/penguins.csv",
                        keep_default_na=False, dtype=str)
    for span, part in ((1, frame[:172]), (2, frame[172:])):
        (tmp_path / "data" / f"span-{span}").mkdir(parents=True)
        part.to_csv(tmp_path / "data" / f"span-{span}" / "penguins.csv", index=False)
    assert cli.main(["init", str(tmp_path / "data"), "--label", "species", "--out", str(tmp_path / "spans")]) == 0
    assert f"Drafting a dataset from {tmp_path / 'data' / 'span-2'}" in capsys.readouterr().out
    assert ds.load(str(tmp_path / "spans")).data == str(tmp_path / "data")


def test_a_category_collapsed_to_one_value_is_refused_where_drift_cannot_tell(tmp_path, penguins_draft):
    """Every penguin from one island (a broken export): the draft's least number of distinct values
    refuses it, whether or not the island's drift threshold is checked on 344 rows; a column whose
    eval split could hold one value by chance (one value in 99 % of rows) gets no such floor."""
    path, frame, draft = penguins_draft
    several = {f.name for f in draft.schema.feature if f.unique_constraints.min == 2}
    assert several == {"island", "species", "sex"}, several
    collapsed = frame.assign(island="Biscoe")
    statistics = csv_statistics.statistics_of_csv(write_csv(tmp_path, collapsed), ("", "NA"),
                                                  tfdv.StatsOptions(schema=draft.schema, infer_type_from_schema=True))
    found = checks.check_statistics(statistics, draft.schema)
    assert [(f.feature, f.problem) for f in found] == [("island", "Low number of unique values")], found
    assert "at least 2 distinct values" in found[0].expected
    # a window of requests may all come from one island: not checked at serving time
    requests = csv_statistics.statistics_of_csv(write_csv(tmp_path, collapsed.drop(columns="species"), "requests.csv"),
                                                ("", "NA"), distances.stats_options(draft.schema))
    assert checks.check_statistics(requests, draft.schema, environment="SERVING") == []
    assert checks.check_statistics(csv_statistics.statistics_of_csv(
        path, ("", "NA"), tfdv.StatsOptions(schema=draft.schema, infer_type_from_schema=True)), draft.schema) == []

    mostly_one = frame.assign(island=["Torgersen" if i % 100 == 0 else "Biscoe" for i in range(len(frame))])
    rare = infer.infer(write_csv(tmp_path, mostly_one, "rare.csv"), "species")
    assert not feature_named(rare, "island").HasField("unique_constraints")  # 4 of 344: a split may hold none


def test_a_word_among_numbers_past_the_counted_cells_is_named_too(tmp_path, penguins_draft, monkeypatch):
    """A large file's columns are counted up to `COUNTED` distinct values; a slip further down
    still makes the column text, and is found by reading the file again."""
    _, frame, _ = penguins_draft
    frame = frame.copy()
    frame.loc[330, "flipper_length_mm"] = "n.a."
    monkeypatch.setattr(cell_counts, "COUNTED", 20)
    monkeypatch.setattr(infer, "CHUNK_ROWS", 50)  # counted as a large file is: a chunk at a time
    with pytest.raises(infer.InitError, match=r"^1 column\(s\) hold numbers but for a few cells.*"
                                              r"'flipper_length_mm': 1 cell\(s\), line 332: 'n.a.'"):
        infer.infer(write_csv(tmp_path, frame, "late.csv"), "species")


def test_a_column_of_codes_with_a_few_words_is_kept_as_text_when_asked(tmp_path, penguins_draft):
    """Floors 1, 2, G: numbers and a word, text as they are (--text-column)."""
    _, frame, _ = penguins_draft
    frame = frame.copy()
    frame["floor"] = np.resize(["1", "2", "3"], len(frame))
    frame.loc[5, "floor"] = "G"
    path = write_csv(tmp_path, frame, "floors.csv")
    with pytest.raises(infer.InitError, match="'floor': 1 cell.*--text-column NAME"):
        infer.infer(path, "species")
    draft = infer.infer(path, "species", text_columns=["floor"])
    assert draft.declaration["features"]["floor"]["kind"] == "categorical_string"


def test_a_word_given_as_missing_does_not_hide_the_common_tokens_beside_it(tmp_path, penguins_draft):
    _, frame, _ = penguins_draft
    frame = frame.copy()
    mass = frame["body_mass_g"].copy()
    frame = frame.replace("NA", "")  # NA left in one column only, beside the given word
    frame["body_mass_g"] = mass
    frame.loc[[20, 30], "body_mass_g"] = "n.a."
    draft = infer.infer(write_csv(tmp_path, frame, "mass.csv"), "species", missing=["n.a."])
    assert draft.declaration["missing_values"] == ["", "NA", "n.a."]
    assert draft.declaration["features"]["body_mass_g"] == {"kind": "numeric"}


def test_infinite_numbers_are_named_by_line_and_a_word_for_them_can_be_read_as_missing(tmp_path, penguins_draft):
    """R writes infinities as `Inf`; TFX's CSV reader takes them for numbers, which no model can
    scale: init names the cells rather than crash on the range or draft a feature that turns NaN."""
    _, frame, plain = penguins_draft
    frame = frame.copy()
    frame.loc[[4, 9, 12], "flipper_length_mm"] = ["Inf", "-Inf", "1e39"]  # 1e39: past float32's range
    path = write_csv(tmp_path, frame, "infinite.csv")
    with pytest.raises(infer.InitError, match=r"^1 column\(s\) hold infinite values.*'flipper_length_mm': "
                                              r"3 cell\(s\), line 6: 'Inf', line 11: '-Inf', line 14: '1e39'\. Make those cells empty"):
        infer.infer(path, "species")
    frame.loc[12, "flipper_length_mm"] = "NA"
    path = write_csv(tmp_path, frame, "infinite.csv")
    draft = infer.infer(path, "species", name="penguins", missing=["Inf", "-Inf"])
    assert draft.declaration["features"] == plain.declaration["features"]


def test_a_label_text_column_or_missing_word_the_data_does_not_have_is_told(tmp_path, penguins_draft):
    """A misspelt label or --text-column refuses the draft, naming the header's near match (a name
    with a trailing space looks the same when listed unquoted); a --missing-value word found in no
    cell is said."""
    path, frame, _ = penguins_draft
    spaced = write_csv(tmp_path, frame.rename(columns={"species": "species "}), "spaced.csv")
    with pytest.raises(infer.InitError, match=r"label column 'species' is not in .* \(did you mean 'species '\?\); "
                                              r"its columns: 'species ', 'island'"):
        infer.infer(spaced, "species")
    with pytest.raises(infer.InitError, match=r"--text-column 'Island': no such column in .* \(did you mean "
                                              r"'island'\?\); its columns: "
                                              "'species', 'island',"):
        infer.infer(path, "species", text_columns=["Island"])
    draft = infer.infer(path, "species", missing=["n.a."])
    assert "missing values: 'n.a.' (--missing-value) is in no cell of the data: read as missing if it comes" \
        in draft.decisions


def _penguin_measurements(folder) -> pd.DataFrame:
    """palmerpenguins as the package ships it, read as numbers (empty where `NA`)."""
    public_datasets.PENGUINS.write_csv(str(folder / "shipped.csv"))
    return pd.read_csv(folder / "shipped.csv")


TEXT_COLUMN_WAY_OUT = ". A column that is not numbers at all is kept as text with --text-column NAME"


@pytest.mark.parametrize("written, write, told, read", [
    ("decimal commas", lambda frame, path: frame.to_csv(path, index=False, decimal=","),
     "4 column(s) hold numbers written for people to read, which TFX's CSV reader takes for text, every "
     "number a category of its own: decimal commas in 'bill_length_mm' (line 2: '39,1'), 'bill_depth_mm' "
     "(line 2: '18,7'), 'flipper_length_mm' (line 2: '181,0'), 'body_mass_g' (line 2: '3750,0'): convert "
     "the file, e.g. with pandas: pd.read_csv(FILE, decimal=',').to_csv(NEW_FILE, index=False); then run "
     "init on the converted file", {"decimal": ","}),
    ("thousands separators", lambda frame, path: frame.assign(
        body_mass_g=frame["body_mass_g"].map("{:,.0f}".format, na_action="ignore")).to_csv(path, index=False),
     "1 column(s) hold numbers written for people to read, which TFX's CSV reader takes for text, every "
     "number a category of its own: thousands separators in 'body_mass_g' (line 2: '3,750'): convert the "
     "file, e.g. with pandas: pd.read_csv(FILE, thousands=',').to_csv(NEW_FILE, index=False). The cells "
     "of 'body_mass_g' also read as decimal commas (1,250 as 1.25, as fuel prices are written): check "
     "which is meant; then run init on the converted file", {"thousands": ","}),
])
def test_a_column_of_numbers_written_with_decimal_commas_or_thousands_separators_is_refused_with_the_conversion(
        tmp_path, written, write, told, read):
    """Read as text, each such number would be a category of its own; the pandas call init names
    reads the file back as the numbers it holds."""
    frame = _penguin_measurements(tmp_path)
    path = str(tmp_path / f"{written}.csv")
    write(frame, path)
    with pytest.raises(infer.InitError) as refused:
        infer.infer(path, "species")
    assert str(refused.value) == told + TEXT_COLUMN_WAY_OUT
    pd.testing.assert_frame_equal(pd.read_csv(path, **read), frame)


def test_text_with_commas_and_plain_numbers_are_not_numbers_written_for_people(tmp_path):
    """palmerpenguins' raw table: stages written with a comma and a number ("Adult, 1 Egg Stage"),
    integers, decimals, IDs and comments; none is a column of numbers written with commas."""
    path = str(tmp_path / "raw.csv")
    public_datasets.PENGUINS_RAW.write_csv(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert frame["Stage"].str.contains(",").all()
    written = {}
    for column in frame.columns:
        cells = cell_counts.ColumnCells(("", "NA"))
        cells.add(list(frame[column]))
        written[column] = written_numbers.writing(cells, ["", "NA"])
    assert written == {column: None for column in frame.columns}


def test_a_utf16_file_is_refused_as_such_with_how_to_convert_it_by_init_and_by_the_gate(tmp_path, penguins_draft):
    """Excel's "Unicode text" and Windows tools write UTF-16. The check is the gate's (`run`,
    `validate`, `score`), and the conversion it names gives a file the gate accepts."""
    _, frame, _ = penguins_draft
    path = str(tmp_path / "penguins.csv")
    frame.to_csv(path, index=False, encoding="utf-16")
    with pytest.raises(infer.InitError) as refused:
        infer.infer(path, "species")
    assert str(refused.value) == (
        "penguins.csv is UTF-16 text, not UTF-8 (starts with the UTF-16 byte-order mark b'\\xff\\xfe'); "
        "expected UTF-8 encoded CSV (convert it, e.g. with pandas: pd.read_csv(FILE, encoding='utf-16')"
        ".to_csv(NEW_FILE, index=False)): fix the file")
    assert [f.detail for f in csv_files.check_csv_file(path)] == ["penguins.csv is UTF-16 text, not UTF-8"]
    converted = str(tmp_path / "converted.csv")
    pd.read_csv(path, encoding="utf-16", keep_default_na=False).to_csv(converted, index=False)
    assert csv_files.check_csv_file(converted) == []


def test_ragged_rows_are_refused_with_their_line_numbers(tmp_path, penguins_draft):
    _, frame, _ = penguins_draft
    path = tmp_path / "penguins.csv"
    frame.to_csv(path, index=False)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[50] += ",extra"  # line 51 of the file
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(infer.InitError) as refused:
        infer.infer(str(path), "species")
    assert str(refused.value) == ("penguins.csv: rows with a different number of fields than the header "
                                  f"(1 row differs: line 51); expected {len(frame.columns)} fields per row: fix the file")


def test_a_file_saved_in_windows_encoding_is_refused_with_the_line_that_converts_it(tmp_path, penguins_draft):
    """A CSV saved on Windows is cp1252, not UTF-8: an accented island name (`Bíscoe`) is one byte
    there. The refusal says how to convert it, and the converted file is accepted."""
    _, frame, _ = penguins_draft
    frame = frame.assign(island=frame["island"].replace({"Biscoe": "Bíscoe"}))
    path = str(tmp_path / "penguins.csv")
    frame.to_csv(path, index=False, encoding="cp1252")
    with pytest.raises(infer.InitError) as refused:
        infer.infer(path, "species")
    assert "is not UTF-8 text (line " in str(refused.value)
    assert ("expected UTF-8 encoded CSV (convert it, e.g. with pandas: pd.read_csv(FILE, encoding='cp1252')"
            ".to_csv(NEW_FILE, index=False): Windows' encoding, in which b'\\xed' is 'í'; name another if the "
            "file was saved in another)") in str(refused.value)
    converted = str(tmp_path / "converted.csv")
    pd.read_csv(path, encoding="cp1252", keep_default_na=False).to_csv(converted, index=False)
    assert csv_files.check_csv_file(converted) == []


def test_scikit_learns_space_separated_linnerud_file_is_refused_as_not_comma_separated(tmp_path):
    """scikit-learn ships linnerud's exercises with fields separated by spaces: one column to a CSV
    reader, whose label would be "not in the file". Refused as a delimiter problem, and the conversion
    it names gives the three columns."""
    sklearn = pytest.importorskip("sklearn")
    path = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data", "linnerud_exercise.csv")
    [finding] = csv_files.check_csv_file(path)
    assert (finding.problem, finding.detail) == ("Wrong delimiter", "linnerud_exercise.csv is not comma-separated")
    assert "pd.read_csv(FILE, sep=r'\\s+').to_csv(NEW_FILE, index=False)" in finding.expected
    assert finding.actual == "one column; spaces separate the header and each row into 3 fields"
    converted = str(tmp_path / "linnerud.csv")
    pd.read_csv(path, sep=r"\s+").to_csv(converted, index=False)
    assert csv_files.check_csv_file(converted) == []
    assert list(pd.read_csv(converted).columns) == ["Chins", "Situps", "Jumps"]


def test_a_one_column_file_of_names_with_spaces_is_no_space_separated_file(tmp_path):
    """vega_datasets' airport names alone, as a request file of a one-feature dataset holds them: words
    separated by spaces in every row, but no numbers: the delimiter check leaves it be."""
    vega = pytest.importorskip("vega_datasets")
    airports = pd.read_csv(os.path.join(os.path.dirname(vega.__file__), "_data", "airports.csv"))
    two_words = airports.loc[airports["name"].str.split().str.len() == 2, ["name"]].rename(
        columns={"name": "airport name"})
    path = str(tmp_path / "names.csv")
    two_words.to_csv(path, index=False)
    assert [f.problem for f in csv_files.check_csv_file(path)] == []


def test_a_name_written_with_underscores_for_spaces_is_matched_and_a_first_line_of_data_is_named(tmp_path, penguins_draft):
    """`--label wine_class` for the column `wine class` gets the near match; scikit-learn's own
    iris.csv starts with a line of data (`150,4,setosa,versicolor,virginica`), whose cells a CSV
    reader takes for column names: the label is then missing, or, picked among them, trained on
    features named '150' and '4', unless the draft says to look."""
    path, frame, _ = penguins_draft
    spaced = write_csv(tmp_path, frame.rename(columns={"species": "penguin species"}), "spaced.csv")
    with pytest.raises(infer.InitError, match=r"\(did you mean 'penguin species'\?\)"):
        infer.infer(spaced, "Penguin_Species")
    from sklearn import datasets  # pylint: disable=import-outside-toplevel

    shipped = os.path.join(os.path.dirname(datasets.__file__), "data", "iris.csv")
    with pytest.raises(infer.InitError, match=r"label column 'species' is not in .* \(columns named by numbers "
                                              r"\('150', '4'\): if the file's first line is data rather than column "
                                              r"names, add a first line naming the columns and run init again\)"):
        infer.infer(shipped, "species")
    draft = infer.infer(shipped, "virginica")
    assert any(line.startswith("columns named by numbers ('150', '4')") for line in draft.checks), draft.checks
    assert not any("named by numbers" in line for line in infer.infer(path, "species").checks)


def test_data_inside_the_project_is_declared_relative_so_a_moved_project_still_finds_it(tmp_path, monkeypatch):
    """`data: /home/me/project/data/x.csv` broke once the project folder was renamed or cloned."""
    from cli import data_commands  # pylint: disable=import-outside-toplevel
    from pipeline import configs  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(configs, "PROJECT_ROOT", str(tmp_path / "project"))
    inside = data_commands.declared_data(str(tmp_path / "project" / "raw" / "x.csv"),
                                         str(tmp_path / "project" / "datasets" / "x"))
    assert inside == os.path.join("..", "..", "raw", "x.csv")
    assert os.path.normpath(os.path.join(tmp_path / "project" / "datasets" / "x", inside)) == \
        str(tmp_path / "project" / "raw" / "x.csv")  # as Dataset.data_root reads it
    assert data_commands.declared_data("/srv/feeds/x.csv", str(tmp_path / "project" / "datasets" / "x")) == \
        "/srv/feeds/x.csv"  # outside the project: where it is, whatever moves
