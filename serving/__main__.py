"""`python -m serving --serving-dir DIR --model-name NAME ...`: the model server alone, as infra
validation and the tests start it in a child process (`tfxpipe serve` is the same command)."""
import argparse
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: CUDA/TensorRT noise
warnings.filterwarnings("ignore")  # e.g. google-api-core's FutureWarning about Python 3.10

from serving import commands, process_exit  # noqa: E402

parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__)
commands.add_serve_options(parser, serving_dir=None, model_name=None)
arguments = parser.parse_args()
if not arguments.model_config_file and not (arguments.serving_dir and arguments.model_name):
    parser.error("give --serving-dir and --model-name, or --model-config-file")
process_exit.exit_now(commands.serve(arguments))
