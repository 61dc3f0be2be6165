"""The Evaluator's TFMA config as recorded and as handed to TFX's executor, and what the executor
records on its outputs."""
import math

import tensorflow_model_analysis as tfma
from tfx.components.evaluator import executor as tfx_evaluator_executor
from tfx.dsl.compiler import compiler
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from pipeline import eval_config, evaluation, evaluator, metrics
from pipeline.configs import PipelineConfig
from pipeline.pipeline import create_pipeline


def test_the_eval_config_is_recorded_without_a_backslash_and_decodes_to_itself():
    config = eval_config.eval_config(PipelineConfig().dataset())
    assert "\\" in proto_utils.proto_to_json(config), "TFX's JSON form escapes the metric configs"
    recorded = evaluator.encode(config)
    assert "\\" not in recorded
    assert evaluator.decode(recorded) == config


def test_the_compiled_pipeline_hands_the_evaluator_the_encoded_config(tmp_path):
    config = PipelineConfig(work_dir=str(tmp_path)).resolved()
    ir = compiler.Compiler().compile(create_pipeline(config))
    [node] = [n.pipeline_node for n in ir.nodes if n.pipeline_node.node_info.id == "Evaluator"]
    recorded = node.parameters.parameters[evaluator.EVAL_CONFIG_KEY].field_value.string_value
    assert evaluator.decode(recorded) == eval_config.eval_config(config.dataset())


def _example_count_bounds(config):
    [count] = [m for spec in config.metrics_specs for m in spec.metrics if m.class_name == "ExampleCount"]
    return [t.threshold.value_threshold.lower_bound.value for t in count.per_slice_thresholds]


def test_replacing_a_served_model_needs_enough_eval_rows_unless_the_blessing_sets_its_own_minimum():
    declared = PipelineConfig().dataset()
    config = eval_config.eval_config(declared)
    assert _example_count_bounds(config) == []  # a first model: nothing to replace
    assert _example_count_bounds(eval_config.with_rows_to_replace(config)) == [metrics.ROWS_TO_REPLACE]
    assert _example_count_bounds(config) == [], "the pipeline's own config is left as it was"
    own = eval_config.eval_config(PipelineConfig(minimum={"example_count": 12}).dataset())
    assert _example_count_bounds(own) == [12]
    assert _example_count_bounds(eval_config.with_rows_to_replace(own)) == [12]


def test_the_evaluator_asks_for_the_rows_only_with_a_served_model_and_records_no_undefined_metric(
        monkeypatch, tmp_path):
    """AUC on an eval split of one class is NaN, which ML Metadata cannot store (SQLite: `no such
    column: nan`): the blessing then records no main metric value, and the run goes on."""
    handed = []
    monkeypatch.setattr(tfx_evaluator_executor.Executor, "Do",
                        lambda self, inputs, outputs, properties: handed.append(properties[evaluator.EVAL_CONFIG_KEY]))
    monkeypatch.setattr(evaluation, "load", lambda uri: evaluation.Evaluation(
        {"auc": math.nan, "example_count": 6.0}, {}, {}, [], True, []))
    config = eval_config.eval_config(PipelineConfig().dataset())
    for baseline in ([], [standard_artifacts.Model()]):
        blessing, evaluated = standard_artifacts.ModelBlessing(), standard_artifacts.ModelEvaluation()
        evaluator.Executor().Do(
            {"baseline_model": baseline}, {"blessing": [blessing], "evaluation": [evaluated]},
            {evaluator.EVAL_CONFIG_KEY: evaluator.encode(config), evaluator.CANDIDATE: "wide_deep",
             evaluator.MAIN_METRIC: "auc"})
        assert evaluator.MAIN_VALUE not in blessing.mlmd_artifact.custom_properties
    without, with_baseline = (proto_utils.json_to_proto(text, tfma.EvalConfig()) for text in handed)
    assert _example_count_bounds(without) == [] and _example_count_bounds(with_baseline) == [metrics.ROWS_TO_REPLACE]
