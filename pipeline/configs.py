"""Pipeline settings in one place. The command line (`pipeline/cli.py`) overrides any of them.

Every path is resolved against the current directory or given explicitly: nothing lives under $HOME.
"""
import dataclasses
import os
from typing import Any, Dict, Tuple

import schema

# In-process DirectRunner: on one machine and data of this size, multi-processing workers cost more
# in start-up and serialization than they save (see benchmarks/).
LOCAL_BEAM_ARGS: Tuple[str, ...] = ("--direct_running_mode=in_memory", "--direct_num_workers=1")


def bundled_data_root() -> str:
    """Folder of the Chicago taxi sample (15,002 rows) that ships inside the tfx wheel."""
    import tfx  # pylint: disable=import-outside-toplevel

    return os.path.join(
        os.path.dirname(tfx.__file__), "examples", "chicago_taxi_pipeline", "data", "simple"
    )


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
    hyperparameters: Dict[str, Any] = dataclasses.field(default_factory=dict)
    beam_args: Tuple[str, ...] = LOCAL_BEAM_ARGS
    enable_cache: bool = True

    def resolved(self) -> "PipelineConfig":
        """Same settings with every path absolute, as TFX and TF Serving configs need."""
        return dataclasses.replace(
            self,
            data_root=os.path.abspath(self.data_root),
            work_dir=os.path.abspath(self.work_dir),
            serving_dir=os.path.abspath(self.serving_dir),
            schema_file=os.path.abspath(self.schema_file),
        )

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
