"""Checks data against a dataset's curated schema (the data contract, `datasets/<name>/schema.pbtxt`),
reports what is wrong in plain words, and drafts and maintains curated schemas."""

REPORT_FILE = "data_validation.html"  # the readable report of a validation, gate's or `validate`'s
WINDOW_ROWS = 1000  # the serving window (requests) drift and skew thresholds are calibrated for
