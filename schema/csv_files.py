"""CSV files as the pipeline reads them (the folders that hold them: `schema/data_folder.py`): the
header as CSV writers write it (quoted names, a byte-order mark), what TFX's CSV reader cannot parse
or would misread (empty or header-only files, compressed files and other formats, UTF-16 and other
undecodable bytes, a wrong delimiter, a space after every comma, a name used twice, a quote that
never closes, a NUL byte, ragged rows, the header repeated in the rows, files whose headers differ)
and a header that does not match the schema's columns (TFDV cannot tell an absent column from an
empty optional one). Files with structural problems never reach CsvExampleGen; `schema/checks.py`
checks the statistics of the rest (`schema/csv_statistics.py`). The checks stream each file, so they
run on a file of any size in flat memory, as the pipeline reads it.
"""
import codecs
import csv
import dataclasses
import os
import re
from typing import Collection, Iterator, List, Optional, Sequence, Tuple

from tensorflow_metadata.proto.v0 import schema_pb2

from schema.checks import FILE, Finding, expected_columns, optional_columns
from schema.data_folder import data_files
from schema import foreign_files
from schema.descriptions import MAX_EXAMPLES, loose_key

UNEXPECTED_COLUMN = "Unexpected column"  # a header's column the schema does not know
TRAINING_ONLY_COLUMN = "Label in serving data"  # a column the schema keeps out of SERVING: the label
# UTF-8, with the byte-order mark that Excel's "CSV UTF-8" and Windows tools write dropped (else it
# becomes part of the first column's name)
ENCODING = "utf-8-sig"


def parse_header(first_line: bytes) -> List[str]:
    """The column names in a CSV file's first line, parsed as CSV: quoted names unquoted (R's
    write.csv and pandas' QUOTE_NONNUMERIC quote every name), commas inside quotes kept, a
    byte-order mark dropped. TFX's CSV reader splits the line at commas instead
    (`io_utils.load_csv_column_names`), which names a column `"species"`, quotes included."""
    return next(csv.reader([first_line.decode(ENCODING).rstrip("\r\n")]), [])


def file_header(path: str) -> List[str]:
    """The column names of a local CSV file (`parse_header` of its first line)."""
    with open(path, "rb") as f:
        return parse_header(f.readline())


def _listed(names: Sequence[str], width: int = 120) -> str:
    """Whole names, joined, up to about `width` characters, then how many more there are."""
    shown: List[str] = []
    for name in names:
        if shown and len(", ".join([*shown, name])) > width:
            return ", ".join(shown) + f", ... ({len(names) - len(shown)} more)"
        shown.append(name)
    return ", ".join(shown)


RAGGED_ROWS = "Ragged rows"
REPEATED_HEADER = "Header repeated"
UNNAMED = "(unnamed column)"
UNNAMED_COLUMN = ("an unnamed column, most often a row index (pandas' to_csv writes one unless given "
                  "index=False)")
# pandas' read_csv names a column with an empty header so: the row index of a file read and written again
_PANDAS_UNNAMED = re.compile(r"Unnamed: \d+(\.\d+)?")  # `.1`: a second one, after two round trips


def _unexpected(name: str, column: str) -> str:
    if not column:
        return f"{name} has {UNNAMED_COLUMN}"
    if _PANDAS_UNNAMED.fullmatch(column):
        return (f"{name} has a '{column}' column, pandas' name for a column with an empty header: most often "
                "the row index of a file read with read_csv and written again with to_csv; read it with "
                "index_col=0 or write it with index=False")
    return f"{name} has a '{column}' column the schema does not know"


def other_dataset(name: str, header: Sequence[str], columns: Sequence[str], dataset: str,
                  optional: Collection[str] = ()) -> Optional[Finding]:
    """A finding when most of the dataset's `columns` are absent from `header`: not a broken file of
    this dataset but other data (a --dataset left out reads the default one)."""
    missing = [c for c in columns if c not in header and c not in optional]
    if len(missing) * 2 <= len(columns):
        return None
    return Finding(FILE, "Not this dataset's data",
                   f"{name} does not match dataset '{dataset}': its header holds {len(columns) - len(missing)} "
                   f"of the dataset's {len(columns)} columns. For a new dataset, draft "
                   f"its folder with `tfxpipe init {name} --label COLUMN`; else pass the right "
                   f"--dataset", f"the columns of dataset '{dataset}'", f"header: {_listed(header)}")


def _header_findings(name: str, header: List[str], columns: Sequence[str], dataset: str = "",
                     optional: Collection[str] = ()) -> List[Finding]:
    shown = _listed(header)
    missing = [c for c in columns if c not in header and c not in optional]
    unexpected = [c for c in header if c not in columns]
    other = other_dataset(name, header, columns, dataset, optional) if dataset else None
    if other:
        return [other]
    near = {c: next((u for u in unexpected if loose_key(c) and loose_key(u) == loose_key(c)), None) for c in missing}
    return [Finding(c, "Column missing", f"{name} has no '{c}' column" + (
        f"; its '{near[c]}' differs only in case or punctuation: rename it" if near[c] else ""),
                    f"a '{c}' column", f"header: {shown}") for c in missing] + [
            Finding(c or UNNAMED, UNEXPECTED_COLUMN, _unexpected(name, c), "only the schema's columns",
                    f"header: {shown}") for c in unexpected]


@dataclasses.dataclass
class _Scan:
    """What the checks read of a file, in one streaming pass: flat memory whatever its size, as the
    pipeline's own reader (a whole file held as rows takes many times its size)."""
    rows: List[List[str]] = dataclasses.field(default_factory=list)  # the first SPACE_ROWS, header included
    data_rows: int = 0  # non-blank rows after the header
    ragged_count: int = 0  # of them, rows with another number of fields than the header
    ragged: List[int] = dataclasses.field(default_factory=list)  # the first few: index among data rows + 2
    headers_count: int = 0  # data rows that repeat the header (CSV files joined, each with its header)
    headers: List[int] = dataclasses.field(default_factory=list)  # the first few: their line numbers
    blank: bool = True  # nothing but whitespace so far
    undecodable: Optional[Tuple[int, int, bytes]] = None  # line, byte offset, bytes from there
    # line and text where a quote opened that no later line closes (CsvExampleGen's rule, quote parity)
    open_quote: Optional[Tuple[int, str]] = None
    unreadable: Optional[Tuple[int, str]] = None  # line where the CSV reader failed, and why


def _decoded_lines(f, scan: _Scan) -> Iterator[str]:
    """The text lines of binary file `f` (as `str.splitlines` splits them); stops at the first line
    that is not UTF-8, noting where in `scan`."""
    offset = 0
    for number, line in enumerate(f, 1):
        try:
            text = line.decode(ENCODING)  # a byte-order mark also where a file joined to this one began
        except UnicodeDecodeError as error:
            at = error.start + (len(codecs.BOM_UTF8) if line.startswith(codecs.BOM_UTF8) else 0)
            scan.undecodable = (number, offset + at, line[at : at + 8])
            return
        scan.blank = scan.blank and not line.strip()
        offset += len(line)
        if text.count('"') % 2:
            scan.open_quote = None if scan.open_quote else (number, text.strip()[:80])
        yield from text.splitlines()


def _scan(f) -> _Scan:
    scan = _Scan()
    reader = csv.reader(_decoded_lines(f, scan))
    try:
        header = next(reader, None)
        if header is None:
            return scan
        scan.rows.append(header)
        for row in reader:
            if len(scan.rows) < foreign_files.SPACE_ROWS:
                scan.rows.append(row)
            if row:
                scan.data_rows += 1
                if row == header:
                    scan.headers_count += 1
                    if len(scan.headers) < MAX_EXAMPLES:
                        scan.headers.append(reader.line_num)
                elif len(row) != len(header):
                    scan.ragged_count += 1
                    if len(scan.ragged) < MAX_EXAMPLES:
                        scan.ragged.append(scan.data_rows + 1)
    except csv.Error as error:  # a NUL byte; a field past csv's size limit (an unclosed quote)
        scan.unreadable = (reader.line_num, str(error))
    return scan


def check_csv_file(path: str, columns: Sequence[str] = (), dataset: str = "",
                   optional: Collection[str] = ()) -> List[Finding]:
    """Structural problems of one CSV file; with `columns`, also a header that does not match: one
    that lacks a column but an `optional` one, or has another (with `dataset`, a header that has
    little in common with it is called out as such, once)."""
    name = os.path.basename(path)
    with open(path, "rb") as f:
        start = f.read(max(len(magic) for magic, _, _ in foreign_files.PACKED))
        for magic, what, action in foreign_files.PACKED:
            if start.startswith(magic):
                return [Finding(FILE, "Not a CSV file", f"{name} is {what}, not CSV text",
                                f"plain CSV text ({action})", f"starts with {start[:4]!r}")]
        if start.startswith(foreign_files.UTF16_MARKS):
            return [Finding(FILE, "Undecodable bytes", f"{name} is UTF-16 text, not UTF-8",
                            "UTF-8 encoded CSV (convert it, e.g. with pandas: pd.read_csv(FILE, "
                            "encoding='utf-16').to_csv(NEW_FILE, index=False))",
                            f"starts with the UTF-16 byte-order mark {start[:2]!r}")]
        f.seek(0)
        scan = _scan(f)
    if scan.undecodable:
        line, offset, bad = scan.undecodable
        return [Finding(FILE, "Undecodable bytes", f"{name} is not UTF-8 text (line {line})",
                        f"UTF-8 encoded CSV (convert it, e.g. with pandas: {foreign_files.reencoded(bad[:1])})",
                        f"byte {bad[:1]!r} at offset {offset}", (repr(bad),))]
    if scan.open_quote:
        line, text = scan.open_quote
        return [Finding(FILE, "Unclosed quote",
                        f"{name}: a quote (\") on line {line} opens a field that no later line closes, "
                        "so the rest of the file would read as one cell",
                        'quotes in pairs (a quote inside a quoted field is doubled: "")', f"line {line}",
                        (text,))]
    if scan.unreadable:
        line, error = scan.unreadable
        return [Finding(FILE, "Unreadable CSV", f"{name}: line {line} cannot be read as CSV ({error})",
                        "CSV text (a NUL byte comes from a binary or damaged file)", f"line {line}")]
    if scan.blank:
        return [Finding(FILE, "Empty file", f"{name} is empty", "a header row and data rows", "0 rows")]
    rows = scan.rows
    header = rows[0]
    if len(header) == 1:
        for delimiter in foreign_files.DELIMITERS:
            if delimiter in header[0]:
                return [Finding(FILE, "Wrong delimiter", f"{name} is not comma-separated",
                                "comma-separated columns (convert it, e.g. with pandas: pd.read_csv("
                                f"FILE, sep={delimiter!r}).to_csv(NEW_FILE, index=False), adding "
                                "decimal=',' for numbers written 3,14)",
                                f"one column; {delimiter!r} separates the header", (header[0][:80],))]
        if foreign_files.space_separated(rows):
            words = header[0].split()
            return [Finding(FILE, "Wrong delimiter", f"{name} is not comma-separated",
                            "comma-separated columns (convert it, e.g. with pandas: pd.read_csv(FILE, "
                            "sep=r'\\s+').to_csv(NEW_FILE, index=False))",
                            f"one column; spaces separate the header and each row into {len(words)} fields",
                            (header[0][:80],))]
    spaced = [cell for row in rows[:foreign_files.SPACE_ROWS] for cell in row[1:] if cell]
    if spaced and sum(cell.startswith(" ") for cell in spaced) >= foreign_files.SPACE_SHARE * len(spaced):
        numbers = [cell for cell in spaced if re.fullmatch(r" +-?[\d.]+", cell)]
        return [Finding(FILE, "Spaces after commas",
                        f"{name} separates its fields with ', ': a cell such as "
                        f"{(numbers or spaced)[0]!r} keeps its space, so it reads as text",
                        "no space after the comma (convert it, e.g. with pandas: pd.read_csv(FILE, "
                        "skipinitialspace=True).to_csv(NEW_FILE, index=False))",
                        "fields that start with a space", tuple(map(repr, spaced[:MAX_EXAMPLES])))]
    repeated = sorted({column for column in header if header.count(column) > 1})
    if repeated:
        return [Finding(FILE, "Repeated column names",
                        f"{name} names more than one column {', '.join(map(repr, repeated))}: each "
                        "column needs a name of its own", "distinct column names",
                        f"header: {_listed(header)}", tuple(repeated))]
    if not scan.data_rows:
        return [Finding(FILE, "No data rows", f"{name} has a header but no rows",
                        "at least one data row", "header only", (_listed(header, 80),))]
    if scan.headers:  # files joined with `cat`: a row of text in every column, the gate would take as data
        many = scan.headers_count > 1
        lines = ", ".join([f"line {n}" for n in scan.headers] + ["..."] * (scan.headers_count > len(scan.headers)))
        return [Finding(FILE, REPEATED_HEADER, f"{name}: {lines} {'repeat' if many else 'repeats'} the header (files "
                        f"joined with their headers?): remove {'them' if many else 'it'}", "the header on the first "
                        "line only", f"{scan.headers_count} header line(s) among the rows",
                        tuple(f"line {n}" for n in scan.headers))]
    if scan.ragged:
        return [Finding(FILE, RAGGED_ROWS, f"{name}: rows with a different number of fields than the header",
                        f"{len(header)} fields per row",
                        f"{scan.ragged_count} {'rows differ' if scan.ragged_count > 1 else 'row differs'}",
                        tuple(f"line {n}" for n in scan.ragged))]
    return _header_findings(name, header, columns, dataset, optional) if columns else []


def check_csv_folder(folder: str, columns: Sequence[str] = (), dataset: str = "",
                     optional: Collection[str] = ()) -> List[Finding]:
    files = data_files(folder)
    if not files:
        return [Finding(FILE, "No data files", f"{folder} holds no CSV files", "CSV files", "none")]
    found = [finding for path in files for finding in check_csv_file(path, columns, dataset, optional)]
    return found or _header_agreement(files)


def _header_agreement(files: Sequence[str]) -> List[Finding]:
    """The files of one folder are read as one table under one header (TFX's CSV reader refuses
    others with "Files in same split ... have different header", naming none)."""
    first = file_header(files[0])
    differ = [path for path in files[1:] if file_header(path) != first]
    if not differ:
        return []
    names = [os.path.basename(p) for p in differ]
    return [Finding(FILE, "Different headers",
                    f"{_listed(names, 80)} list(s) the columns differently from "
                    f"{os.path.basename(files[0])}: the files of one folder are read as one table. "
                    "Write every file with the same columns in the same order",
                    f"the header of {os.path.basename(files[0])}: {_listed(first)}",
                    f"{names[0]}: {_listed(file_header(differ[0]))}")]


def check_csv_path(path: str, columns: Sequence[str] = (), dataset: str = "",
                   optional: Collection[str] = ()) -> List[Finding]:
    """`check_csv_folder` for a folder, `check_csv_file` for a file."""
    if os.path.isdir(path):
        return check_csv_folder(path, columns, dataset, optional)
    return check_csv_file(path, columns, dataset, optional)


def check_against_schema(path: str, schema: schema_pb2.Schema, dataset: str, read: Sequence[str],
                         environment: str = "TRAINING") -> List[Finding]:
    """`check_csv_path` with the columns `schema` expects in `environment` (TRAINING or SERVING):
    columns the model does not `read` (features and label) and the schema does not require may be
    left out; in serving data, a column the schema keeps for training (the label) is told as such,
    not as one the schema does not know."""
    findings = check_csv_path(path, expected_columns(schema, environment), dataset,
                              optional_columns(schema, read))
    training_only = set(expected_columns(schema)) - set(expected_columns(schema, environment))
    return [dataclasses.replace(
        finding, problem=TRAINING_ONLY_COLUMN,
        detail=f"'{finding.feature}' holds the label, which requests do not carry: for training data, "
               "validate without --skew-against; for requests joined with their outcomes, drop the "
               "column first", expected="the features a request carries")
        if finding.problem == UNEXPECTED_COLUMN and finding.feature in training_only else finding
        for finding in findings]
