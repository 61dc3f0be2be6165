"""Checks data against a dataset's curated schema (the data contract, `datasets/<name>/schema.pbtxt`),
reports what is wrong in plain words, and drafts and maintains curated schemas."""

from typing import Tuple

REPORT_FILE = "data_validation.html"  # the readable report of a validation, gate's or `validate`'s
WINDOW_ROWS = 1000  # the serving window (requests) drift and skew thresholds are calibrated for
# The pipeline splits each span 4:1 into train and eval; the gate checks drift on the train split
# (the eval split is a random fifth of the same span), so a span's drift is measured on this share.
TRAIN_BUCKETS, EVAL_BUCKETS = 4, 1
TRAIN_SHARE = TRAIN_BUCKETS / (TRAIN_BUCKETS + EVAL_BUCKETS)
# A column of calendar years (`year`, `YearBuilt`) moves by design: each new span may bring later
# years, so it has no drift or skew check, and its range is these years (a two-digit year or another
# unit fails the gate). `init` drafts it so, and `calibrate` leaves it so.
CALENDAR_YEARS = (1900, 2100)
# Earlier years count too (baseball's seasons from 1871, wheat prices from 1565): the range then
# starts at the century of the first one.
EARLIEST_CALENDAR_YEAR = 1500


def calendar_years(first_year: float) -> Tuple[int, int]:
    """The range a column of years from `first_year` on is kept in."""
    low, high = CALENDAR_YEARS
    return min(low, int(first_year) // 100 * 100), high


class SchemaFileError(ValueError):
    """A schema file that is missing or cannot be read (`schema_text.read` names the line and how to
    mend it); defined here, where the command line catches it without importing TensorFlow."""


def is_calendar_year(feature) -> bool:
    """Whether a schema feature is kept in calendar years (`calendar_years`): a column of years."""
    domain = feature.int_domain if feature.HasField("int_domain") else \
        feature.float_domain if feature.HasField("float_domain") else None
    return domain is not None and domain.max == CALENDAR_YEARS[1] and domain.min % 100 == 0 \
        and EARLIEST_CALENDAR_YEAR <= domain.min <= CALENDAR_YEARS[0]
