"""TFX's Evaluator, with its `eval_config` recorded in ML Metadata without a backslash.

Why: ML Metadata 1.16 on PostgreSQL cannot store a string that holds a backslash (its EscapeString
strips the quotes libpq's PQescapeLiteral puts around the value, which for such strings leaves
`E'...` inside MLMD's own quotes: a syntax error, and the Evaluator fails before it runs). TFX records
the eval_config as JSON, in which every metric's `config` (itself JSON: `{"name": "auc"}`) is escaped
with backslashes. Here the property is the serialized EvalConfig in URL-safe base64; the executor
decodes it and hands TFX's own executor the usual JSON. Everything else is TFX's Evaluator, but
that a candidate compared with a served model needs enough eval rows to replace it
(`eval_config.with_rows_to_replace`).

With several candidate models (one Evaluator each), the InfraValidator picks one of the blessed ones
(`pipeline/model_choice.py`) and says how each did; TFX's blessing carries only `blessed` and the
model, so this executor also records on the blessing the candidate's name and its main metric
(`CANDIDATE`, `MAIN_METRIC`, `MAIN_VALUE`, when defined). On the evaluation it records the metrics runs are listed
by, with their changes against the served model (`run_summary.LISTED_METRICS`), so `tfxpipe runs` and
the runs index read them from ML Metadata without loading TFMA for its files.
"""
import base64
import math
from typing import Any, Dict, List

import tensorflow_model_analysis as tfma
from tfx import types
from tfx.components.evaluator import executor as tfx_evaluator_executor
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter
from tfx.utils import proto_utils

from pipeline import evaluation, run_summary
from pipeline.eval_config import with_rows_to_replace

EVAL_CONFIG_KEY = standard_component_specs.EVAL_CONFIG_KEY
CANDIDATE = "candidate"
MAIN_METRIC = "main_metric"
MAIN_VALUE = "main_metric_value"


def encode(eval_config: tfma.EvalConfig) -> str:
    return base64.urlsafe_b64encode(eval_config.SerializeToString(deterministic=True)).decode("ascii")


def decode(recorded: str) -> tfma.EvalConfig:
    """The EvalConfig from the Evaluator execution's `eval_config` property."""
    return tfma.EvalConfig.FromString(base64.urlsafe_b64decode(recorded.encode("ascii")))


class EvaluatorSpec(standard_component_specs.EvaluatorSpec):
    PARAMETERS = {**standard_component_specs.EvaluatorSpec.PARAMETERS,
                  EVAL_CONFIG_KEY: ExecutionParameter(type=str),
                  CANDIDATE: ExecutionParameter(type=str),
                  MAIN_METRIC: ExecutionParameter(type=str)}


class Executor(tfx_evaluator_executor.Executor):
    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
        properties = dict(exec_properties)
        config = decode(exec_properties[EVAL_CONFIG_KEY])
        if input_dict.get(standard_component_specs.BASELINE_MODEL_KEY):  # a served model to replace
            config = with_rows_to_replace(config)
        properties[EVAL_CONFIG_KEY] = proto_utils.proto_to_json(config)
        candidate, main_metric = properties.pop(CANDIDATE), properties.pop(MAIN_METRIC)
        super().Do(input_dict, output_dict, properties)
        blessing = output_dict[standard_component_specs.BLESSING_KEY][0]
        evaluated = output_dict[standard_component_specs.EVALUATION_KEY][0]
        measured = evaluation.load(evaluated.uri)
        evaluated.set_string_custom_property(run_summary.LISTED_METRICS, evaluation.listed(measured))
        blessing.set_string_custom_property(CANDIDATE, candidate)
        blessing.set_string_custom_property(MAIN_METRIC, main_metric)
        if math.isfinite(measured.overall.get(main_metric, math.nan)):  # MLMD cannot store a NaN (AUC of one class)
            blessing.set_float_custom_property(MAIN_VALUE, measured.overall[main_metric])


class Evaluator(base_beam_component.BaseBeamComponent):
    """TFX's Evaluator (same inputs, outputs and executor) for one candidate and its baseline.
    `candidate`: the candidate's name (its model family); `main_metric`: the metric candidates are
    ranked by."""

    SPEC_CLASS = EvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, examples: types.BaseChannel, model: types.BaseChannel,
                 baseline_model: types.BaseChannel, eval_config: tfma.EvalConfig,
                 candidate: str, main_metric: str):
        super().__init__(spec=EvaluatorSpec(
            examples=examples, model=model, baseline_model=baseline_model,
            eval_config=encode(eval_config), candidate=candidate, main_metric=main_metric,
            evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
            blessing=types.Channel(type=standard_artifacts.ModelBlessing)))
