"""Hyperparameter search for TFX's Tuner component: `tuner_fn`, its search space and the mapping from
KerasTuner's values to the hyperparameters `models/families.py` builds from.

The search space follows the family (a linear model has only a learning rate to tune) and the
dataset declaration's `tuning:` section overrides any range: a list is a set of choices, a mapping
`{min, max}` a range (`learning_rate` on a log scale), e.g.

    tuning:
      learning_rate: {min: 0.0005, max: 0.005}
      hidden_layers: [1, 2]

The first trial is always the hand-set defaults (`DEFAULT_HYPERPARAMETERS`), so a search can only
match or beat them on the objective: the task's main metric on the held-out part of the train split
(`models/model.py`), the eval split being left to the Evaluator. The rest are random (KerasTuner's
RandomSearch oracle; Hyperband's brackets need far more trials than a pipeline run affords). Trials stop at `trials`, or after the trial running when `minutes` have passed.
"""
import time
from typing import Any, Callable, Dict, List, Mapping, Optional

import keras_tuner
from tfx.components.trainer.fn_args_utils import FnArgs
from tfx.components.tuner.component import TunerFnResult

from models import families
from models.dataset import Dataset, Task

SEED = 42
# Name -> choices, or a {min, max} range (log scale for the learning rate); the declaration's
# `tuning:` replaces any of them (models/declaration_parts.py TUNABLE). Defaults: families.DEFAULT_HYPERPARAMETERS.
SPACE: Dict[str, Any] = {
    "learning_rate": {"min": 0.0003, "max": 0.01},
    "hidden_layers": [1, 2, 3],
    "first_layer_units": [32, 64, 128, 256],  # each next hidden layer is half as wide
    "dropout": [0.0, 0.1, 0.2, 0.3],
    "embedding_scale": [0.5, 1.0, 2.0],
}
_FAMILY_SPACE = {families.LINEAR: ("learning_rate",), families.DNN: tuple(SPACE),
                 families.WIDE_DEEP: tuple(SPACE)}
_DEFAULTS = {
    "learning_rate": families.DEFAULT_HYPERPARAMETERS["learning_rate"],
    "hidden_layers": len(families.DEFAULT_HYPERPARAMETERS["hidden_units"]),
    "first_layer_units": families.DEFAULT_HYPERPARAMETERS["hidden_units"][0],
    "dropout": families.DEFAULT_HYPERPARAMETERS["dropout"],
    "embedding_scale": families.DEFAULT_HYPERPARAMETERS["embedding_scale"],
}
OBJECTIVE = {
    Task.BINARY: keras_tuner.Objective("val_auc", "max"),
    Task.MULTICLASS: keras_tuner.Objective("val_sparse_categorical_accuracy", "max"),
    Task.REGRESSION: keras_tuner.Objective("val_loss", "min"),
}


# The families' hyperparameter (`--hparams`) each searched name sets: one fixed by --hparams is not
# searched, so trials differ only where they can and the best values reported are the ones used.
_SETS = {"learning_rate": "learning_rate", "hidden_layers": "hidden_units",
         "first_layer_units": "hidden_units", "dropout": "dropout", "embedding_scale": "embedding_scale"}


def searched(family: str, fixed: Mapping[str, Any]) -> List[str]:
    """The names `family`'s search varies where `fixed` (the run's `--hparams`) sets the rest."""
    return [name for name in _FAMILY_SPACE[family] if _SETS[name] not in fixed]


def declare(hp: keras_tuner.HyperParameters, family: str, overrides: Mapping[str, Any],
            fixed: Mapping[str, Any] = ()) -> Dict[str, Any]:
    """Declares `family`'s search space on `hp`, less what `fixed` sets (a number fixed there is
    declared Fixed, so the best values recorded, which later runs without --tune reuse, hold it);
    returns the hyperparameters of this trial."""
    values = {}
    for name in _FAMILY_SPACE[family]:
        if _SETS[name] in fixed and _SETS[name] == name:
            values[name] = hp.Fixed(name, fixed[name])
    for name in searched(family, fixed):
        space = overrides.get(name, SPACE[name])
        default = _DEFAULTS[name]
        if isinstance(space, list):
            values[name] = hp.Choice(name, space, default=default if default in space else space[0])
        else:
            low, high = space["min"], space["max"]
            inside = low <= default <= high
            if isinstance(default, int):
                values[name] = hp.Int(name, int(low), int(high), default=default if inside else int(low))
            else:
                values[name] = hp.Float(name, low, high, default=default if inside else low,
                                        sampling="log" if name == "learning_rate" else "linear")
    return to_hyperparameters(values)


def to_hyperparameters(values: Mapping[str, Any]) -> Dict[str, Any]:
    """KerasTuner's flat values -> the families' hyperparameters (hidden_units as a list)."""
    result = {k: v for k, v in values.items() if k in families.DEFAULT_HYPERPARAMETERS}
    if "hidden_layers" in values:
        first = int(values.get("first_layer_units", _DEFAULTS["first_layer_units"]))
        result["hidden_units"] = [max(8, first >> i) for i in range(int(values["hidden_layers"]))]
    return result


def best_hyperparameters(config: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The Trainer's `fn_args.hyperparameters` (the Tuner's best KerasTuner config, or None)."""
    if not config:
        return {}
    return to_hyperparameters(keras_tuner.HyperParameters.from_config(config).values)


class _DefaultsFirstOracle(keras_tuner.oracles.RandomSearchOracle):
    """RandomSearch whose first trial is the declared defaults (`populate_space` is KerasTuner's
    extension point for oracles)."""

    def populate_space(self, trial_id):
        if not self.trials:
            return {"status": keras_tuner.engine.trial.TrialStatus.RUNNING,
                    "values": self.hyperparameters.copy().values}
        return super().populate_space(trial_id)


class _Keras2Tuner(keras_tuner.Tuner):
    """KerasTuner's Tuner for Keras 2 models, stopping new trials once `minutes` have passed.

    KerasTuner 1.4 runs on the Keras 3 that TF 2.16 installs and refuses any other model class in its
    own `run_trial`; TFT's layer and TFMA need Keras 2 (`tf_keras`). `run_trial`, KerasTuner's
    documented override point, here calls `train` (the Trainer's own training, same seed: the best
    trial is the model the Trainer then rebuilds) and reports the objective's best epoch, as
    KerasTuner's run_trial does. KerasTuner bounds only the trial count, hence the clock.
    """

    def __init__(self, minutes: Optional[float],
                 train: Callable[[Dict[str, Any]], Dict[str, List[float]]],
                 space: Callable[[keras_tuner.HyperParameters], Dict[str, Any]], **kwargs):
        self._deadline = time.monotonic() + minutes * 60 if minutes else None
        self._train, self._space = train, space
        super().__init__(**kwargs)

    def run_trial(self, trial, *args, **kwargs):
        history = self._train(self._space(trial.hyperparameters))
        objective = self.oracle.objective
        best = max if objective.direction == "max" else min
        return {objective.name: best(history[objective.name])}

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self._deadline is not None and time.monotonic() > self._deadline:
            self.oracle.max_trials = len(self.oracle.trials)


def tuner_fn(fn_args: FnArgs) -> TunerFnResult:
    """TFX Tuner entry point: `custom_config` holds the dataset (with its `tuning:` ranges), the
    family, the run's `--hparams` (fixed in every trial, and not searched) and the budget
    (`trials`, `minutes`)."""
    from models import model  # pylint: disable=import-outside-toplevel  (model imports TFT)

    config = dict(fn_args.custom_config or {})
    dataset = Dataset.from_config(config["dataset"])
    family = config["family"]
    overrides = config.get("hyperparameters", {})

    def space(hp: keras_tuner.HyperParameters) -> Dict[str, Any]:
        return {**families.DEFAULT_HYPERPARAMETERS, **declare(hp, family, dataset.tuning, overrides), **overrides}

    tuner = _Keras2Tuner(
        minutes=config.get("minutes"),
        train=lambda hparams: model.train(fn_args, dataset, family, hparams)[1],
        space=space,
        oracle=_DefaultsFirstOracle(objective=OBJECTIVE[dataset.task],
                                    max_trials=int(config["trials"]), seed=SEED),
        # Declares the search space (KerasTuner builds it once up front); trials go through `train`.
        hypermodel=lambda hp: families.build(family, dataset, space(hp)),
        directory=fn_args.working_dir,
        project_name=family,
        overwrite=True,
    )
    return TunerFnResult(tuner=tuner, fit_kwargs={"verbose": 0})
