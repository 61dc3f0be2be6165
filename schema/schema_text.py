"""The schema file as text: TFDV's text format under comment lines that say where it came from and
how its drift and skew thresholds were calibrated (the calibration block `comment` writes, which
`calibrate --write` replaces and the gate reads back to tell a small sample from a real change).
TFDV's own writer and reader drop comments, hence this module."""
import os
import re
import textwrap
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import tensorflow as tf
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

import schema as schema_package
from schema import SchemaFileError
from schema.calibration import FACTOR, FLOOR, JSD_MAX, PRESENCE_FACTOR, Calibration
from schema.distances import BUCKETS_TAG, quantile_buckets

BEGIN = "# --- calibration (by `tfxpipe calibrate`; run it again when the data changes a lot) ---"
END = "# --- end of calibration ---"


BY_HAND = "h"  # after a threshold in the block: set by hand, kept by `calibrate` (schema/maintain.py)


def comment(calibration: Calibration, by_hand: Optional[Mapping[Tuple[str, str], Optional[float]]] = None
            ) -> List[str]:
    """The schema's comment block saying how each threshold was obtained; `by_hand`: (feature,
    "drift" or "skew") -> the threshold kept as set by hand, shown instead, marked BY_HAND."""
    by_hand = by_hand or {}
    prose = (f"Each threshold is {FACTOR['quantiles']:g}x ({FACTOR['shares']:g}x over value shares) the "
             f"largest distance TFDV measured (numeric columns over quantile histograms of "
             f"{calibration.quantile_buckets} buckets) between two random disjoint samples of {calibration.source}, "
             f"{calibration.rows} rows, in {calibration.pairs} draws, and at least {FLOOR['quantiles']} "
             f"({FLOOR['shares']} over value shares): samples of {calibration.span_rows} rows (drift, "
             "span vs previous span: the train split of spans of "
             f"{round(calibration.span_rows / schema_package.TRAIN_SHARE)} rows) and serving windows of "
             f"{calibration.window_rows} rows (skew vs training, "
             "`monitor`). Smaller spans or windows are noisier: calibrate with --span-rows/--window-rows. "
             "Optional columns must have a value in at least their share of rows less "
             f"{PRESENCE_FACTOR:g}x its largest difference between two spans, or less a tenth of it if more. "
             f"'-': not checked, as the threshold would reach {JSD_MAX:g}, the largest JSD there is "
             "(the column's values rarely repeat, or the data is too small for its shares or quantiles to "
             "settle), "
             "or, for drift on a calendar part (an hour, day, week, month or quarter by name, within its "
             "values), as spans that are periods move it, "
             f"or, for the label (*), as requests carry no label. '{BY_HAND}' after a threshold: set by hand "
             "(raised, or '-' removed) and kept by `calibrate` until `--discard-edits`.")
    lines = [BEGIN] + [f"# {line}" for line in textwrap.wrap(prose, 98)] + [
             f"#   {'feature':<24} {'JSD over':<11} {'span noise':>10} {'drift <=':>9} "
             f"{'window noise':>12} {'skew <=':>8}"]
    def shown(name: str, check: str, threshold: Optional[float]) -> str:
        if (name, check) in by_hand:
            kept = by_hand[(name, check)]
            return ("-" if kept is None else f"{kept:.3f}") + BY_HAND
        return "-" if threshold is None else f"{threshold:.3f}"

    for name, noise in sorted(calibration.noise.items()):
        shown_name = f"{name} *" if name == calibration.label else name
        lines.append(f"#   {shown_name:<24} {noise.over:<11} {noise.span:>10.4f} "
                     f"{shown(name, 'drift', calibration.drift(name)):>9} {noise.window:>12.4f} "
                     f"{shown(name, 'skew', calibration.skew(name)):>8}")
    return lines + [END]


def read(path: str) -> schema_pb2.Schema:
    """The schema file `path` (local or remote), as `tfdv.load_schema_text` reads it, but a file that
    is missing or unreadable, does not parse (a hand edit gone wrong), has no feature or holds a
    malformed calibration tag raises SchemaFileError naming the file, the line and the way back, not
    protobuf's or TensorFlow's traceback."""
    try:
        if tf.io.gfile.isdir(path):
            raise SchemaFileError(f"schema file {path} is a folder: give the schema.pbtxt file in it")
        if not tf.io.gfile.exists(path):
            raise SchemaFileError(f"schema file {path} does not exist: `tfxpipe init` drafts one from a CSV, "
                                  "or give --schema the curated schema's path")
        with tf.io.gfile.GFile(path, "rb") as f:
            text = f.read().decode("utf-8")
    except (tf.errors.OpError, OSError) as error:
        raise SchemaFileError(f"schema file {path} cannot be read: {error}") from None
    except UnicodeDecodeError:
        raise SchemaFileError(f"schema file {path} is not text (a binary schema?): give the schema.pbtxt "
                              "`tfxpipe init` drafts (TFDV's text format)") from None
    try:
        schema = text_format.Parse(text, schema_pb2.Schema())
    except text_format.ParseError as error:
        where = f", line {error.GetLine()}" if error.GetLine() else ""
        what = re.sub(r"^\d+(:\d+)? : ", "", str(error)).rstrip(".")
        raise SchemaFileError(
            f"schema file {path}{where} is not TFDV's schema text format ({what}): mend the edit "
            "(fields: tensorflow_metadata's schema.proto), or take the committed file back; "
            "`tfxpipe schema-diff --write` changes a schema without editing it by hand") from None
    if not schema.feature:
        raise SchemaFileError(f"schema file {path} declares no feature: `tfxpipe init` drafts one from a CSV")
    try:
        quantile_buckets(schema)
    except ValueError as error:
        line = next((n for n, text_line in enumerate(text.splitlines(), 1) if BUCKETS_TAG in text_line), None)
        raise SchemaFileError(f"schema file {path}{f', line {line}' if line else ''}: {error}") from None
    return schema


def write(schema: schema_pb2.Schema, path: str, header: Sequence[str]) -> None:
    """Writes `schema` as text under the comment lines `header` (TFDV's writer drops comments)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(f"{line}\n" for line in header))
        f.write(text_format.MessageToString(schema))


def header_comment(path: str, keep_calibration: bool = False) -> List[str]:
    """The schema file's leading comment lines, without an earlier calibration block unless
    `keep_calibration`."""
    lines, inside = [], False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                break
            line = line.rstrip("\r\n")
            inside = not keep_calibration and (inside or line == BEGIN)
            if not inside:
                lines.append(line)
            inside = inside and line != END
    return lines


_SAMPLE_ROWS = re.compile(r"samples of (\d+) rows \(drift")
SMALL_SAMPLE = 0.7  # a drift sample this much smaller than the calibrated one is said to be


_WINDOW_ROWS = re.compile(r"serving windows of (\d+) rows")


def calibrated_sample_rows(path: str, sample: "re.Pattern[str]" = _SAMPLE_ROWS) -> Optional[int]:
    """The rows of the samples the drift thresholds (`_WINDOW_ROWS`: skew) of the schema file `path`
    were calibrated on (its calibration comment, as `comment` writes it), or None without one (or a
    file not local)."""
    if not os.path.isfile(path):
        return None
    text = " ".join(line.lstrip("#").strip() for line in header_comment(path, keep_calibration=True))
    found = sample.search(text)
    return int(found.group(1)) if found else None


def small_window_note(path: str, requests: int) -> str:
    """For `monitor`'s findings on a window of `requests` examples, far fewer than the serving windows
    the thresholds of the schema file `path` were calibrated for: that they may be chance."""
    calibrated = calibrated_sample_rows(path, _WINDOW_ROWS)
    if not calibrated or requests >= SMALL_SAMPLE * calibrated:
        return ""
    return (f" The window holds {requests:,} logged examples, fewer than the {calibrated:,} its thresholds were "
            "calibrated for, and smaller samples differ more by chance: check a longer window "
            "(--window-minutes), or calibrate for this size (`tfxpipe calibrate --window-rows "
            f"{requests} --write`).")


def small_sample_note(path: str, rows: int) -> str:
    """For drift found on samples of `rows` rows, far fewer than the thresholds in the schema file
    `path` were calibrated for: that smaller samples differ more by chance, and how to calibrate."""
    calibrated = calibrated_sample_rows(path)
    if not calibrated or rows >= SMALL_SAMPLE * calibrated:
        return ""
    return (f" Drift was measured on {rows:,} rows, fewer than the {calibrated:,} its thresholds were "
            "calibrated for, and smaller samples differ more by chance: if nothing changed, calibrate "
            f"for this size, `tfxpipe calibrate --span-rows {round(rows / schema_package.TRAIN_SHARE)} --write`.")


_ROW = re.compile(r"#   (.+?)(?: \*)? +(?:shares|quantiles) +[\d.]+ +([\d.]+|-)(h?) +[\d.]+ +([\d.]+|-)(h?)$")
Recorded = Union[None, float, str]  # a threshold, None for '-', BY_HAND for one kept as set by hand


def calibrated_thresholds(path: str) -> Dict[str, Tuple[Recorded, Recorded]]:
    """(drift, skew) threshold of each feature as the last calibration of the schema file `path` set
    them (None: '-', left unchecked; BY_HAND: kept as set by hand), read from its calibration
    comment; {} without one."""
    if not os.path.isfile(path):
        return {}
    found = {}
    for line in header_comment(path, keep_calibration=True):
        row = _ROW.match(line)  # header_comment drops "\r\n"
        if row:
            found[row.group(1)] = tuple(BY_HAND if hand else None if value == "-" else float(value)
                                        for value, hand in (row.group(2, 3), row.group(4, 5)))
    return found
