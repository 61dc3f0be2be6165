"""Benchmarks: each prints a table with verdicts and writes it to docs/benchmarks.md.

Quiet like every command of the project: TensorFlow's C++ start-up noise is hidden (its logger reads
the level once, when TensorFlow loads).
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
