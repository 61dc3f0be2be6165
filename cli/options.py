"""Options shared by several commands, with their defaults read from the settings dataclasses
(`pipeline/configs.py`), never typed again here."""
import argparse
import dataclasses
import json
import os
import shlex
import sys
from typing import Tuple

from models import dataset as dataset_module, training_length
from pipeline import configs, metadata_store, profiles
from pipeline.configs import ConfigError, PipelineConfig, check_hyperparameters

DEFAULTS = PipelineConfig()
DATASETS_DIR = configs.DATASETS_DIR


def add_dataset_option(parser: argparse.ArgumentParser, by_pipeline_name: bool = False) -> None:
    """`--dataset`; `by_pipeline_name`: its default is None, resolved by `dataset_of_pipeline`."""
    if by_pipeline_name:
        parser.add_argument("--dataset", dest="dataset_dir", default=None,
                            help="dataset folder: dataset.yaml + schema.pbtxt (default: the folder under "
                                 f"datasets/ named as --pipeline-name, else the bundled demo, {DEFAULTS.dataset_dir})")
        return
    parser.add_argument("--dataset", dest="dataset_dir", default=DEFAULTS.dataset_dir,
                        help="dataset folder: dataset.yaml + schema.pbtxt (default: the bundled demo, "
                             "%(default)s)")


def dataset_flag(args: argparse.Namespace) -> str:
    """` --dataset DIR` for a command this one suggests, when DIR is not the default one."""
    return configs.dataset_flag(args.dataset_dir)


def model_flags(args: argparse.Namespace) -> str:
    """`dataset_flag`, and the --serving-dir, --model-name, --work-dir and --pipeline-name this
    command was given (those it has): what a command it suggests needs to act on the same model."""
    given = (("--serving-dir", "serving_dir", DEFAULTS.serving_dir), ("--model-name", "model_name", None),
             ("--work-dir", "work_dir", DEFAULTS.work_dir), ("--pipeline-name", "pipeline_name", None))
    return dataset_flag(args) + "".join(
        f" {flag} {shlex.quote(getattr(args, name))}" for flag, name, default in given
        if getattr(args, name, None) and getattr(args, name) != default)


def schema_flags(args: argparse.Namespace) -> str:
    """`dataset_flag`, and ` --schema FILE` where this command was given one: what a command it
    suggests needs to work on the same schema."""
    return dataset_flag(args) + (f" --schema {shlex.quote(args.schema)}" if args.schema else "")


def add_metadata_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metadata", help="ML Metadata store: sqlite:///PATH (default: under the work "
                        "dir), postgresql://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB; password "
                        f"in ${metadata_store.PASSWORD_VARIABLE} or --metadata-password-file")
    parser.add_argument("--metadata-password-file", help="file holding the metadata server's password")


def add_history_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work-dir", default=DEFAULTS.work_dir, help="pipeline root and MLMD (default: %(default)s)")
    parser.add_argument("--pipeline-name", help="default: the dataset's name")
    add_metadata_options(parser)


def metadata_uri(args: argparse.Namespace):
    """`--metadata` checked (ConfigError naming what is wrong); a password file goes where
    pipeline/metadata_store.py reads it, so the password never sits in a config or a message."""
    if getattr(args, "metadata_password_file", None):
        if not os.path.isfile(args.metadata_password_file):
            raise configs.ConfigError(f"--metadata-password-file {args.metadata_password_file} "
                                      "does not exist")
        os.environ[metadata_store.PASSWORD_FILE_VARIABLE] = os.path.abspath(args.metadata_password_file)
    if args.metadata:
        try:
            metadata_store.check(args.metadata)
        except metadata_store.MetadataURIError as error:
            raise configs.ConfigError(str(error)) from None
    return args.metadata


def dataset(args: argparse.Namespace) -> dataset_module.Dataset:
    """The `--dataset` declaration (ConfigError, which the command line prints, when it is wrong)."""
    return dataclasses.replace(DEFAULTS, dataset_dir=args.dataset_dir).dataset()


def dataset_of_pipeline(args: argparse.Namespace) -> dataset_module.Dataset:
    """The dataset whose runs a reading command shows (its task picks the metric columns), for a
    command whose --dataset defaults to None: the --dataset given; else, for a --pipeline-name other
    than the default dataset's, the folder of that name under datasets/ if there is one, else the
    default dataset, with a note that the pipeline may be another dataset's. `args.dataset_dir`
    becomes the folder taken."""
    if args.dataset_dir is None:
        args.dataset_dir = DEFAULTS.dataset_dir
        name, default = args.pipeline_name, dataset(args)
        folder = os.path.join(DATASETS_DIR, name or "")
        if name and name != default.name and os.path.isfile(os.path.join(folder, dataset_module.DECLARATION_FILE)):
            args.dataset_dir = folder
        elif name and name != default.name:
            print(f"note: pipeline {name!r} is read as the default dataset's ({default.name}, "
                  f"{default.task.value}); if it is another dataset's, give that --dataset", file=sys.stderr)
    return dataset(args)


def model_name(args: argparse.Namespace) -> str:
    return args.model_name or dataset(args).name


def config_for_dataset_reports(work_dir: str, dataset_name: str) -> PipelineConfig:
    """Where reports about a dataset go without a pipeline run: the work dir's reports, under the
    pipeline name a run of the dataset takes by default."""
    return dataclasses.replace(DEFAULTS, pipeline_name=dataset_name,
                               work_dir=configs.absolute_path(work_dir))


def config_for_reading(args: argparse.Namespace) -> PipelineConfig:
    """Where a dataset's runs are recorded (work dir, pipeline name), for commands that only read."""
    return dataclasses.replace(DEFAULTS, dataset_dir=args.dataset_dir,
                               work_dir=configs.absolute_path(args.work_dir),
                               pipeline_name=args.pipeline_name or dataset(args).name,
                               metadata=metadata_uri(args))


def no_runs(config: PipelineConfig) -> str:
    """What `runs` says where pipeline `config.pipeline_name` has no run: with the default store
    (SQLite under the work dir), the pipelines that have runs there, since a --dataset left out
    reads the default dataset's."""
    said = f"error: no runs recorded in {metadata_store.redacted(config.metadata_uri)}"
    if config.metadata:
        return said
    stores = os.path.dirname(os.path.dirname(config.metadata_path))  # one folder per pipeline
    others = sorted(name for name in (os.listdir(stores) if os.path.isdir(stores) else ()) if name != config.pipeline_name
                    and os.path.isfile(dataclasses.replace(config, pipeline_name=name).metadata_path))
    if not others:
        return said
    return (f"{said}; this work dir has runs of pipeline(s) {', '.join(others)}: `tfxpipe runs --pipeline-name "
            "NAME`, or --dataset DIR, names the one to show")


def bounds(pairs) -> dict:
    """['auc=0.8'] -> {'auc': 0.8}."""
    found = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        try:
            found[name] = float(value)
        except ValueError:
            raise configs.ConfigError(f"{pair!r} is not METRIC=NUMBER") from None
        if not sep or not name:
            raise configs.ConfigError(f"{pair!r} is not METRIC=NUMBER")
    return found


def json_object(text: str) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error}): give an object, e.g. "
                                         '\'{"learning_rate": 0.01}\'') from None


def add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    """Settings shared by `run`, `resume` and `compile` (defaults in pipeline/configs.py)."""
    defaults = DEFAULTS
    add_dataset_option(parser)
    parser.add_argument("--data", dest="data_root", help="folder of CSV files or of span-N/ folders (default: the dataset's `data`)")
    parser.add_argument("--spans", action="store_const", const=True, help="the data folder holds span-N/ folders (detected for local folders)")
    parser.add_argument("--work-dir", default=defaults.work_dir, help="pipeline root and MLMD (default: %(default)s)")
    parser.add_argument("--serving-dir", default=defaults.serving_dir, help="TF Serving model base folder (default: %(default)s)")
    parser.add_argument("--replace-unrecorded-model", action="store_true",
                        help="start although the serving dir's newest version was pushed by no run recorded in "
                        "this work dir's metadata (a removed work dir's, another one's): a blessed model replaces it "
                        "without being compared with it")
    parser.add_argument("--keep-versions", type=int, help="after a push, remove the versions older than this many newest "
                        "(default: keep all); rolled-back ones, and those the models.config beside them pins, stay")
    parser.add_argument("--model-name", help="default: the dataset's name")
    parser.add_argument("--pipeline-name", help="default: the dataset's name")
    parser.add_argument("--schema", dest="schema_file", help="curated schema.pbtxt (default: the dataset's)")
    parser.add_argument("--train-steps", type=int, default=defaults.train_steps,
                        help=f"Trainer steps (default: {training_length.DEFAULT}; early stopping may end it sooner)")
    parser.add_argument("--train-spans", type=int, default=defaults.train_spans, help="train on this run's span and the newest earlier spans the gate accepted, this many in all (default: %(default)s)")
    parser.add_argument("--eval-steps", type=int, default=defaults.eval_steps)
    parser.add_argument("--min", dest="minimum", action="append", metavar="METRIC=VALUE", help="bless only with METRIC >= VALUE (repeatable; on top of the dataset's blessing)")
    parser.add_argument("--max", dest="maximum", action="append", metavar="METRIC=VALUE", help="bless only with METRIC <= VALUE, e.g. rmse=40")
    parser.add_argument("--max-drop", type=float, help="how far the main metric may fall behind the served model: absolute for classes "
                        "(0.01: one point of AUC or accuracy), relative for regression (0.01: 1%% more error)")
    parser.add_argument("--naive-margin", type=float, help="share of the naive baseline's error the model must remove")
    parser.add_argument("--hparams", type=json_object, default={}, help='JSON, e.g. \'{"learning_rate": 0.01}\'')
    parser.add_argument("--models", default=",".join(defaults.models), help="model families to train and compare, comma-separated: linear, dnn, wide_deep (default: %(default)s); of the blessed ones, the lowest held-out loss is pushed")
    parser.add_argument("--tune", action="store_true", help="search hyperparameters with TFX's Tuner (KerasTuner) before training; without it, each family uses its last tuned ones if any")
    parser.add_argument("--tune-trials", type=int, default=defaults.tune_trials, help="trials per family (default: %(default)s; the first is the default hyperparameters)")
    parser.add_argument("--tune-minutes", type=float, help="start no new trial after this many minutes")
    parser.add_argument("--no-cache", dest="enable_cache", action="store_false")
    parser.add_argument("--profile", default=defaults.profile, help="where Beam runs: auto (local or local-multiprocess by data size), local, local-multiprocess, dataflow, flink, spark")
    parser.add_argument("--profile-setting", dest="profile_settings", action="append", metavar="KEY=VALUE", help="setting of the profile, e.g. project=my-project (repeatable)")
    parser.add_argument("--beam-arg", dest="beam_args", action="append", help="extra Beam pipeline argument, written --beam-arg=--flag=value (repeatable)")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """`run` and `resume` only: where runs are recorded and what to do when one is in progress."""
    add_metadata_options(parser)
    parser.add_argument("--wait", action="store_true", help="when a run of this pipeline is in "
                        "progress, wait for it to finish instead of stopping at once")


def _families(value: str) -> Tuple[str, ...]:
    from models import families  # pylint: disable=import-outside-toplevel

    try:
        return families.check_families(tuple(n.strip() for n in value.split(",") if n.strip()))
    except families.UnknownFamilyError as error:
        raise ConfigError(f"--models: {error}") from None


def config_from_args(args: argparse.Namespace) -> PipelineConfig:
    """The options of `run`, `resume` and `compile` as one PipelineConfig, each checked (ConfigError
    naming the option) before any work."""
    from models import families  # pylint: disable=import-outside-toplevel
    from pipeline import metrics  # pylint: disable=import-outside-toplevel

    config = PipelineConfig(
        dataset_dir=args.dataset_dir,
        data_root=args.data_root,
        work_dir=args.work_dir,
        serving_dir=args.serving_dir,
        model_name=args.model_name,
        pipeline_name=args.pipeline_name,
        schema_file=args.schema_file,
        train_steps=args.train_steps,
        eval_steps=args.eval_steps,
        minimum=bounds(args.minimum),
        maximum=bounds(args.maximum),
        max_drop=args.max_drop,
        naive_margin=args.naive_margin,
        hyperparameters=check_hyperparameters(args.hparams, families.DEFAULT_HYPERPARAMETERS),
        models=_families(args.models),
        tune=args.tune,
        tune_trials=args.tune_trials,
        tune_minutes=args.tune_minutes,
        enable_cache=args.enable_cache,
        profile=args.profile,
        profile_settings=profiles.parse_settings(args.profile_settings),
        extra_beam_args=tuple(args.beam_args or ()),
        spans=args.spans,
        train_spans=args.train_spans,
        keep_versions=args.keep_versions,
        replace_unrecorded_model=args.replace_unrecorded_model,
    )
    kept = 1 if config.keep_versions is None else config.keep_versions
    steps = 1 if config.train_steps is None else config.train_steps  # None: passes over the data
    for option, value in (("--train-steps", steps), ("--eval-steps", config.eval_steps),
                           ("--tune-trials", config.tune_trials),
                           ("--train-spans", config.train_spans), ("--keep-versions", kept)):
        if value < 1:
            raise ConfigError(f"{option} must be at least 1, got {value}")
    if config.keep_versions and "://" in config.serving_dir:
        raise ConfigError(f"--keep-versions removes old version folders from a local (or mounted) serving dir, not "
                          f"from {config.serving_dir}: use the object store's own retention rules there")
    if config.tune_minutes is not None and config.tune_minutes <= 0:
        raise ConfigError(f"--tune-minutes must be above 0, got {config.tune_minutes:g}")
    unused = families.unused_hyperparameters(config.models, config.hyperparameters)
    if unused:
        raise ConfigError(f"--hparams {', '.join(unused)}: the linear model has no hidden layers "
                          "or embeddings; add dnn or wide_deep to --models, or leave them out")
    if config.tune:
        from models import tuning  # pylint: disable=import-outside-toplevel  (imports KerasTuner)

        untunable = [family for family in config.models if not tuning.searched(family, config.hyperparameters)]
        if untunable:
            raise ConfigError(f"--tune with --hparams {', '.join(sorted(config.hyperparameters))}: nothing is left to "
                              f"search for {', '.join(untunable)}; drop --tune to train with these values, "
                              "or leave out of --hparams what the search should vary")
    task = config.dataset().task
    try:
        metrics.check_bounds(task, {**config.minimum, **config.maximum})
    except ValueError as error:
        raise ConfigError(str(error)) from None
    profiles.beam_args(config.resolved().profile, config.profile_settings)  # errors before any work
    return config
