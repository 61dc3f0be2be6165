"""The `tfxpipe` command line, on top of the pipeline (`pipeline/`) and the model server (`serving/`).

TensorFlow's C++ logger reads its level once, when TensorFlow loads, and the imports of almost every
command load it: the quiet default is set here, before any of them.
"""
import sys

from pipeline import progress

progress.quiet_native_logs("--verbose" in sys.argv[1:])
