"""The curated schema reaches ImportSchemaGen under a content-hash path: TFX caches ImportSchemaGen
by the file path, so an edited schema at the same path would otherwise be served from cache."""
import os

from pipeline.configs import PipelineConfig
from pipeline.pipeline import content_addressed_schema, create_pipeline
from tests.conftest import TAXI_SCHEMA


def test_the_staged_path_changes_with_the_content_and_only_with_it(tmp_path):
    curated = tmp_path / "schema.pbtxt"
    curated.write_text(open(TAXI_SCHEMA, encoding="utf-8").read())
    config = PipelineConfig(work_dir=str(tmp_path / "work"), schema_file=str(curated)).resolved()
    first = content_addressed_schema(config)
    assert content_addressed_schema(config) == first
    assert open(first, encoding="utf-8").read() == curated.read_text()
    curated.write_text(curated.read_text() + "\n# tightened\n")
    second = content_addressed_schema(config)
    assert second != first and os.path.exists(first), "the old import stays for old runs' lineage"
    assert open(second, encoding="utf-8").read().endswith("# tightened\n")


def test_the_pipeline_imports_the_staged_copy(tmp_path):
    config = PipelineConfig(work_dir=str(tmp_path / "work"))
    pipeline = create_pipeline(config)
    importer = next(c for c in pipeline.components if c.id == "ImportSchemaGen")
    assert importer.exec_properties["schema_file"] == content_addressed_schema(config.resolved())
