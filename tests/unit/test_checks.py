"""Structural CSV checks and the readable report, on files made from the bundled data."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tracemalloc

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

from benchmarks import public_datasets
from cli import main as cli
from schema import checks, csv_files, csv_statistics, data_folder, descriptions, distances, maintain, report
from tests.bad_data import drift_between, shuffled_slices, taxi_rows, write_rows
from tests.conftest import TAXI_CSV, TAXI_SCHEMA

COLUMNS = checks.expected_columns(tfdv.load_schema_text(TAXI_SCHEMA))


def _problems(folder):
    return [(f.feature, f.problem) for f in csv_files.check_csv_folder(str(folder), COLUMNS)]


def test_bundled_rows_pass_the_structural_checks(tmp_path):
    write_rows(str(tmp_path), taxi_rows(100))
    assert _problems(tmp_path) == []


def test_rows_saved_by_excel_or_r_pass_the_checks_as_the_plain_ones(tmp_path):
    """A byte-order mark and CRLF (Excel's "CSV UTF-8"), every field quoted (R's write.csv):
    the header's names and the statistics are the plain file's."""
    rows = taxi_rows(300)
    public_datasets.save_as_excel_does(str(tmp_path / "data.csv"), rows)
    assert _problems(tmp_path) == []
    statistics = csv_statistics.statistics_of_csv(str(tmp_path))
    assert {f.path.step[0] for f in statistics.datasets[0].features} == set(rows[0])
    assert checks.check_statistics(statistics, tfdv.load_schema_text(TAXI_SCHEMA)) == []


def test_a_column_name_used_twice_is_refused_naming_it(tmp_path):
    """TFDV would count both columns' cells as one feature's and fail with 'Value out of range'."""
    rows = taxi_rows(50)
    rows[0][rows[0].index("fare")] = "tips"
    write_rows(str(tmp_path), rows)
    [finding] = csv_files.check_csv_folder(str(tmp_path), COLUMNS)
    assert (finding.problem, finding.examples) == ("Repeated column names", ("tips",))
    assert "names more than one column 'tips'" in finding.detail


@pytest.mark.parametrize("name, write, told", [
    ("data.csv.gz", lambda frame, path: frame.to_csv(path, index=False, compression="gzip"),
     "gzip-compressed, not CSV text"),
    ("data.zip", lambda frame, path: frame.to_csv(path, index=False, compression="zip"),
     "a zip archive or an Excel workbook, not CSV text"),
    ("data.csv.xz", lambda frame, path: frame.to_csv(path, index=False, compression="xz"),
     "xz-compressed, not CSV text"),
    ("data.parquet", lambda frame, path: frame.to_parquet(path), "a Parquet file, not CSV text"),
])
def test_a_compressed_file_or_another_format_is_named_as_such(tmp_path, name, write, told):
    """Not "not UTF-8 text (byte 0x8b)", which leaves the user guessing."""
    rows = taxi_rows(50)
    write(pd.DataFrame(rows[1:], columns=rows[0]), str(tmp_path / name))
    [finding] = csv_files.check_csv_folder(str(tmp_path), COLUMNS)
    assert (finding.problem, finding.detail) == ("Not a CSV file", f"{name} is {told}")


def test_fields_separated_by_comma_and_space_are_refused_with_how_to_convert(tmp_path):
    """As UCI's adult.data is written: every reader keeps the space, so no number reads as one."""
    with open(tmp_path / "data.csv", "w", encoding="utf-8") as f:
        f.writelines(", ".join(row) + "\n" for row in taxi_rows(100))
    [finding] = csv_files.check_csv_folder(str(tmp_path), COLUMNS)
    assert finding.problem == "Spaces after commas" and "skipinitialspace=True" in finding.expected
    assert re.search(r"a cell such as ' [\d.]+' keeps its space", finding.detail), finding.detail


def test_a_file_is_checked_in_less_memory_than_its_size(tmp_path):
    """The checks run before every pipeline run and `init`; held whole in memory as rows, a file
    takes about 15 times its size (1.5M rows: 3 GB), while the pipeline itself reads in flat memory."""
    rows = taxi_rows(15_000)
    write_rows(str(tmp_path), rows)
    size = os.path.getsize(tmp_path / "data.csv")
    tracemalloc.start()
    try:
        assert csv_files.check_csv_file(str(tmp_path / "data.csv"), COLUMNS) == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < size / 4, f"peak {peak} bytes for a file of {size}"


@pytest.mark.parametrize("content, problem, detail", [
    (b"fare,tips\n1.5,0.2\n2.5,\xff\xfe\n", "Undecodable bytes", r"line 3\).* offset 22$"),
    (b"\xef\xbb\xbffare,tips\n1.5,\xe9\n", "Undecodable bytes", r"line 2\).* offset 17$"),
    (b" \r\n\n\t\n", "Empty file", ""),
    (b"fare,tips\r\n\r\n", "No data rows", ""),
], ids=["undecodable", "undecodable-after-bom", "whitespace-only", "header-and-blank-line"])
def test_where_a_file_breaks_is_told_by_line_and_offset(tmp_path, content, problem, detail):
    (tmp_path / "data.csv").write_bytes(content)
    [finding] = csv_files.check_csv_file(str(tmp_path / "data.csv"))
    assert finding.problem == problem
    assert re.search(detail, f"{finding.detail} {finding.actual}"), (finding.detail, finding.actual)


@pytest.mark.parametrize("rows_after", [2, 20_000], ids=["small-file", "past-csv-field-limit"])
def test_a_stray_quote_is_refused_at_the_line_where_it_opens(tmp_path, rows_after):
    """A quote that never closes makes the rest of the file one cell: TFX's reader fails on it, and
    Python's CSV reader fails past its field-size limit, with a traceback before this check."""
    rows = taxi_rows(rows_after + 2)
    write_rows(str(tmp_path), rows)
    lines = (tmp_path / "data.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",", ',"', 1)
    (tmp_path / "data.csv").write_text("".join(lines), encoding="utf-8")
    [finding] = csv_files.check_csv_file(str(tmp_path / "data.csv"), COLUMNS)
    assert (finding.problem, finding.actual) == ("Unclosed quote", "line 3")
    assert finding.examples == (lines[2].strip()[:80],)


def test_a_nul_byte_is_refused_with_its_line_not_a_traceback(tmp_path):
    write_rows(str(tmp_path), taxi_rows(20))
    content = (tmp_path / "data.csv").read_bytes().split(b"\n")
    content[5] = content[5].replace(b",", b",\x00", 1)
    (tmp_path / "data.csv").write_bytes(b"\n".join(content))
    [finding] = csv_files.check_csv_file(str(tmp_path / "data.csv"), COLUMNS)
    assert (finding.problem, finding.actual) == ("Unreadable CSV", "line 6")
    assert "NUL" in finding.detail


def test_label_column_is_expected_in_training_data_only():
    assert "tips" in COLUMNS
    serving = checks.expected_columns(tfdv.load_schema_text(TAXI_SCHEMA), "SERVING")
    assert "tips" not in serving and "fare" in serving


def test_ragged_rows_are_reported_with_their_line_numbers(tmp_path):
    rows = taxi_rows(10)
    rows[3] = rows[3][:5]
    write_rows(str(tmp_path), rows)
    [finding] = csv_files.check_csv_folder(str(tmp_path), COLUMNS)
    assert finding.problem == "Ragged rows" and finding.examples == ("line 4",)


def _joined_with_headers(path, rows: int = 1500, quoted: bool = False) -> int:
    """The bundled CSV cut in two after `rows` rows and joined again as `cat a.csv b.csv` joins two
    exports, the second keeping its header (and the byte-order mark Excel writes; every name quoted,
    as R writes them, if `quoted`); its line number."""
    with open(TAXI_CSV, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    header = lines[0]
    if quoted:
        header = b",".join(b'"' + name + b'"' for name in header.rstrip(b"\r\n").split(b",")) + b"\n"
    with open(path, "wb") as f:
        f.write(b"".join(lines[:rows + 1] + [b"\xef\xbb\xbf" + header] + lines[rows + 1:]))
    return rows + 2


@pytest.mark.parametrize("quoted", [False, True], ids=["as-excel", "quoted-as-r"])
def test_a_header_repeated_mid_file_is_refused_naming_its_line(tmp_path, capsys, quoted):
    """Two CSVs joined with their headers: one refusal naming the line, before any statistics (the
    gate would tell 16 columns of the wrong type, and advise accepting them); `validate` says the same."""
    os.makedirs(tmp_path / "data")
    line = _joined_with_headers(tmp_path / "data" / "data.csv", quoted=quoted)
    [finding] = csv_files.check_csv_folder(str(tmp_path / "data"), COLUMNS)
    assert (finding.problem, finding.examples) == (csv_files.REPEATED_HEADER, (f"line {line}",))
    assert f"data.csv: line {line} repeats the header (files joined with their headers?): remove it" == finding.detail
    assert cli.main(["validate", str(tmp_path / "data"), "--work-dir", str(tmp_path / "work")]) == 1
    out = capsys.readouterr().out
    assert "1 problem(s) found" in out and f"line {line} repeats the header" in out, out
    assert "Unexpected data type" not in out and "schema-diff" not in out


def test_missing_and_unexpected_columns_are_named(tmp_path):
    rows = [[c if c != "company" else "firm" for c in taxi_rows(5)[0]]] + taxi_rows(5)[1:]
    write_rows(str(tmp_path), rows)
    assert sorted(_problems(tmp_path)) == [("company", "Column missing"), ("firm", "Unexpected column")]
    renamed = tmp_path / "renamed"
    write_rows(str(renamed), [[c if c != "company" else "Company " for c in taxi_rows(5)[0]]] + taxi_rows(5)[1:])
    missing = next(f for f in csv_files.check_csv_folder(str(renamed), COLUMNS) if f.problem == "Column missing")
    assert missing.detail.endswith("has no 'company' column; its 'Company ' differs only in case or punctuation: "
                                   "rename it"), missing.detail
    foreign = tmp_path / "foreign"  # names in another script are no near miss of each other
    write_rows(str(foreign), [[c if c != "company" else "会社" for c in taxi_rows(5)[0]]] + taxi_rows(5)[1:])
    missing = next(f for f in csv_files.check_csv_folder(str(foreign), COLUMNS) if f.problem == "Column missing")
    assert missing.detail.endswith("has no 'company' column"), missing.detail


def test_a_row_index_written_by_pandas_is_named_as_such_not_as_a_blank_column(tmp_path):
    frame = pd.DataFrame(taxi_rows(5)[1:], columns=taxi_rows(5)[0])
    frame.to_csv(tmp_path / "indexed.csv")  # pandas' default: the index first, its name empty
    [finding] = csv_files.check_csv_file(str(tmp_path / "indexed.csv"), frame.columns.tolist())
    assert (finding.feature, finding.problem) == (csv_files.UNNAMED, csv_files.UNEXPECTED_COLUMN)
    assert finding.detail == ("indexed.csv has an unnamed column, most often a row index (pandas' to_csv "
                              "writes one unless given index=False)")


def test_a_row_index_read_back_and_written_again_by_pandas_is_named_with_the_fix(tmp_path):
    """read_csv names the empty header `Unnamed: 0`; to_csv then writes that name."""
    frame = pd.DataFrame(taxi_rows(5)[1:], columns=taxi_rows(5)[0])
    frame.to_csv(tmp_path / "indexed.csv")
    pd.read_csv(tmp_path / "indexed.csv").to_csv(tmp_path / "again.csv", index=False)
    [finding] = csv_files.check_csv_file(str(tmp_path / "again.csv"), frame.columns.tolist())
    assert (finding.feature, finding.problem) == ("Unnamed: 0", csv_files.UNEXPECTED_COLUMN)
    assert finding.detail == ("again.csv has a 'Unnamed: 0' column, pandas' name for a column with an empty "
                              "header: most often the row index of a file read with read_csv and written "
                              "again with to_csv; read it with index_col=0 or write it with index=False")
    pd.read_csv(tmp_path / "indexed.csv").to_csv(tmp_path / "twice.csv")  # a second index, then both read
    pd.read_csv(tmp_path / "twice.csv").to_csv(tmp_path / "twice.csv", index=False)
    findings = csv_files.check_csv_file(str(tmp_path / "twice.csv"), frame.columns.tolist())
    assert sorted(f.feature for f in findings) == ["Unnamed: 0", "Unnamed: 0.1"]
    assert all("pandas' name for a column with an empty header" in f.detail for f in findings)


def test_a_long_header_is_shown_by_whole_names_and_says_how_many_more(tmp_path):
    from sklearn import datasets  # pylint: disable=import-outside-toplevel

    frame = datasets.load_wine(as_frame=True).frame  # 14 columns, some with long names
    frame.drop(columns=["hue"]).to_csv(tmp_path / "wine.csv", index=False)
    (finding,) = csv_files.check_csv_folder(str(tmp_path), list(frame.columns))
    assert finding.feature == "hue" and finding.problem == "Column missing"
    shown, more = re.fullmatch(r"header: (.*), \.\.\. \((\d+) more\)", finding.actual).groups()
    names = shown.split(", ")
    assert names == [c for c in frame.columns if c != "hue"][:len(names)]  # whole names, in order
    assert len(names) + int(more) == len(frame.columns) - 1


def test_files_of_one_folder_with_different_column_orders_are_named(tmp_path):
    rows = taxi_rows(50)
    write_rows(str(tmp_path), rows, name="a.csv")
    write_rows(str(tmp_path), [row[::-1] for row in rows], name="b.csv")
    (finding,) = csv_files.check_csv_folder(str(tmp_path), rows[0])
    assert (finding.feature, finding.problem) == (checks.FILE, "Different headers")
    assert finding.detail.startswith("b.csv list(s) the columns differently from a.csv")
    assert finding.actual.startswith(f"b.csv: {rows[0][-1]}, ")
    write_rows(str(tmp_path), rows, name="b.csv")
    assert csv_files.check_csv_folder(str(tmp_path), rows[0]) == []


def test_spans_are_found_in_order_and_other_folders_ignored(tmp_path):
    for name in ("span-10", "span-2", "other", "span-x"):
        os.makedirs(tmp_path / name)
    assert [n for n, _ in data_folder.spans(str(tmp_path))] == [2, 10]


def test_report_names_feature_problem_and_offending_values(tmp_path):
    finding = checks.Finding("payment_type", "Unexpected string values", "Bitcoin (~63%)",
                             "one of 7 known values", "6 distinct values", ("Bitcoin",))
    text = report.render_text([finding], "Check", "/r.html")
    assert "payment_type: Unexpected string values" in text and "e.g.:     Bitcoin" in text
    page = report.write_html(str(tmp_path / "r.html"), [finding], "Check <1>")
    with open(page, encoding="utf-8") as f:
        html = f.read()
    assert "<td>payment_type</td>" in html and "<td>Bitcoin</td>" in html
    assert "Check &lt;1&gt;" in html  # escaped
    assert os.listdir(tmp_path) == ["r.html"]  # no staging copy left beside it


def test_many_problems_start_with_what_they_share_and_the_text_keeps_to_the_first_where_a_report_has_all(
        tmp_path, monkeypatch):
    """Every number of a span x16 (a unit change upstream): one line says which problem hit which
    columns before the column-by-column text, which stops where the HTML report takes over."""
    header, (before, after) = shuffled_slices(7, 2000, 2000)
    numbers = [i for i, name in enumerate(header) if name in ("fare", "trip_miles", "trip_seconds", "tips",
                                                              "pickup_latitude", "dropoff_latitude")]
    after = [[f"{float(cell) * 16:.4f}" if i in numbers and cell else cell for i, cell in enumerate(row)]
             for row in after]
    findings = drift_between(str(tmp_path), header, before, after)
    assert len(findings) >= report.SUMMED_FROM, findings
    lines = report.render_text(findings, "Check", "/r.html").splitlines()
    assert lines[1] == ("In short: High approximate Jensen-Shannon divergence between current and previous: "
                        f"{len(findings)} column(s) ({', '.join(f.feature for f in findings[:3])}, ...)"), lines[1]
    monkeypatch.setattr(report, "SHOWN_MAX", 3)
    text = report.render_text(findings, "Check", "/r.html")
    assert text.count("\n- ") == 3 and f"... and {len(findings) - 3} more problem(s), each in the report below." in text
    assert report.render_text(findings, "Check").count("\n- ") == len(findings)  # no report: all of them here


def test_a_value_with_a_line_break_is_shown_on_its_finding_line():
    finding = checks.Finding("Comments", "Unexpected string values", "", "one of 10 known values",
                             "11 distinct values", ("Adult not sampled.\nchecked", "NA\r\nchecked"))
    lines = report.render_text([finding], "Check").splitlines()
    assert "    e.g.:     Adult not sampled.\\nchecked, NA\\r\\nchecked" in lines


@pytest.mark.parametrize("missing_values", [("",), ("", "NA")])
def test_statistics_of_a_csv_leave_nothing_in_the_temporary_folder(tmp_path, monkeypatch,
                                                                    missing_values):
    """`validate`, `infer` and calibration call it many times: TFDV's own output file (in a folder
    TFDV makes and never deletes) and the blanked copies must not pile up."""
    data, temporary = tmp_path / "data", tmp_path / "tmp"
    data.mkdir()
    temporary.mkdir()
    write_rows(str(data), taxi_rows(50))
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    statistics = csv_statistics.statistics_of_csv(str(data), missing_values)
    assert statistics.datasets[0].num_examples == 50
    assert os.listdir(temporary) == []


def _findings_with(folder, column: str, value: str, rows: slice):
    """The statistics check's findings on 300 bundled rows whose `column` holds `value` in `rows`."""
    data = taxi_rows(300)
    index = data[0].index(column)
    for row in data[rows]:
        row[index] = value
    write_rows(str(folder), data)
    return checks.check_statistics(csv_statistics.statistics_of_csv(str(folder)),
                                   tfdv.load_schema_text(TAXI_SCHEMA))


def test_statistics_check_finds_unknown_values_with_real_tfdv(tmp_path):
    findings = _findings_with(tmp_path, "payment_type", "Bitcoin", slice(1, 50))
    assert [(f.feature, f.problem) for f in findings] == [("payment_type", "Unexpected string values")]
    assert findings[0].examples == ("Bitcoin",)
    assert "Written differently" not in findings[0].detail  # a new category, not a known one respelt


@pytest.mark.parametrize("written, meant", [("credit card", "Credit Card"), ("Credit_Card", "Credit Card"),
                                            ("Cred", "Credit Card")])
def test_a_known_category_written_differently_is_named_with_the_value_it_stands_for(tmp_path, written, meant):
    [finding] = _findings_with(tmp_path, "payment_type", written, slice(1, 50))
    assert finding.detail.endswith(f"Written differently from values it lists: '{written}' for '{meant}': to a "
                                   "model, categories it never saw; correct the data rather than accept them."), finding.detail


def test_a_code_is_not_taken_for_the_start_of_another_nor_a_name_in_another_script_for_any():
    assert descriptions.written_for("1", {"10", "20"}) is None and descriptions.written_for("M", {"Male", "Female"}) == "Male"
    assert descriptions.written_for("価格", {"数量"}) is None and descriptions.written_for("ÉTÉ", {"été", "hiver"}) == "été"


def test_an_out_of_range_value_reads_as_the_schema_and_the_data_say_it(tmp_path):
    """Bounds as written in the schema (41.6, not float32's 41.599998474121094), and TFDV's
    description without its aside on rounding."""
    (finding,) = _findings_with(tmp_path, "pickup_latitude", "4190", slice(1, 20))  # a slipped decimal point
    assert finding.feature == "pickup_latitude" and "values in [41.6, 42.1]" in finding.expected
    assert finding.detail == "Unexpectedly high value: 4190>42.1", finding.detail


def test_an_empty_column_and_types_are_told_in_words(tmp_path):
    """TFDV calls a column whose every cell is empty "dropped", and text BYTES in the schema but
    STRING in statistics: both read as something else than what happened."""
    (finding,) = _findings_with(tmp_path, "payment_type", "", slice(1, None))
    assert (finding.feature, finding.problem) == ("payment_type", checks.EMPTY_COLUMN)
    assert "every cell is empty" in finding.detail
    assert finding.expected.startswith("text; present in every row")
    assert finding.actual.startswith("text; present in 0.0% of rows")


def test_a_required_column_with_some_cells_empty_is_missing_values_not_an_empty_column(tmp_path):
    """TFDV titles a column present in too few rows "Column dropped", as it does an empty one."""
    (finding,) = _findings_with(tmp_path, "payment_type", "", slice(1, 31))  # 30 of 300 rows
    assert (finding.feature, finding.problem) == ("payment_type", checks.MISSING_VALUES)
    assert "Fewer rows have a value than the schema requires" in finding.detail
    assert finding.expected.startswith("text; present in every row")
    assert finding.actual.startswith("text; present in 90.0% of rows"), finding.actual
    assert finding.examples == ()  # the rows' values are not what is wrong


def test_schema_diff_tells_new_values_the_gate_tolerates(tmp_path):
    """`company` accepts 10 % of rows outside its domain: such values pass the gate unsaid, so
    schema-diff is where a user learns of them; the tolerance stays as curated."""
    rows = taxi_rows(300)
    index = rows[0].index("company")
    for row in rows[1:7]:
        row[index] = "Acme Cab"
    write_rows(str(tmp_path), rows)
    curated = tfdv.load_schema_text(TAXI_SCHEMA)
    statistics = csv_statistics.statistics_of_csv(str(tmp_path), options=distances.stats_options(curated))
    assert checks.check_statistics(statistics, curated) == []
    proposed = maintain.updated(curated, statistics)
    assert "'company' accepts 1 new value(s): 'Acme Cab'" in maintain.differences(curated, proposed)
    assert tfdv.get_feature(proposed, "company").distribution_constraints.min_domain_mass == 0.9


def test_schema_differences_in_plain_words():
    old = schema_pb2.Schema()
    feature = old.feature.add(name="payment_type", type=schema_pb2.BYTES)
    feature.string_domain.value.extend(["Cash"])
    hour = old.feature.add(name="hour", type=schema_pb2.INT)
    hour.int_domain.min, hour.int_domain.max = 0, 23
    new = schema_pb2.Schema()
    new.CopyFrom(old)
    new.feature[0].string_domain.value.append("Bitcoin")
    new.feature[1].int_domain.max = 30
    new.feature.add(name="rating", type=schema_pb2.FLOAT)
    assert maintain.differences(old, new) == [
        "new column 'rating' (FLOAT)",
        "'hour' range widens from [0, 23] to [0, 30]",
        "'payment_type' accepts 1 new value(s): 'Bitcoin'",
    ]


def test_serving_sample_is_checked_for_skew_against_training_data(tmp_path):
    header, (train, requests) = shuffled_slices(0, 2000, 2000)  # the file's order is not random
    tips, payment = header.index("tips"), header.index("payment_type")
    write_rows(str(tmp_path / "train"), [header] + train)
    serving = [[c for i, c in enumerate(row) if i != tips] for row in [header] + requests]
    payment_serving = serving[0].index("payment_type")
    shifted = [serving[0]] + [
        row[:payment_serving] + (["Credit Card"] if row[payment_serving] == "Cash" else [row[payment_serving]])
        + row[payment_serving + 1:] for row in serving[1:]]
    write_rows(str(tmp_path / "same"), serving)
    write_rows(str(tmp_path / "shifted"), shifted)
    curated = tfdv.load_schema_text(TAXI_SCHEMA)
    compared = distances.stats_options(curated)
    training = csv_statistics.statistics_of_csv(str(tmp_path / "train"), options=compared)
    same = checks.check_skew(csv_statistics.statistics_of_csv(str(tmp_path / "same"), options=compared),
                             training, curated)
    assert same == []  # no label at serving time is fine: SERVING environment
    skewed = checks.check_skew(csv_statistics.statistics_of_csv(str(tmp_path / "shifted"), options=compared),
                               training, curated)
    assert [(f.feature, f.problem) for f in skewed] == [
        ("payment_type", "High approximate Jensen-Shannon divergence between training and serving")
    ]
    cash = sum(row[payment] == "Cash" for row in requests) / len(requests)
    # What moved, in words: cash trips now recorded as card ones (either value moved by the cash share).
    moved = re.match(r"(?:new values [^;]+; )?(?:no row has 'Cash' [^;]+; )?'(Cash|Credit Card)' in ([\d.]+)% -> "
                     r"([\d.]+)% of rows "
                     r"\(JSD ([\d.]+) > ([\d.]+)\)$",
                     skewed[0].detail)
    assert moved, skewed[0].detail
    _, before, after, jsd, threshold = moved.groups()
    assert abs(float(after) - float(before)) == pytest.approx(100 * cash, abs=3)
    assert float(jsd) > float(threshold)
    assert payment == payment_serving  # tips is the last column


def test_training_data_checked_as_serving_data_is_told_it_holds_the_label(tmp_path, capsys):
    from cli import main as cli  # pylint: disable=import-outside-toplevel

    header, (train, requests) = shuffled_slices(0, 1000, 300)
    write_rows(str(tmp_path / "train"), [header] + train)
    write_rows(str(tmp_path / "requests"), [header] + requests)  # tips kept: the label's column
    assert cli.main(["validate", str(tmp_path / "requests"), "--skew-against", str(tmp_path / "train"),
                     "--dataset", "datasets/taxi", "--work-dir", str(tmp_path / "work")]) == 1
    out = capsys.readouterr().out
    assert "- tips: Label in serving data. 'tips' holds the label, which requests do not carry: for " \
           "training data, validate without --skew-against" in out, out
    assert "Unexpected column" not in out


def test_the_commands_validate_suggests_name_the_dataset_and_the_data_it_was_given(tmp_path, capsys):
    """Run as written without --dataset, `calibrate --write` would change the default dataset's schema;
    `schema-diff` is to read the data just checked, not a placeholder."""
    from cli import main as cli  # pylint: disable=import-outside-toplevel

    rows = taxi_rows(300)
    fare = rows[0].index("fare")
    for row in rows[1:50]:
        row[fare] = "-5"  # below the schema's range
    write_rows(str(tmp_path / "data"), rows)
    assert cli.main(["validate", str(tmp_path / "data"), "--dataset", "datasets/taxi",
                     "--work-dir", str(tmp_path / "work")]) == 1
    out = capsys.readouterr().out
    assert f"`tfxpipe schema-diff --dataset datasets/taxi {tmp_path / 'data'} --write`" in out, out
    assert "`tfxpipe calibrate --dataset datasets/taxi --write`" in out
    assert report.naming_dataset(report.NEXT_STEPS, "") == report.NEXT_STEPS


def test_a_run_reads_the_newest_span_or_the_path_itself(tmp_path):
    for span in ("span-2", "span-10", "span-9", "notes"):
        (tmp_path / span).mkdir()
    assert data_folder.latest_and_previous(str(tmp_path)) == (str(tmp_path / "span-10"), str(tmp_path / "span-9"))
    flat = tmp_path / "notes"
    assert data_folder.latest_and_previous(str(flat)) == (str(flat), None)
    (flat / "data.csv").write_text("a\n1\n")
    assert data_folder.latest_and_previous(str(flat / "data.csv")) == (str(flat / "data.csv"), None)


def test_drift_is_checked_against_the_newest_earlier_span_the_gate_accepted(tmp_path):
    for span in ("span-2", "span-9", "span-10"):
        (tmp_path / span).mkdir()
    assert data_folder.latest_and_previous(str(tmp_path), accepted={2}) == (
        str(tmp_path / "span-10"), str(tmp_path / "span-2"))
    assert data_folder.latest_and_previous(str(tmp_path), accepted=set())[1] is None
    assert data_folder.latest_and_previous(str(tmp_path))[1] == str(tmp_path / "span-9")  # no gate ran


def test_codes_past_their_range_are_the_examples_of_their_finding(tmp_path):
    """Hours written 24..30 (a clock past midnight): the finding's examples are those codes, not the
    hours most trips start at."""
    schema = tfdv.load_schema_text(TAXI_SCHEMA)
    rows = taxi_rows(1000)
    hour = rows[0].index("trip_start_hour")
    for i, row in enumerate(rows[1:301]):
        row[hour] = str(24 + i % 7)
    write_rows(str(tmp_path), rows)
    statistics = csv_statistics.statistics_of_csv(str(tmp_path), ("",), distances.stats_options(schema))
    (past,) = [f for f in checks.check_statistics(statistics, schema)
               if f.feature == "trip_start_hour" and "large" in f.detail.lower()]
    assert past.examples and set(past.examples) <= {str(h) for h in range(24, 31)}, past


def test_a_span_of_the_datasets_own_data_is_checked_for_drift_against_the_span_before_it(tmp_path, capsys):
    """`validate span-2/data.csv` compares with span-1, as the run that read span-2 did, not with the
    newest span, which came after it."""
    import shutil  # pylint: disable=import-outside-toplevel

    from cli import main as cli  # pylint: disable=import-outside-toplevel

    for span in (1, 2, 3):
        write_rows(str(tmp_path / "data" / f"span-{span}"), taxi_rows(300))
    shutil.copytree("datasets/taxi", tmp_path / "taxi")
    declaration = tmp_path / "taxi" / "dataset.yaml"
    declaration.write_text(re.sub(r"(?m)^data: .*$", f"data: {tmp_path / 'data'}",
                                  declaration.read_text(encoding="utf-8")), encoding="utf-8")
    for checked, against in (("span-2/data.csv", "span-1"), ("span-1", None), ("span-3", "span-2")):
        cli.main(["validate", str(tmp_path / "data" / checked), "--dataset", str(tmp_path / "taxi"),
                  "--work-dir", str(tmp_path / "work")])
        title = capsys.readouterr().out.splitlines()[0]
        assert title.startswith(f"Data validation of {tmp_path / 'data' / checked}"
                                + (f" (drift vs {tmp_path / 'data' / against})" if against else ":")), title


def test_codes_without_a_declared_range_are_not_said_to_lie_in_0_0():
    tract = tfdv.get_feature(tfdv.load_schema_text(TAXI_SCHEMA), "dropoff_census_tract")
    assert tract.int_domain.is_categorical and not tract.int_domain.HasField("max")
    assert "values in" not in descriptions.expected(tract, tfdv.load_schema_text(TAXI_SCHEMA))
    hour = tfdv.get_feature(tfdv.load_schema_text(TAXI_SCHEMA), "trip_start_hour")
    assert "values in [0, 23]" in descriptions.expected(hour, tfdv.load_schema_text(TAXI_SCHEMA))


def test_a_drifted_category_names_the_values_it_did_not_have_before(tmp_path):
    """A third of the cash trips exported as 'Cash ' (a trailing space): the finding names the new
    value and its share, not only the old value whose share fell; the distance and its threshold
    are shown with the digits that tell them apart."""
    header, (before, after) = shuffled_slices(4, 3000, 3000)
    payment = header.index("payment_type")
    after = [row[:payment] + ["Cash " if row[payment] == "Cash" and i % 3 == 0 else row[payment]]
             + row[payment + 1:] for i, row in enumerate(after)]
    [drift] = drift_between(str(tmp_path), header, before, after)
    moved = re.match(r"new values 'Cash ' ([\d.]+)%; 'Cash' in ([\d.]+)% -> ([\d.]+)% of rows "
                     r"\(JSD ([\d.]+) > ([\d.]+)\)$", drift.detail)
    assert drift.feature == "payment_type" and moved, drift.detail
    spaced, cash_before, cash_after, jsd, threshold = (float(v) for v in moved.groups())
    share = 100 * sum(row[payment] == "Cash " for row in after) / sum(row[payment] != "" for row in after)
    assert spaced == pytest.approx(share, abs=0.1) and cash_after < cash_before
    assert jsd > threshold


def test_a_distance_just_past_its_threshold_is_shown_with_the_digits_that_tell_them_apart():
    assert distances._distinct(0.0104, 0.01) == ("0.0104", "0.0100")
    assert distances._distinct(0.25, 0.1) == ("0.25", "0.10")
    assert distances._distinct(1e-7, 1e-8) == ("1e-07", "1e-08")
    assert distances._distinct(0.97, 0.015) == ("0.970", "0.015")  # the schema's threshold, not 0.01


def test_validate_keeps_native_library_warnings_off_the_console_and_in_a_log(tmp_path):
    """Community areas exported as fractions (`7.5`): the integer codes' column is FLOAT, and
    TFDV's C++ code warns (through absl, past TF_CPP_MIN_LOG_LEVEL) that its drift comparator has no
    histogram. The console shows the finding only; the warning is in the command's private log file
    in the temporary folder."""
    header, (before, after) = shuffled_slices(2, 2000, 2000)
    area = header.index("pickup_community_area")
    after = [row[:area] + [f"{float(row[area]) + 0.5}" if row[area] else ""] + row[area + 1:] for row in after]
    write_rows(str(tmp_path / "data" / "span-1"), [header] + before)
    write_rows(str(tmp_path / "data" / "span-2"), [header] + after)
    logs = tmp_path / "tmp"
    logs.mkdir()
    done = subprocess.run([sys.executable, "-m", "cli", "validate", str(tmp_path / "data"),
                           "--work-dir", str(tmp_path / "work")], capture_output=True, text=True, check=False,
                          env={**os.environ, "TMPDIR": str(logs)})
    assert done.returncode == 1 and "- pickup_community_area: " in done.stdout, done.stdout + done.stderr
    assert done.stderr == ""
    (log,) = [name for name in os.listdir(logs) if name.startswith("tfxpipe-validate-")]
    assert "feature_util" in (logs / log).read_text()


def test_many_unlisted_categories_are_shortened_unescaped_and_weighed_against_the_tolerance(tmp_path):
    """A re-export that writes each trip's company with its cab's fleet number (`Blue Ribbon Taxi
    Association Inc.'s cab 12`): TFDV lists every such value, escaped, in one line. The finding keeps
    the first ten as written, how many more, and the share of rows they hold against the 10 % the
    schema tolerates."""
    data = taxi_rows(300)
    company = data[0].index("company")
    renamed = [row for row in data[1:] if row[company]][:120]
    for i, row in enumerate(renamed):
        row[company] = f"{row[company]}'s cab {i}"
    write_rows(str(tmp_path), data)
    statistics = csv_statistics.statistics_of_csv(str(tmp_path))
    findings = checks.check_statistics(statistics, tfdv.load_schema_text(TAXI_SCHEMA))
    [detail] = [f.detail for f in findings if f.feature == "company"]
    present = next(f for f in statistics.datasets[0].features if f.path.step[0] == "company")
    share = len(renamed) / present.string_stats.common_stats.num_non_missing
    assert detail.startswith(f"Examples contain values missing from the schema: 120 value(s), in {share:.1%} "
                             "of the rows holding a value (the schema tolerates 10%): "), detail
    assert detail.endswith(", and 110 more.") and detail.count("'s cab ") == 10 and "\\'" not in detail


def test_schema_diff_accepts_every_new_value_not_the_first_thousand(tmp_path, capsys):
    """1,200 trips whose company is written with its cab number: more new values than TFDV's rank
    histogram keeps by default (1000, known ones included). `schema-diff` proposes all of them, and
    after `--write` the same data fits."""
    from cli import main as cli  # pylint: disable=import-outside-toplevel

    rows = taxi_rows(2000)
    company = rows[0].index("company")
    renamed = [row for row in rows[1:] if row[company]][:1200]
    for i, row in enumerate(renamed):
        row[company] = f"{row[company]} cab {i}"
    data = tmp_path / "data"
    write_rows(str(data), rows)
    dataset_dir = tmp_path / "taxi"
    shutil.copytree(os.path.dirname(TAXI_SCHEMA), dataset_dir, ignore=shutil.ignore_patterns("data"))
    assert cli.main(["schema-diff", str(data), "--dataset", str(dataset_dir), "--write"]) == 0
    assert "'company' accepts 1200 new value(s)" in capsys.readouterr().out
    assert cli.main(["schema-diff", str(data), "--dataset", str(dataset_dir)]) == 0
    assert "has the values and ranges of the curated schema" in capsys.readouterr().out


def test_a_category_no_row_has_any_more_is_named_with_its_share_before(tmp_path):
    """A re-export that lost its cash trips: the finding names the value now gone with its share
    before, beside the value whose share moved most (the tips drift too: cash trips tip nothing)."""
    header, (before, after) = shuffled_slices(4, 3000, 3000)
    payment = header.index("payment_type")
    after = [row for row in after if row[payment] != "Cash"]
    [drift] = [f for f in drift_between(str(tmp_path), header, before, after) if f.feature == "payment_type"]
    share = 100 * sum(row[payment] == "Cash" for row in before) / sum(row[payment] != "" for row in before)
    moved = re.match(r"no row has 'Cash' \(([\d.]+)% before\); '[^']+' in [\d.]+% -> [\d.]+% of rows", drift.detail)
    assert drift.feature == "payment_type" and moved, drift.detail
    assert float(moved.group(1)) == pytest.approx(share, abs=0.1)


def test_whole_numbers_such_as_years_are_shown_without_separators_or_decimals():
    assert distances._numbers(2005.0, 1998) == ("2005", "1998")
    assert distances._numbers(28.45, 275.0) == ("28.45", "275.00")
    assert distances._numbers(12345.0, 2.5e6) == ("12,345.00", "2.5e+06")


def _copied(rows, column, label):
    """`rows` (header first) with `column` overwritten by the label's cell of each row."""
    at, source = rows[0].index(column), rows[0].index(label)
    return [rows[0]] + [row[:at] + [row[source]] + row[at + 1:] for row in rows[1:]]


def _statistics_of(tmp_path, name, rows, schema, missing=("",)):
    write_rows(str(tmp_path / name), rows)
    return csv_statistics.statistics_of_csv(str(tmp_path / name), missing, distances.stats_options(schema))


def test_a_column_overwritten_by_the_label_since_the_previous_span_is_refused(tmp_path, capsys):
    """A feature that came to hold the label's values (an export or join slip) is named, on numbers
    (taxi's fare overwritten by its tips) and on text (the penguins' island by their species);
    unchanged spans, and a copy already in the previous span, are not."""
    header, (before, after) = shuffled_slices(5, 3000, 3000)
    taxi = tfdv.load_schema_text(TAXI_SCHEMA)
    previous = _statistics_of(tmp_path, "taxi-1", [header] + before, taxi)
    copied = _statistics_of(tmp_path, "taxi-2", _copied([header] + after, "fare", "tips"), taxi)
    [finding] = [f for f in checks.check_statistics(copied, taxi, previous) if f.problem == checks.COPIES_LABEL]
    assert finding.feature == "fare" and "the same as 'tips' in every statistic" in finding.detail
    unchanged = _statistics_of(tmp_path, "taxi-3", [header] + after, taxi)
    assert checks.new_label_copies(unchanged, previous, taxi) == []
    copied_before = _statistics_of(tmp_path, "taxi-4", _copied([header] + before, "fare", "tips"), taxi)
    assert checks.new_label_copies(copied, copied_before, taxi) == []  # init's to name, not new
    # schema-diff: no schema change accepts it (drift against the dataset's own data, as the gate's)
    assert cli.main(["schema-diff", str(tmp_path / "taxi-2"), "--work-dir", str(tmp_path / "work")]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "- fare: Copies the label." in out and report.COPY_NEXT_STEPS in out, out

    path = str(tmp_path / "penguins.csv")
    public_datasets.PENGUINS.write_csv(path)
    rows = pd.read_csv(path, keep_default_na=False, dtype=str).values.tolist()
    columns = list(pd.read_csv(path, nrows=0).columns)
    first, second = [columns] + rows[::2], [columns] + rows[1::2]
    penguins = tfdv.infer_schema(csv_statistics.statistics_of_csv(path, ("", "NA")))
    next(f for f in penguins.feature if f.name == "species").not_in_environment.append("SERVING")
    earlier = _statistics_of(tmp_path, "penguins-1", first, penguins, ("", "NA"))
    islands = _statistics_of(tmp_path, "penguins-2", _copied(second, "island", "species"), penguins, ("", "NA"))
    assert [f.feature for f in checks.new_label_copies(islands, earlier, penguins)] == ["island"]


def test_a_column_the_schema_does_not_list_is_said_once_with_what_it_means(tmp_path):
    """Request logs carry whatever keys clients send (`monitor`): TFDV's own words only repeat the title."""
    rows = taxi_rows(200)
    rows = [row + (["Fare"] if i == 0 else [row[rows[0].index("fare")]]) for i, row in enumerate(rows)]  # misspelt
    write_rows(str(tmp_path), rows)
    found = checks.check_statistics(csv_statistics.statistics_of_csv(str(tmp_path)), tfdv.load_schema_text(TAXI_SCHEMA))
    [new] = [f for f in found if f.feature == "Fare"]
    assert (new.problem, new.detail) == ("New column", "A column the schema does not list: the model reads none by "
                                                       "that name (a misspelt feature, or one added upstream?)")


def test_an_integer_label_value_between_its_classes_that_is_no_class_is_refused_by_validate(tmp_path, capsys):
    """Ecdat's DoctorAUS: doctor visits of the patients without a chronic condition are 0-5, 7 and 8;
    those with a limiting one include 6. The schema's int_domain (0..8) lets 6 pass, which the
    Trainer then failed on; the declared classes stop it, as a string label's domain does."""
    frame = public_datasets.r_dataset("Ecdat", "DoctorAUS")
    healthy, limited = frame[frame["chcond"] == "np"], frame[frame["chcond"] == "la"]
    assert 6 not in set(healthy["doctorco"]) and 6 in set(limited["doctorco"])
    (tmp_path / "np").mkdir()
    (tmp_path / "la").mkdir()
    healthy.to_csv(tmp_path / "np" / "np.csv", index=False)
    limited.to_csv(tmp_path / "la" / "la.csv", index=False)
    folder = str(tmp_path / "doctors")
    assert cli.main(["init", str(tmp_path / "np" / "np.csv"), "--label", "doctorco", "--out", folder]) == 0
    capsys.readouterr()
    assert cli.main(["validate", str(tmp_path / "la" / "la.csv"), "--dataset", folder,
                     "--report", str(tmp_path / "report.html")]) == 1
    said = capsys.readouterr().out
    assert checks.UNKNOWN_CLASS in said and "none of its declared classes (0, 1, 2, 3, 4, 5, 7, 8)" in said, said
    assert re.search(r"\b6\b", said.split(checks.UNKNOWN_CLASS, 1)[1])
    assert cli.main(["validate", str(tmp_path / "np" / "np.csv"), "--dataset", folder,
                     "--report", str(tmp_path / "report.html")]) == 0


def test_true_false_columns_keep_their_two_values_so_other_spellings_are_named(tmp_path, capsys):
    """Ecdat's Treatment with its booleans written TRUE/FALSE, as R writes them: TFDV infers a
    bool_domain, which the draft once dropped, so the same rows written True/False by pandas passed
    the domain check (and `score` gave other probabilities without a warning)."""
    frame = public_datasets.r_dataset("Ecdat", "Treatment")
    flags = [c for c in frame.columns if frame[c].dtype == bool]
    assert {"married", "u74", "u75"} <= set(flags)
    pandas_written = str(tmp_path / "pandas.csv")
    frame.to_csv(pandas_written, index=False)  # True/False
    for column in flags:
        frame[column] = frame[column].map({True: "TRUE", False: "FALSE"})
    (tmp_path / "r").mkdir()
    frame.to_csv(tmp_path / "r" / "treatment.csv", index=False)
    folder = str(tmp_path / "treatment")
    assert cli.main(["init", str(tmp_path / "r" / "treatment.csv"), "--label", "treat", "--out", folder]) == 0
    schema = tfdv.load_schema_text(os.path.join(folder, "schema.pbtxt"))
    assert set(descriptions.known_values(tfdv.get_feature(schema, "married"), schema)) == {"TRUE", "FALSE"}
    capsys.readouterr()
    assert cli.main(["validate", pandas_written, "--dataset", folder, "--report", str(tmp_path / "r.html")]) == 1
    said = capsys.readouterr().out
    assert re.search(r"- married: Unexpected string values.*'True' for 'TRUE'", said), said
