"""schema/written_numbers.py on real public tables (palmerpenguins, vega_datasets) written as people
write numbers: the conversion told reads every column back right, run as told; one stray cell is a
slip, not a column so written; cells that read as either writing are said; IDs, times, versions
and lists are not numbers written for people."""
import os
import re

import pandas as pd
import pytest

from benchmarks import public_datasets
from schema import cell_counts, infer, written_numbers

MISSING = ["", "NA"]


def _penguins(folder) -> pd.DataFrame:
    """palmerpenguins as the package ships it, read as numbers (empty where `NA`)."""
    public_datasets.PENGUINS.write_csv(str(folder / "shipped.csv"))
    return pd.read_csv(folder / "shipped.csv")


def _cars() -> pd.DataFrame:
    import vega_datasets  # pylint: disable=import-outside-toplevel
    return pd.read_json(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "cars.json"))


def _dot_thousands(number: float) -> str:
    """3750.0 as `3.750,0`, as German spreadsheets write it."""
    return "{:,.1f}".format(number).translate(str.maketrans(",.", ".,"))


def _refusal(path: str, label: str, **options) -> str:
    with pytest.raises(infer.InitError) as refused:
        infer.infer(path, label, **options)
    return str(refused.value)


def _run_advice(told: str, path: str, folder) -> pd.DataFrame:
    """The file the refusal's pandas conversion writes, run as told, read back."""
    code = re.search(r"with pandas: (.*?\.to_csv\(NEW_FILE, index=False\))", told).group(1)
    converted = str(folder / "converted.csv")
    exec(code, {"pd": pd, "FILE": path, "NEW_FILE": converted})  # pylint: disable=exec-used
    return pd.read_csv(converted)


@pytest.mark.parametrize("dotted, call", [
    (False, "pd.read_csv(FILE, decimal=',')"),
    (True, "pd.read_csv(FILE, decimal=',', thousands='.')"),
])
def test_the_decimal_comma_call_reads_dots_as_thousands_only_where_a_cell_has_them(tmp_path, dotted, call):
    """penguins with decimal commas (`39,1`), body masses with dot thousands (`3.750,0`) or not:
    `thousands='.'` is told only for the latter, and the call told reads the numbers back."""
    frame = _penguins(tmp_path)
    written = frame.assign(body_mass_g=frame["body_mass_g"].map(_dot_thousands, na_action="ignore")) \
        if dotted else frame
    path = str(tmp_path / "written.csv")
    written.to_csv(path, index=False, decimal=",")
    told = _refusal(path, "species")
    assert f"with pandas: {call}.to_csv(NEW_FILE, index=False)" in told
    pd.testing.assert_frame_equal(_run_advice(told, path, tmp_path), frame)


@pytest.mark.parametrize("case, write", [
    ("both writings", lambda frame: frame.assign(
        bill_length_mm=frame["bill_length_mm"].map(lambda x: f"{x}".replace(".", ","), na_action="ignore"),
        body_mass_g=frame["body_mass_g"].map("{:,.0f}".format, na_action="ignore"))),
    ("decimal commas beside dot decimals", lambda frame: frame.assign(
        bill_length_mm=frame["bill_length_mm"].map(lambda x: f"{x}".replace(".", ","), na_action="ignore"))),
])
def test_a_file_no_single_read_csv_call_reads_right_is_told_a_conversion_per_column(tmp_path, case, write):
    """penguins' bill lengths with decimal commas beside body masses with thousands separators, or
    beside bill depths with dot decimals (which `thousands='.'` would read 18.7 as 187): each column
    is read as text and converted on its own; run as told, every number comes back."""
    frame = _penguins(tmp_path)
    path = str(tmp_path / "mixed.csv")
    write(frame).to_csv(path, index=False)
    told = _refusal(path, "species")
    assert "no single pd.read_csv call reads every column of this file right" in told, case
    assert "decimal commas in 'bill_length_mm' (line 2: '39,1')" in told
    pd.testing.assert_frame_equal(_run_advice(told, path, tmp_path), frame)


def test_thousands_that_read_as_decimal_commas_too_are_said_to_be_checked(tmp_path):
    """vega_datasets' cars weigh 1,613 to 5,140 lbs: each such cell is as well a decimal comma with
    three decimals (fuel prices, 1,759 EUR/l); penguins' masses in milligrams (3,750,000) are not."""
    cars = _cars()
    cars["Weight_in_lbs"] = cars["Weight_in_lbs"].map("{:,.0f}".format)
    path = str(tmp_path / "cars.csv")
    cars.to_csv(path, index=False)
    told = _refusal(path, "Origin")
    assert "thousands separators in 'Weight_in_lbs' (line 2: '3,504')" in told
    assert "The cells of 'Weight_in_lbs' also read as decimal commas" in told
    assert "check which is meant" in told
    frame = _penguins(tmp_path)
    milligrams = frame.assign(
        body_mass_g=(frame["body_mass_g"] * 1000).map("{:,.0f}".format, na_action="ignore"))
    milligrams.to_csv(path, index=False)
    told = _refusal(path, "species")
    assert "thousands separators in 'body_mass_g' (line 2: '3,750,000')" in told
    assert "also read as decimal commas" not in told


def test_one_stray_cell_with_a_thousands_separator_is_a_slip_named_by_its_line(tmp_path):
    """penguins' body masses (`3750.0`) with one written `3,800`: not a column written for people,
    but a number with a slip, whose line the refusal of misfits among numbers names."""
    frame = _penguins(tmp_path)
    written = frame.astype({"body_mass_g": object})
    written.loc[1, "body_mass_g"] = "{:,.0f}".format(frame.loc[1, "body_mass_g"])
    path = str(tmp_path / "slip.csv")
    written.to_csv(path, index=False)
    told = _refusal(path, "species")
    assert "written for people" not in told
    assert "'body_mass_g': 1 cell(s), line 3: '3,800'" in told


def test_the_refusal_names_text_column_as_the_way_out_for_a_column_that_is_not_numbers(tmp_path):
    """penguins with decimal commas: the refusal says `--text-column NAME`, and a column so named
    is kept as text (the others still refused)."""
    path = str(tmp_path / "written.csv")
    _penguins(tmp_path).to_csv(path, index=False, decimal=",")
    told = _refusal(path, "species")
    assert told.endswith("A column that is not numbers at all is kept as text with --text-column NAME")
    kept = _refusal(path, "species", text_columns=["bill_length_mm"])
    assert "'bill_length_mm'" not in kept and "3 column(s)" in kept


def test_ids_times_versions_and_lists_are_not_numbers_written_for_people(tmp_path):
    """From penguins and cars: zero-padded IDs (`00181`), times (`19.07`), versions (`3.18.2007`)
    and lists (`8,130,70`), as such columns hold them."""
    frame = _penguins(tmp_path).dropna()
    cars = _cars().dropna()
    flipper, depth, year = frame["flipper_length_mm"].astype(int), frame["bill_depth_mm"].astype(int), frame["year"]
    columns = {
        "id": flipper.map("{:05d}".format),
        "time": (depth.astype(str) + "." + flipper.mod(60).map("{:02d}".format)),
        "version": (flipper.mod(7).astype(str) + "." + depth.astype(str) + "." + year.astype(str)),
        "list": (cars["Cylinders"].astype(str) + "," + cars["Horsepower"].astype(int).astype(str) + ","
                 + cars["Displacement"].astype(int).astype(str)),
    }
    for name, cells in columns.items():
        counted = cell_counts.ColumnCells(MISSING)
        counted.add(list(cells))
        assert written_numbers.writing(counted, MISSING) is None, name
