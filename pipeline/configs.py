"""Pipeline settings in one place. The command line reads its defaults here and overrides any of them.

Every path is resolved against the current directory or given explicitly: none lives under $HOME.
"""
import dataclasses
import os
import shlex
from typing import Any, Dict, Optional, Tuple

from models import dataset as dataset_module
from models import hyperparameter_values
from models.dataset import Dataset
from pipeline import metadata_store, profiles


class ConfigError(ValueError):
    pass


def check_hyperparameters(overrides: Any, known: Dict[str, Any]) -> Dict[str, Any]:
    """`--hparams` may only override hyperparameters the model knows; a typo is an error."""
    if not isinstance(overrides, dict):
        raise ConfigError(f"hyperparameters must be a JSON object, got {overrides!r}")
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        searched = sorted(set(unknown) & {"hidden_layers", "first_layer_units"})
        raise ConfigError(
            f"unknown hyperparameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            + (f" ({' and '.join(searched)}: the declaration's `tuning:` ranges; --hparams sets "
               "hidden_units, e.g. [64, 32])" if searched else ""))
    problems = [p for p in (hyperparameter_values.problem(n, v) for n, v in overrides.items()) if p]
    if problems:
        raise ConfigError("; ".join(problems))
    return dict(overrides)


def is_remote(path: str) -> bool:
    """gs://, s3://, hdfs:// ...: a cluster path, left as it is."""
    return "://" in path


def absolute_path(path: str) -> str:
    """A local path made absolute (against the current folder); a cluster path as it is."""
    return path if is_remote(path) else os.path.abspath(path)


def resolved_path(path: str) -> str:
    """A local path made absolute, its links resolved; a cluster path as it is."""
    return path if is_remote(path) else os.path.realpath(path)


def _in_project_datasets(dataset_dir: str) -> str:
    """"; the project's datasets folder has one: --dataset /abs/datasets/my" when `--dataset
    datasets/my`, relative to the current folder, misses the folder `init` wrote there."""
    there = os.path.join(DATASETS_DIR, os.path.basename(os.path.normpath(dataset_dir)))
    if is_remote(dataset_dir) or os.path.isabs(dataset_dir) or os.path.isdir(dataset_dir) or not os.path.isfile(
            os.path.join(there, dataset_module.DECLARATION_FILE)):
        return ""
    return f"; the project's datasets folder has one: --dataset {there}"


def dataset_flag(dataset_dir: str) -> str:
    """` --dataset DIR` for a command suggested to the user, unless DIR is the default dataset (run
    as written without it, a command works on the default one: `--write` would change its schema)."""
    return "" if absolute_path(dataset_dir) == DEFAULT_DATASET else f" --dataset {shlex.quote(dataset_dir)}"


def store_options(config: "PipelineConfig") -> str:
    """The options a suggested command needs to read the store and data `config` (resolved) reads:
    ` --dataset`, ` --work-dir`, ` --pipeline-name` where not the defaults, and ` --metadata` as
    this run gave it, without a password (its `--metadata-password-file`, if it had one)."""
    options = dataset_flag(config.dataset_dir)
    if config.work_dir != absolute_path(PipelineConfig.work_dir):
        options += f" --work-dir {shlex.quote(config.work_dir)}"
    if config.pipeline_name != config.dataset().name:
        options += f" --pipeline-name {shlex.quote(config.pipeline_name)}"
    if config.metadata:  # without its password, which is never printed: the file given, if one was
        options += f" --metadata {shlex.quote(metadata_store.without_password(config.metadata))}"
        if os.environ.get(metadata_store.PASSWORD_FILE_VARIABLE):
            options += f" --metadata-password-file {shlex.quote(os.environ[metadata_store.PASSWORD_FILE_VARIABLE])}"
    return options


PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS_DIR = os.path.join(PROJECT_ROOT, "datasets")
# Every command's default dataset: a link to the bundled demo; point it at another folder to change it.
DEFAULT_DATASET = os.path.join(DATASETS_DIR, "default")
IMAGE_PROJECT_ROOT = "/pipeline"  # where the Dockerfile puts this project in the pipeline image


def image_path(local_path: str) -> str:
    """Where a dataset's file (its schema) is inside the pipeline image, which holds the project's
    datasets/ folder alone (Dockerfile): ConfigError for a file elsewhere, also for one reached
    through a link under datasets/ to a folder outside it (the image would hold the bare link)."""
    relative = os.path.relpath(os.path.abspath(local_path), PROJECT_ROOT)
    target = os.path.realpath(local_path)
    if relative.split(os.sep)[0] != os.path.basename(DATASETS_DIR) or os.path.relpath(
            target, os.path.realpath(DATASETS_DIR)).startswith(".."):
        linked = f" (a link to {target})" if target != os.path.abspath(local_path) else ""
        raise ConfigError(f"{local_path}{linked} is not under {DATASETS_DIR}, the only data the pipeline "
                          "image holds (Dockerfile): move or copy the dataset folder into datasets/")
    return os.path.join(IMAGE_PROJECT_ROOT, relative)


def input_bytes(data_root: str) -> int:
    """Size of the files a run reads: a CSV file, the newest span-N/ folder, else the whole folder."""
    from schema import data_folder  # pylint: disable=import-outside-toplevel  (schema imports TFDV)

    if not os.path.exists(data_root):
        return 0
    read, _ = data_folder.latest_and_previous(data_root)
    if os.path.isfile(read):
        return os.path.getsize(read)
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(read) for name in names)


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    dataset_dir: str = DEFAULT_DATASET  # folder with dataset.yaml and schema.pbtxt
    # Unset (None) below: taken from the dataset declaration when resolved.
    pipeline_name: Optional[str] = None  # default: the dataset's name
    model_name: Optional[str] = None  # default: the dataset's name
    data_root: Optional[str] = None  # default: the declaration's data folder
    schema_file: Optional[str] = None  # default: the dataset folder's schema.pbtxt
    work_dir: str = "work"  # pipeline root (artifacts) and MLMD database
    serving_dir: str = os.path.join("serving", "models")  # TF Serving model base folders
    train_steps: Optional[int] = None  # default: passes over the data (models/training_length.py)
    eval_steps: int = 150
    # Blessing overrides on top of the declaration's (metric name -> bound; see pipeline/metrics.py).
    minimum: Dict[str, float] = dataclasses.field(default_factory=dict)
    maximum: Dict[str, float] = dataclasses.field(default_factory=dict)
    max_drop: Optional[float] = None
    naive_margin: Optional[float] = None
    hyperparameters: Dict[str, Any] = dataclasses.field(default_factory=dict)
    # Model families trained and compared (models/families.py); of the blessed ones, the one with the
    # lowest held-out loss is pushed (pipeline/model_choice.py).
    models: Tuple[str, ...] = ("wide_deep",)
    tune: bool = False  # TFX's Tuner before each Trainer (else each family's last tuned values)
    tune_trials: int = 10  # per family; the first trial is the default hyperparameters
    tune_minutes: Optional[float] = None  # no new trial after this
    # Where Beam runs (pipeline/profiles.py). "auto": the in-process DirectRunner for small local data,
    # worker processes from a measured size on. "local": in-process DirectRunner; on one machine and
    # small data, worker processes cost more in start-up and serialization than they save.
    profile: str = profiles.AUTO
    profile_settings: Dict[str, str] = dataclasses.field(default_factory=dict)
    extra_beam_args: Tuple[str, ...] = ()
    spans: Optional[bool] = None  # data root holds span-N/ folders; None: look (local paths only)
    # Transform and the Trainer learn from this run's span and the newest earlier spans the gate
    # accepted, this many in all (1: the newest span alone); evaluation stays on this run's span.
    train_spans: int = 1
    # After each push, the versions older than this many newest are removed from the serving folder
    # (None: all kept); versions rolled back, or pinned by the models.config beside them, stay.
    keep_versions: Optional[int] = None
    # A run starts although the serving folder's newest version was pushed by no run this store
    # recorded (pipeline/work_dir.unrecorded_served): a push replaces it, uncompared.
    replace_unrecorded_model: bool = False
    enable_cache: bool = True
    # ML Metadata (pipeline/metadata_store.py): None is SQLite under the work dir; a
    # postgresql:// or mysql:// URI is a metadata server shared by a team.
    metadata: Optional[str] = None

    def dataset(self) -> Dataset:
        """The declaration, with this config's blessing overrides applied."""
        try:
            declared = dataset_module.load(self.dataset_dir)
        except dataset_module.DeclarationError as error:
            raise ConfigError(str(error) + _in_project_datasets(self.dataset_dir)) from None
        blessing = declared.blessing
        overrides = {"minimum": {**blessing.minimum, **self.minimum},
                     "maximum": {**blessing.maximum, **self.maximum}}
        if self.max_drop is not None:
            overrides["max_drop"] = self.max_drop
        if self.naive_margin is not None:
            overrides["naive_margin"] = self.naive_margin
        try:
            return dataclasses.replace(declared, blessing=dataclasses.replace(blessing, **overrides))
        except dataset_module.DeclarationError as error:
            raise ConfigError(str(error)) from None

    def resolved(self) -> "PipelineConfig":
        """Same settings with the dataset's defaults filled in and every path absolute, as TFX and
        TF Serving configs need."""
        dataset = self.dataset()
        data_root = self.data_root
        if data_root is None:
            try:
                data_root = dataset.data_root()
            except dataset_module.DeclarationError as error:
                raise ConfigError(str(error)) from None
        profile = self.profile
        if profile == profiles.AUTO:
            if is_remote(data_root):
                raise ConfigError("profile 'auto' is for local data; name a cluster profile")
            profile = profiles.choose_local(input_bytes(data_root))
        return dataclasses.replace(
            self,
            dataset_dir=absolute_path(self.dataset_dir),
            pipeline_name=self.pipeline_name or dataset.name,
            model_name=self.model_name or dataset.name,
            profile=profile,
            data_root=absolute_path(data_root),
            work_dir=absolute_path(self.work_dir),
            serving_dir=absolute_path(self.serving_dir),
            schema_file=absolute_path(self.schema_file or dataset.schema_file),
            metadata=metadata_store.sqlite_uri(metadata_store.sqlite_path(self.metadata))
            if self.metadata and metadata_store.is_sqlite(self.metadata) else self.metadata,
        )

    @property
    def beam_args(self) -> Tuple[str, ...]:
        """The profile's Beam arguments (ProfileError when a setting is missing), then any extras."""
        return profiles.beam_args(self.profile, self.profile_settings) + self.extra_beam_args

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.work_dir, "pipelines", self.pipeline_name)

    @property
    def metadata_path(self) -> str:
        return os.path.join(self.work_dir, "metadata", self.pipeline_name, "metadata.sqlite")

    @property
    def metadata_uri(self) -> str:
        """Where runs are recorded: `--metadata`, else the SQLite file under the work dir."""
        return self.metadata or metadata_store.sqlite_uri(self.metadata_path)

    @property
    def lock_file(self) -> str:
        """Held (flock) while a run of this pipeline is in progress (pipeline/run_lock.py)."""
        return os.path.join(self.work_dir, "locks", f"{self.pipeline_name}.lock")

    @property
    def report_dir(self) -> str:
        """Where the data validation report of the latest run is written (stable path)."""
        return os.path.join(self.work_dir, "reports", self.pipeline_name)

    @property
    def model_base(self) -> str:
        """`<serving dir>/<model name>`: TF Serving's base_path for this model."""
        return os.path.join(self.serving_dir, self.model_name)
