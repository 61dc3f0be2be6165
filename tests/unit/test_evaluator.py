from tfx.dsl.compiler import compiler
from tfx.utils import proto_utils

from pipeline import eval_config, evaluator
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
