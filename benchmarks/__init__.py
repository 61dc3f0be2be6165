"""Benchmarks: each prints a table with verdicts and writes it to docs/benchmarks.md.

Quiet like every command of the project (`pipeline.progress.quiet_native_logs`, set here before any
benchmark loads TensorFlow): TensorFlow's C++ start-up noise and library warnings are hidden.
"""
from pipeline import progress

progress.quiet_native_logs(verbose=False)
