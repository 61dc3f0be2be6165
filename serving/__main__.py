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
parser.add_argument("--parent-pid", type=int, help="end when this process, which started the server "
                    "for a bounded job, ends (serving/process.py); `tfxpipe serve` has no such option")
arguments = parser.parse_args()
if not arguments.model_config_file and not (arguments.serving_dir and arguments.model_name):
    parser.error("give --serving-dir and --model-name, or --model-config-file")
if arguments.parent_pid is not None:  # before TensorFlow loads: seconds in which the parent may die
    process_exit.end_with_parent(arguments.parent_pid)
process_exit.exit_now(commands.serve(arguments))
