"""The TFX pipeline definition: one typed `create_pipeline()`, shared by every runner."""
import hashlib
import json
import os
from typing import Optional, Tuple

import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2

# Modules, not the `tfx.v1` namespace, which also imports the Google Cloud extensions (seconds a start).
from tfx.components.example_validator.component import ExampleValidator
from tfx.components.pusher.component import Pusher
from tfx.components.schema_gen.component import SchemaGen
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.components.statistics_gen.component import StatisticsGen
from tfx.components.transform.component import Transform
from tfx.dsl.components.base import executor_spec
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.io import fileio
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
    LatestBlessedModelStrategy,
)
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.proto import example_gen_pb2, pusher_pb2
from tfx.types import Channel, channel_utils, standard_artifacts

from models.dataset import Task
from pipeline import (accepted_statistics, candidates, csv_example_gen, eval_config, gate, metadata_store, metrics,
                      resolvers)
from pipeline.code_digest import code_digest
from pipeline.configs import ConfigError, PipelineConfig, image_path, is_remote
from pipeline.csv_example_gen import CsvExampleGen
from pipeline.infra_validator import InfraValidator
import schema as schema_package
from schema import absent_classes, data_folder, distances, schema_text
from serving import model_dir
from serving.pusher import AtomicPushExecutor

# Dotted paths instead of module files: TFX imports them from the installed package, so no per-run
# wheel of user code is built into the pipeline root (seconds saved per component, cache stable).
PREPROCESSING_FN = "models.preprocessing.preprocessing_fn"


def is_one_file(data_root: str) -> bool:
    """Whether a run reads `data_root` as one CSV file: a local file, or a cluster path (which this
    machine does not look into) ending in `.csv`."""
    return data_root.lower().endswith(".csv") if is_remote(data_root) else os.path.isfile(data_root)


def example_gen_input(config: PipelineConfig) -> Tuple[str, example_gen_pb2.Input]:
    """CsvExampleGen's input folder and pattern: a single CSV file; the newest of the `span-N/`
    sub-folders (N is the span); else every file in the folder."""
    if is_one_file(config.data_root):
        base, pattern = os.path.dirname(config.data_root), os.path.basename(config.data_root)
    else:
        spans = config.spans
        if spans is None:
            spans = not is_remote(config.data_root) and bool(data_folder.spans(config.data_root))
        base, pattern = config.data_root, "span-{SPAN}/*" if spans else "*"
    return base, example_gen_pb2.Input(
        splits=[example_gen_pb2.Input.Split(name="data", pattern=pattern)])


def baseline_model_resolver(candidate, for_kubeflow: bool) -> Resolver:
    """Model the Evaluator compares with. KFP v2 compiles only TFX's built-in resolver strategies, so
    a Kubeflow build uses LatestBlessedModelStrategy (which re-evaluates unchanged re-runs)."""
    models = Channel(type=standard_artifacts.Model)
    blessings = Channel(type=standard_artifacts.ModelBlessing)
    if for_kubeflow:
        return Resolver(
            strategy_class=LatestBlessedModelStrategy,
            **{resolvers.MODEL_KEY: models, resolvers.BLESSING_KEY: blessings},
        ).with_id("baseline_model_resolver")
    return Resolver(
        strategy_class=resolvers.BaselineModelStrategy,
        **{resolvers.CANDIDATE_KEY: candidate, resolvers.MODEL_KEY: models,
           resolvers.BLESSING_KEY: blessings,
           resolvers.INFRA_BLESSING_KEY: Channel(type=standard_artifacts.InfraBlessing)},
    ).with_id("baseline_model_resolver")


def content_addressed_schema(config: PipelineConfig) -> str:
    """A copy of the curated schema at a path named by its content hash. ImportSchemaGen's cache key
    is the file *path*: an edited schema.pbtxt would otherwise reuse the stale cached import."""
    with fileio.open(config.schema_file, "rb") as f:
        content = f.read()
    digest = hashlib.sha256(content).hexdigest()[:16]
    staged = os.path.join(config.pipeline_root, "curated_schema", digest, "schema.pbtxt")
    if not fileio.exists(staged):
        fileio.makedirs(os.path.dirname(staged))
        with fileio.open(staged, "wb") as f:
            f.write(content)
    return staged


def compared_statistics(curated: schema_pb2.Schema):
    """StatisticsGen's options: those of `distances.stats_options` but the schema, which comes from
    ImportSchemaGen's channel (StatisticsGen refuses both); None for TFDV's defaults, so that the
    cache of pipelines whose schema asks nothing else stays valid."""
    buckets = distances.quantile_buckets(curated)
    return None if buckets == distances.DEFAULT_QUANTILE_BUCKETS else tfdv.StatsOptions(
        num_quantiles_histogram_buckets=buckets)


def label_range(curated: schema_pb2.Schema, dataset) -> Optional[Tuple[float, float]]:
    """A regression label's declared range in the curated schema (the report's predicted-vs-actual
    plot spans it); None for classification or without one."""
    if dataset.task is not Task.REGRESSION:
        return None
    for feature in curated.feature:
        if feature.name == dataset.label.column:
            domain = (feature.float_domain if feature.HasField("float_domain")
                      else feature.int_domain if feature.HasField("int_domain") else None)
            if domain is not None and domain.HasField("min") and domain.HasField("max"):
                return float(domain.min), float(domain.max)
    return None


def create_pipeline(config: PipelineConfig, for_kubeflow: bool = False) -> tfx_pipeline.Pipeline:
    """The pipeline for `config`. `for_kubeflow`: MLMD is the orchestrator's, and only resolvers that
    KFP v2 can compile are used (the gate finds the previous span's statistics in its own record
    under the pipeline root: `accepted_statistics`)."""
    config = config.resolved()
    if for_kubeflow and len(config.models) > 1:
        # TFX 1.16's KFP v2 compiler takes a single channel per input ("Only single Channel is
        # supported"), and choosing among candidates needs the union of their models.
        raise ConfigError(f"a Kubeflow/Vertex pipeline trains one model family (asked for "
                          f"{', '.join(config.models)}): compile one pipeline per family, or "
                          "compare families with a local run")
    if for_kubeflow and config.train_spans > 1:
        raise ConfigError("a Kubeflow/Vertex pipeline trains on its run's span: the training window "
                          f"(--train-spans {config.train_spans}) needs the data gate's record of "
                          "earlier spans, which only a local run resolves; compile with --train-spans 1")
    dataset, curated = config.dataset(), schema_text.read(config.schema_file)  # the curated schema, read once
    input_base, input_config = example_gen_input(config)
    if config.train_spans > 1 and "{SPAN}" not in input_config.splits[0].pattern:
        raise ConfigError(f"--train-spans {config.train_spans} trains on several spans, but "
                          f"{config.data_root} holds no span-N/ folders (each run reads all of it): "
                          "put each batch of data in its own span-N/ folder (--spans for a cluster "
                          "path), or leave --train-spans out")
    example_gen = CsvExampleGen(
        input_base=input_base,
        custom_config=csv_example_gen.custom_config(dataset.missing_values, curated),
        input_config=input_config,
        output_config=example_gen_pb2.Output(
            split_config=example_gen_pb2.SplitConfig(
                splits=[
                    example_gen_pb2.SplitConfig.Split(
                        name="train", hash_buckets=schema_package.TRAIN_BUCKETS),
                    example_gen_pb2.SplitConfig.Split(
                        name="eval", hash_buckets=schema_package.EVAL_BUCKETS),
                ]
            )
        ),
    )
    # Kubeflow: the schema file is inside the pipeline image, fixed per image.
    curated_schema = ImportSchemaGen(
        schema_file=image_path(config.schema_file) if for_kubeflow
        else content_addressed_schema(config))
    # With the curated schema, integer codes get per-code statistics (compared by their shares), and
    # numeric columns the quantile histograms its thresholds were calibrated for.
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"],
                                   schema=curated_schema.outputs["schema"],
                                   stats_options=compared_statistics(curated))
    # Inferred schema, kept only to compare with the curated one; the curated one drives the rest.
    inferred_schema = SchemaGen(statistics=statistics_gen.outputs["statistics"])
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=curated_schema.outputs["schema"]
    )
    previous_span_statistics = None if for_kubeflow else Resolver(
        strategy_class=resolvers.PreviousSpanStatisticsStrategy,
        **{
            resolvers.CURRENT_STATISTICS_KEY: statistics_gen.outputs["statistics"],
            resolvers.STATISTICS_KEY: Channel(
                type=standard_artifacts.ExampleStatistics
            ),
        },
    ).with_id("previous_span_statistics_resolver")
    dates, timed = dataset.dates_written_as_text(), dataset.dates_with_hour()  # their cells are checked by the gate
    classes = absent_classes.classes_to_check(curated, dataset.label.column, dataset.label.classes)
    data_gate = gate.DataGate(
        statistics=statistics_gen.outputs["statistics"],
        schema=curated_schema.outputs["schema"],
        previous_statistics=(
            previous_span_statistics.outputs[resolvers.STATISTICS_KEY]
            if previous_span_statistics else None
        ),
        report_dir=config.report_dir,
        examples=example_gen.outputs["examples"],
        data_files="" if for_kubeflow else os.path.join(input_base, input_config.splits[0].pattern),
        missing_values=json.dumps(dataset.missing_values),
        # only where there are: a parameter more would change every other dataset's cache key
        **({"date_columns": json.dumps(dates)} if dates else {}),
        **({"timed_date_columns": json.dumps(timed)} if timed else {}),
        **({"label_classes": json.dumps(classes)} if classes else {}),
        **({"accepted_record_dir": accepted_statistics.folder(config.pipeline_root)} if for_kubeflow else {}),
    )
    # Only with a window: a pipeline of one span keeps its nodes (and its cache) as they were.
    training_window = Resolver(
        strategy_class=resolvers.TrainingWindowStrategy,
        config={"spans": config.train_spans},
        **{
            resolvers.CURRENT_EXAMPLES_KEY: example_gen.outputs["examples"],
            resolvers.EXAMPLES_KEY: Channel(type=standard_artifacts.Examples),
        },
    ).with_id("training_window_resolver") if config.train_spans > 1 else None
    if training_window:  # resolved once the gate passed: a stopped run trained on (and lists) nothing
        training_window.add_upstream_node(data_gate)
    transform = Transform(
        examples=(training_window.outputs[resolvers.EXAMPLES_KEY] if training_window
                  else example_gen.outputs["examples"]),
        schema=curated_schema.outputs["schema"],
        preprocessing_fn=PREPROCESSING_FN,
        custom_config={"dataset": dataset.to_config(), "code": code_digest(PREPROCESSING_FN),
                       # the window's size, which the resolver does not record: a resume sees it change
                       **({"train_spans": config.train_spans} if training_window else {})},
        # StatisticsGen and ExampleValidator already cover the raw data; TFT's own pre/post-transform
        # statistics would repeat that work inside Transform.
        disable_statistics=True,
        # The analyzer cache only pays off when analysis reruns over mostly-unchanged spans; writing it
        # costs every run. TFX's own component cache already skips Transform on unchanged inputs.
        disable_analyzer_cache=True,
    )
    transform.add_upstream_node(data_gate)  # no Transform (nor anything after it) on rejected data
    trained = candidates.trainers(config, dataset, transform, curated_schema.outputs["schema"],
                                  for_kubeflow)
    models = [c.trainer.outputs["model"] for c in trained]
    every_model = models[0] if len(models) == 1 else channel_utils.union(models)
    baseline_resolver = baseline_model_resolver(every_model, for_kubeflow)
    candidates.add_evaluators(
        trained, example_gen.outputs["examples"],
        baseline_resolver.outputs[resolvers.MODEL_KEY],
        eval_config.eval_config(dataset, label_range(curated, dataset)),
        metrics.MAIN_METRIC[dataset.task])
    blessings = [c.evaluator.outputs["blessing"] for c in trained]
    infra_validator = InfraValidator(
        model=every_model,
        examples=example_gen.outputs["examples"],
        model_blessing=blessings[0] if len(blessings) == 1 else channel_utils.union(blessings),
        model_name=config.model_name,
        serving_features=list(dataset.feature_names()),
        task=dataset.task.value,
    )
    # No `model` input: the Pusher pushes the infra-validated copy, which carries the warmup file;
    # the InfraValidator validates only a candidate its Evaluator blessed.
    pusher = Pusher(
        infra_blessing=infra_validator.outputs["blessing"],
        push_destination=pusher_pb2.PushDestination(
            filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=config.model_base)
        ),
        custom_executor_spec=executor_spec.ExecutorClassSpec(AtomicPushExecutor),
        # None unless set: the Pusher's cache key stays as it was for every other pipeline
        custom_config={model_dir.KEEP_VERSIONS: config.keep_versions} if config.keep_versions else None,
    )
    return tfx_pipeline.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=[
            example_gen,
            statistics_gen,
            inferred_schema,
            curated_schema,
            example_validator,
            *([previous_span_statistics] if previous_span_statistics else []),
            data_gate,
            *([training_window] if training_window else []),
            transform,
            *[node for c in trained for node in (c.hyperparameters, c.trainer) if node],
            baseline_resolver,
            *[c.evaluator for c in trained],
            infra_validator,
            pusher,
        ],
        enable_cache=config.enable_cache,
        metadata_connection_config=(
            metadata_store.connection_config(config.metadata_uri) if not for_kubeflow else None
        ),
        beam_pipeline_args=list(config.beam_args),
    )
