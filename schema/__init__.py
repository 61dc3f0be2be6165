"""Checks data against a dataset's curated schema (the data contract, `datasets/<name>/schema.pbtxt`),
reports what is wrong in plain words, and drafts and maintains curated schemas."""

REPORT_FILE = "data_validation.html"  # the readable report of a validation, gate's or `validate`'s
WINDOW_ROWS = 1000  # the serving window (requests) drift and skew thresholds are calibrated for
# The pipeline splits each span 4:1 into train and eval; the gate checks drift on the train split
# (the eval split is a random fifth of the same span), so a span's drift is measured on this share.
TRAIN_BUCKETS, EVAL_BUCKETS = 4, 1
TRAIN_SHARE = TRAIN_BUCKETS / (TRAIN_BUCKETS + EVAL_BUCKETS)
