"""Candidate models, one per model family (`--models`): its hyperparameters, Trainer and Evaluator.

Hyperparameters come from TFX's Tuner (KerasTuner, `models/tuning.py`) when the run tunes
(`--tune`), else from the dataset's last tuning of that family if there is one (a resolver; TFX's
guide suggests an Importer of earlier results so runs do not tune every time), else the defaults.
TFX's component cache makes an unchanged re-run with `--tune` reuse the last search.

With one family the nodes keep their plain names (Tuner, Trainer, Evaluator); with several, each is
suffixed with its family (Trainer_linear, Evaluator_dnn, ...). Every Evaluator measures its candidate
on the same eval split against the same served baseline; the InfraValidator then takes, of the
blessed ones, the one with the lowest held-out loss (`pipeline/model_choice.py`).
"""
import dataclasses
import json
from typing import Any, Dict, List, Optional, Sequence

import ml_metadata as mlmd
from tfx import types
from tfx.components.trainer.component import Trainer
from tfx.components.tuner import component as tfx_tuner
from tfx.components.tuner import executor as tuner_executor
from tfx.dsl.components.base import base_node, executor_spec
from tfx.dsl.components.common import resolver
from tfx.proto import trainer_pb2
from tfx.types import Channel, standard_artifacts, standard_component_specs

from models.dataset import Dataset
from pipeline.code_digest import code_digest
from pipeline.configs import PipelineConfig
from pipeline.evaluator import Evaluator

RUN_FN = "models.model.run_fn"
TUNER_FN = "models.tuning.tuner_fn"
FAMILY = "family"  # custom property of a Tuner's best hyperparameters
HYPERPARAMETERS_KEY = "hyperparameters"


class QuietTunerExecutor(tuner_executor.Executor):
    """TFX's Tuner executor without KerasTuner's printed summaries (a run prints one line per
    component; the trials are in the TunerResults artifact), and with the family recorded on the
    best hyperparameters so later runs without `--tune` find that family's."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
        tuner = tuner_executor.search(input_dict, exec_properties, self._get_tmp_dir(),
                                      print_tuning_summary=False)
        tuner_executor.write_best_hyperparameters(tuner, output_dict)
        family = json.loads(exec_properties[standard_component_specs.CUSTOM_CONFIG_KEY])[FAMILY]
        for artifact in output_dict[standard_component_specs.BEST_HYPERPARAMETERS_KEY]:
            artifact.set_string_custom_property(FAMILY, family)


class Tuner(tfx_tuner.Tuner):
    """TFX's Tuner component with the executor above."""
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(QuietTunerExecutor)


class LastTunedStrategy(resolver.ResolverStrategy):
    """The newest best hyperparameters a Tuner found for this family (none if never tuned)."""

    def __init__(self, family: str):
        self._family = family

    def resolve_artifacts(self, store: mlmd.MetadataStore,
                          input_dict: Dict[str, List[types.Artifact]]
                          ) -> Optional[Dict[str, List[types.Artifact]]]:
        mine = [a for a in input_dict[HYPERPARAMETERS_KEY]
                if a.get_string_custom_property(FAMILY) == self._family]
        return {HYPERPARAMETERS_KEY: [max(mine, key=lambda a: a.id)] if mine else []}


def node_id(component: str, family: str, families: Sequence[str]) -> str:
    return component if len(families) == 1 else f"{component}_{family}"


@dataclasses.dataclass
class Candidate:
    family: str
    hyperparameters: Optional[base_node.BaseNode]  # its Tuner, or the resolver of the last tuning
    trainer: Trainer
    evaluator: Optional[Evaluator] = None


def _hyperparameters(config: PipelineConfig, dataset: Dataset, family: str, inputs: Dict[str, Any],
                     train_args: trainer_pb2.TrainArgs, eval_args: trainer_pb2.EvalArgs,
                     for_kubeflow: bool) -> Optional[base_node.BaseNode]:
    if config.tune:
        return Tuner(
            tuner_fn=TUNER_FN, train_args=train_args, eval_args=eval_args,
            custom_config={"dataset": dataset.to_config(with_tuning=True), FAMILY: family,
                           "hyperparameters": dict(config.hyperparameters), "trials": config.tune_trials,
                           "minutes": config.tune_minutes, "code": code_digest(TUNER_FN)},
            **inputs,
        ).with_id(node_id("Tuner", family, config.models))
    if for_kubeflow:  # KFP v2 compiles only TFX's own resolver strategies
        return None
    return resolver.Resolver(
        strategy_class=LastTunedStrategy, config={"family": family},
        **{HYPERPARAMETERS_KEY: Channel(type=standard_artifacts.HyperParameters)},
    ).with_id(node_id("last_tuned_resolver", family, config.models))


def trainers(config: PipelineConfig, dataset: Dataset, transform, schema: types.BaseChannel,
             for_kubeflow: bool) -> List[Candidate]:
    """A Trainer per family, each after its Tuner or last-tuning resolver."""
    inputs = {"examples": transform.outputs["transformed_examples"],
              "transform_graph": transform.outputs["transform_graph"], "schema": schema}
    train_args = trainer_pb2.TrainArgs(num_steps=config.train_steps)
    eval_args = trainer_pb2.EvalArgs(num_steps=config.eval_steps)
    candidates = []
    for family in config.models:
        source = _hyperparameters(config, dataset, family, inputs, train_args, eval_args, for_kubeflow)
        tuned = None
        if isinstance(source, Tuner):
            tuned = source.outputs["best_hyperparameters"]
        elif source is not None:
            tuned = source.outputs[HYPERPARAMETERS_KEY]
        trainer = Trainer(
            run_fn=RUN_FN, hyperparameters=tuned, train_args=train_args, eval_args=eval_args,
            custom_config={"dataset": dataset.to_config(), "code": code_digest(RUN_FN),
                           FAMILY: family, "hyperparameters": dict(config.hyperparameters)},
            **inputs,
        ).with_id(node_id("Trainer", family, config.models))
        candidates.append(Candidate(family, source, trainer))
    return candidates


def add_evaluators(candidates: List[Candidate], examples: types.BaseChannel,
                   baseline_model: types.BaseChannel, eval_config, main_metric: str) -> None:
    families = [c.family for c in candidates]
    for candidate in candidates:
        candidate.evaluator = Evaluator(
            examples=examples, model=candidate.trainer.outputs["model"],
            baseline_model=baseline_model, eval_config=eval_config,
            candidate=candidate.family, main_metric=main_metric,
        ).with_id(node_id("Evaluator", candidate.family, families))
