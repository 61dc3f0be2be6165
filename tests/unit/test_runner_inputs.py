import pytest

from pipeline import pipeline, runner
from pipeline.configs import PipelineConfig
from tests.conftest import TAXI_CSV


def test_missing_data_folder_is_named(tmp_path):
    config = PipelineConfig(data_root=str(tmp_path / "nope")).resolved()
    with pytest.raises(runner.PipelineFailed, match=r"data .*nope does not exist: give a CSV file"):
        runner.check_inputs(config)


def test_empty_data_folder_is_refused(tmp_path):
    (tmp_path / ".hidden").write_text("x")
    with pytest.raises(runner.PipelineFailed, match="holds no CSV files"):
        runner.check_inputs(PipelineConfig(data_root=str(tmp_path)).resolved())


def test_missing_schema_is_named(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    config = PipelineConfig(data_root=str(tmp_path), schema_file=str(tmp_path / "s.pbtxt"))
    with pytest.raises(runner.PipelineFailed, match=r"schema file .*s\.pbtxt does not exist"):
        runner.check_inputs(config.resolved())


def test_a_single_csv_file_is_read_as_the_data(tmp_path):
    data = tmp_path / "trips.csv"
    data.write_text(open(TAXI_CSV, encoding="utf-8").read())
    config = PipelineConfig(data_root=str(data)).resolved()
    runner.check_inputs(config)
    base, input_config = pipeline.example_gen_input(config)
    assert (base, input_config.splits[0].pattern) == (str(tmp_path), "trips.csv")


def test_bundled_data_and_schema_pass():
    runner.check_inputs(PipelineConfig().resolved())


def test_paths_resolve_against_the_current_directory_not_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = PipelineConfig().resolved()
    assert config.pipeline_root.startswith(str(tmp_path))
    assert config.model_base == str(tmp_path / "serving" / "models" / "taxi")


def test_unknown_or_malformed_hyperparameters_are_named():
    from pipeline.configs import ConfigError, check_hyperparameters
    from models.model import DEFAULT_HYPERPARAMETERS

    assert check_hyperparameters({"learning_rate": 0.1}, DEFAULT_HYPERPARAMETERS) == {"learning_rate": 0.1}
    with pytest.raises(ConfigError, match="unknown hyperparameter.*hidden_unit;"):
        check_hyperparameters({"hidden_unit": [8]}, DEFAULT_HYPERPARAMETERS)
    with pytest.raises(ConfigError, match="must be a JSON object"):
        check_hyperparameters([1, 2], DEFAULT_HYPERPARAMETERS)
