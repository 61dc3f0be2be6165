"""What a data file most likely is when it is not the comma-separated UTF-8 text the pipeline reads
(another format, by the bytes it starts with; another encoding; another delimiter), for the
refusals of `schema/csv_files.py`, each with the pandas line that converts the file; and a first
line that is data, not column names, for `init`."""
import codecs
from typing import List

DELIMITERS = (";", "\t", "|")
# A file whose fields nearly all start with a space (UCI's adult.data, some exports) was written with
# ", " between fields; CSV readers, TFX's included, keep the space, so no number in it reads as one
SPACE_ROWS, SPACE_SHARE = 200, 0.9
# What a data folder sometimes holds instead of CSV text, by the bytes it starts with
PACKED = ((b"\x1f\x8b", "gzip-compressed", "decompress it with gunzip"),
          (b"PK\x03\x04", "a zip archive or an Excel workbook", "unzip it, or save the sheet as CSV"),
          (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook", "save the sheet as CSV"),
          (b"\xfd7zXZ\x00", "xz-compressed", "decompress it with unxz"),
          (b"PAR1", "a Parquet file", "write it as CSV, e.g. pd.read_parquet(FILE).to_csv(NEW_FILE)"))
# Excel's "Unicode text" and Windows tools write UTF-16, which starts with one of these byte-order marks
UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def space_separated(rows: List[List[str]]) -> bool:
    """Whether one-column `rows` (the header first) are fields separated by spaces: each row splits
    into as many as the header, and the data holds numbers (a column of names, `New York`, does not)."""
    width = len(rows[0][0].split())
    data = [row[0].split() for row in rows[1:] if row]
    return width > 1 and bool(data) and all(len(row) == 1 for row in rows[1:] if row) \
        and all(len(fields) == width for fields in data) \
        and sum(_is_number(field) for fields in data for field in fields) >= width * len(data) / 2


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def reencoded(byte: bytes) -> str:
    """The pandas line that writes the file as UTF-8: from Windows' encoding (cp1252, what a CSV saved
    on Windows most often is) where it reads `byte`, else from the encoding the file was saved in."""
    try:
        read_as = repr(byte.decode("cp1252"))
    except UnicodeDecodeError:
        return "pd.read_csv(FILE, encoding=ITS_ENCODING).to_csv(NEW_FILE, index=False)"
    return (f"pd.read_csv(FILE, encoding='cp1252').to_csv(NEW_FILE, index=False): Windows' encoding, in "
            f"which {byte!r} is {read_as}; name another if the file was saved in another")


def header_of_data(header: List[str]) -> str:
    """What a user is told of a first line holding numbers, most often a file without a header line
    (scikit-learn's own iris.csv starts `150,4,setosa,...`): CSV readers take its cells for column
    names, and the first row is lost. "" when no name is a number."""
    numbers = [name for name in header if _is_number(name.strip())]
    if not numbers:
        return ""
    return (f"columns named by numbers ({', '.join(map(repr, numbers[:5]))}{', ...' if len(numbers) > 5 else ''}): "
            "if the file's first line is data rather than column names, add a first line naming the "
            "columns and run init again")
