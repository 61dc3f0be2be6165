"""Pipeline settings in one place. The command line (`pipeline/cli.py`) overrides any of them.

Every path is resolved against the current directory or given explicitly: nothing lives under $HOME.
"""
import dataclasses
import os
from typing import Any, Dict, Optional, Tuple

import schema
from pipeline import profiles


class ConfigError(ValueError):
    pass


def check_hyperparameters(overrides: Any, known: Dict[str, Any]) -> Dict[str, Any]:
    """`--hparams` may only override hyperparameters the model knows; a typo is an error."""
    if not isinstance(overrides, dict):
        raise ConfigError(f"hyperparameters must be a JSON object, got {overrides!r}")
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown hyperparameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return dict(overrides)


def is_remote(path: str) -> bool:
    """gs://, s3://, hdfs:// ...: a cluster path, left as it is."""
    return "://" in path


def bundled_data_root() -> str:
    """Folder of the Chicago taxi sample (15,002 rows) that ships inside the tfx wheel."""
    import tfx  # pylint: disable=import-outside-toplevel

    return os.path.join(
        os.path.dirname(tfx.__file__), "examples", "chicago_taxi_pipeline", "data", "simple"
    )


def input_bytes(data_root: str) -> int:
    """Size of the files a run reads: the newest span-N/ folder, else the whole folder."""
    from schema import checks  # pylint: disable=import-outside-toplevel  (schema imports TFDV)

    if not os.path.isdir(data_root):
        return 0
    spans = checks.spans(data_root)
    folder = spans[-1][1] if spans else data_root
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(folder) for name in names)


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    pipeline_name: str = "taxi"
    model_name: str = "taxi"
    data_root: str = dataclasses.field(default_factory=bundled_data_root)
    work_dir: str = "work"  # pipeline root (artifacts) and MLMD database
    serving_dir: str = os.path.join("serving", "models")  # TF Serving model base folders
    schema_file: str = schema.SCHEMA_FILE
    train_steps: int = 1000
    eval_steps: int = 150
    min_accuracy: float = 0.6  # Evaluator blesses only above this eval accuracy ...
    max_accuracy_drop: float = 0.01  # ... and not more than this below the baseline model's
    # ... and with AUC above this. Accuracy alone cannot see a useless model on imbalanced labels:
    # 22 % of trips are big tippers, so always answering "no" scores 0.78 accuracy, AUC 0.5.
    min_auc: float = 0.7
    hyperparameters: Dict[str, Any] = dataclasses.field(default_factory=dict)
    # Where Beam runs (pipeline/profiles.py). "auto": the in-process DirectRunner for small local data,
    # worker processes from a measured size on. "local": in-process DirectRunner; on one machine and
    # data of this size, worker processes cost more in start-up and serialization than they save.
    profile: str = profiles.AUTO
    profile_settings: Dict[str, str] = dataclasses.field(default_factory=dict)
    extra_beam_args: Tuple[str, ...] = ()
    spans: Optional[bool] = None  # data root holds span-N/ folders; None: look (local paths only)
    enable_cache: bool = True

    def resolved(self) -> "PipelineConfig":
        """Same settings with every path absolute, as TFX and TF Serving configs need."""
        def absolute(path: str) -> str:
            return path if is_remote(path) else os.path.abspath(path)

        profile = self.profile
        if profile == profiles.AUTO:
            if is_remote(self.data_root):
                raise ConfigError("profile 'auto' is for local data; name a cluster profile")
            profile = profiles.choose_local(input_bytes(self.data_root))
        return dataclasses.replace(
            self,
            profile=profile,
            data_root=absolute(self.data_root),
            work_dir=absolute(self.work_dir),
            serving_dir=absolute(self.serving_dir),
            schema_file=absolute(self.schema_file),
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
    def report_dir(self) -> str:
        """Where the data validation report of the latest run is written (stable path)."""
        return os.path.join(self.work_dir, "reports", self.pipeline_name)

    @property
    def model_base(self) -> str:
        """`<serving dir>/<model name>`: TF Serving's base_path for this model."""
        return os.path.join(self.serving_dir, self.model_name)
