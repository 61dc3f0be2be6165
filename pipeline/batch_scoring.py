"""Batch scoring: every row of a CSV file through a pushed model version, into a CSV file, on Beam.

TFX's BulkInferrer scores examples inside a pipeline run, from ExampleGen's output, into
PredictionLog records; a user holding a file of new rows wants the rows back with their
predictions. Here the file is read as the pipeline's CsvExampleGen reads it (record-aligned byte
ranges, in parallel, in flat memory: `schema/csv_records.py`), each row becomes the tf.Example a
serving client sends (`serving/examples.py`: the curated schema's types, the dataset's missing-value
tokens), and the model's `serving_default` signature runs as the model server runs it
(`serving/loaded_version.py`), on batches of rows.

Each byte range is scored by a worker of its own into a part file (`pipeline/scoring_ranges.py`,
which says why not tfx_bsl's RunInference); the parts are joined here in the file's order. The
output appears complete or not at all (written beside, then renamed).
"""
import csv
import dataclasses
import io
import os
import re
import time
from typing import Dict, List, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from tensorflow.python.saved_model import loader_impl  # pylint: disable=no-name-in-module
from tensorflow_metadata.proto.v0 import schema_pb2

from models import signatures
from models.dataset import Dataset, Task
from pipeline import scoring_ranges, scratch
from pipeline.scoring_ranges import (COUNTERS, MISSING_COUNTER, OUTSIDE_COUNTER, ROWS_COUNTER, SIGNATURE,
                                     Job, ScoringError)
from schema import csv_files, date_cells, distances, ranges, vocabularies
from serving import examples


def prediction_columns(dataset: Dataset) -> List[str]:
    """The columns added to each row: the predicted class (or value), then classification's
    probability of every class, in the declaration's order."""
    label = dataset.label
    if dataset.task is Task.REGRESSION:
        return [f"predicted_{label.column}"]
    return [f"predicted_{label.column}", *(f"probability_{name}" for name in label.classes)]


def check_signature(version_dir: str, dataset: Dataset) -> str:
    """serving_default's output name, after checking that its answers are those of a model of
    `dataset` (a version of another dataset's model would be scored into nonsense columns)."""
    meta_graph = loader_impl.SavedModelLoader(version_dir).get_meta_graph_def_from_tags(["serve"])
    signature = meta_graph.signature_def.get(SIGNATURE)
    key = signatures.prediction_key(dataset.task)
    classes = len(dataset.label.classes)
    width = classes if dataset.task is Task.MULTICLASS else 1
    if signature is None or key not in signature.outputs:
        answers = ", ".join(signature.outputs) if signature else f"no {SIGNATURE} signature"
        raise ScoringError(f"{version_dir} answers {answers}, not the {key!r} of a "
                           f"{dataset.task.value} model: is it a model of dataset {dataset.name!r}?")
    dims = [d.size for d in signature.outputs[key].tensor_shape.dim]
    if len(dims) != 2 or dims[1] != width:
        raise ScoringError(f"{version_dir} answers {key} of shape {dims}, but a {dataset.task.value} "
                           f"model of {dataset.name!r} answers {width} value(s) per row: is it a "
                           "model of this dataset?")
    return key


@dataclasses.dataclass(frozen=True)
class Scored:
    rows: int
    seconds: float
    passed_through: Tuple[str, ...]  # columns written back but not sent to the model
    features: Tuple[str, ...]  # the model's features, as it was trained (not as declared since)
    outside_range: Dict[str, int]  # feature -> rows with a value outside the schema's range
    bounds: Dict[str, Tuple[float, float]]  # the schema's ranges of the features
    unseen: vocabularies.Unseen  # categories outside the schema's vocabularies, per feature
    missing: Dict[str, int]  # feature -> rows without a value
    dates: date_cells.DateCells  # date cells the model reads only in part


def _join(job: Job, header: Sequence[str], target: str) -> None:
    """Header, then the parts in the file's order, into `target`."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(header)
    with FileSystems.create(target) as out:
        out.write(text.getvalue().encode("utf-8"))
        pattern = FileSystems.join(job.parts_dir, "part-*.csv")
        parts = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
        for part in parts:
            with FileSystems.open(part) as f:
                for chunk in iter(lambda f=f: f.read(1 << 20), b""):
                    out.write(chunk)


def _numbers(features: Sequence[str], dataset: Dataset, schema: schema_pb2.Schema) -> set:
    """Of `features`, those read as numbers: as declared, and for a feature the version was trained
    on that the declaration has since dropped, as its schema type says (integer codes are
    `is_categorical`; so are integer numbers of few values, which the declaration alone tells apart)."""
    declared, by_name = set(dataset.feature_names()), {f.name: f for f in schema.feature}
    return set(dataset.number_names()) | {
        name for name in features if name not in declared and name in by_name
        and by_name[name].type in (schema_pb2.INT, schema_pb2.FLOAT) and not distances.is_categorical(by_name[name])}


def score(csv_path: str, out_path: str, dataset: Dataset, schema: schema_pb2.Schema,
          version_dir: str, beam_args: Sequence[str]) -> Scored:
    """Writes `out_path`: every row of `csv_path` (a checked CSV file) with the predictions of
    the model in `version_dir`. Raises ScoringError, leaving nothing behind, when it cannot."""
    with FileSystems.open(csv_path) as f:
        header = tuple(csv_files.parse_header(f.readline()))
    # what this version was trained on, which the declaration may since have changed
    features = signatures.trained_features(version_dir) or dataset.feature_names()
    types = examples.feature_types(schema)
    unknown = [name for name in features if name not in types]
    if unknown:
        raise ScoringError(f"{version_dir} reads {', '.join(unknown)}, which the schema no longer has: "
                           "score with the schema it was trained with (--schema)")
    missing = [name for name in features if name not in header]
    if missing:
        raise ScoringError(f"{os.path.basename(csv_path)} has no column {', '.join(missing)}: the "
                           "model needs every feature it was trained on (a column with no values "
                           "can be written empty)")
    added = prediction_columns(dataset)
    clash = sorted(set(added) & set(header))
    if clash:
        raise ScoringError(f"{os.path.basename(csv_path)} already has column(s) {', '.join(clash)}, "
                           "which scoring adds: rename them")
    numbers = _numbers(features, dataset, schema)
    bounds = ranges.declared_ranges(schema, [name for name in features if name in numbers])
    known = vocabularies.known_values(schema, [name for name in features if name not in numbers])
    dates, timed = dataset.dates_written_as_text(), dataset.dates_with_hour()
    job = Job(csv_path=csv_path, header=header,
              sent=tuple((i, name) for i, name in enumerate(header) if name in features),
              types={name: types[name] for name in features},
              missing_values=tuple(dataset.missing_values),
              model_path=version_dir, output=check_signature(version_dir, dataset),
              classes=tuple(dataset.label.classes) if dataset.task.is_classification else (),
              parts_dir=_beside(out_path, "parts"),
              bounds=tuple((i, name, bounds[name]) for i, name in enumerate(header) if name in bounds),
              known=tuple((i, name, known[name]) for i, name in enumerate(header) if name in known),
              dates=tuple((i, name, name in timed) for i, name in enumerate(header)
                          if name in features and name in dates))
    partial = _beside(out_path, "partial")
    started = time.monotonic()
    try:
        with scratch.temporary_files_removed_after(), beam.Pipeline(
                options=PipelineOptions(list(beam_args))) as pipeline:
            _ = (pipeline
                 | "File" >> beam.Create([csv_path])
                 | "PlanRanges" >> beam.FlatMap(scoring_ranges.indexed_ranges)
                 | "SpreadRanges" >> beam.Reshuffle()
                 | "Score" >> beam.ParDo(scoring_ranges.ScoreRange(job)))
        _join(job, [*header, *added], partial)
        FileSystems.rename([partial], [out_path])
    except Exception as error:  # pylint: disable=broad-except
        message = _worker_error(error)
        if message is None:
            raise
        raise ScoringError(message) from None
    finally:
        _remove(partial, job.parts_dir)
    counters = pipeline.result.metrics().query(MetricsFilter().with_namespace(COUNTERS))["counters"]
    counted: Dict[str, int] = {}
    for counter in counters:  # a runner may report a name once per step
        counted[counter.key.metric.name] = counted.get(counter.key.metric.name, 0) + counter.committed
    return Scored(rows=counted.get(ROWS_COUNTER, 0), seconds=time.monotonic() - started,
                  passed_through=tuple(name for name in header if name not in features), features=tuple(features),
                  outside_range={name[len(OUTSIDE_COUNTER):]: n for name, n in counted.items()
                                 if name.startswith(OUTSIDE_COUNTER) and n},
                  bounds=bounds, unseen=vocabularies.Unseen.from_counters(counted),
                  missing={name[len(MISSING_COUNTER):]: n for name, n in counted.items()
                           if name.startswith(MISSING_COUNTER) and n},
                  dates=date_cells.DateCells.from_counters(counted))


def _worker_error(error: Exception) -> Optional[str]:
    """The message of a ScoringError raised in a worker, which reaches here as the runner wraps it:
    the same exception with the step's name added (in-process), or a RuntimeError carrying the
    worker's traceback (worker processes, clusters)."""
    found = re.findall(r"ScoringError: (.+?)(?: \[while running '[^']*'\])*$",
                       f"{type(error).__name__}: {error}", re.MULTILINE)
    return found[-1] if found else None


def _beside(path: str, what: str) -> str:
    """A hidden path next to `path`, unique to this process."""
    folder, name = os.path.split(path)
    return FileSystems.join(folder or ".", f".{name}.{what}-{os.getpid()}")


def _remove(*paths: str) -> None:
    existing = [path for path in paths if FileSystems.exists(path)]
    if existing:
        FileSystems.delete(existing)
