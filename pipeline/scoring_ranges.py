"""Batch scoring's workers: each scores one byte range of the CSV file into a part file of its own.

Why each byte range is scored and written whole by one DoFn call rather than through tfx_bsl's
RunInference: RunInference takes examples one by one and answers PredictionLogs, so rows lose their
order and their line in the file. A range keeps both: its rows are written, in order, to a part file
of their own (`pipeline/batch_scoring.py` joins the parts in the file's order), and a cell that
cannot be converted is named by its line.
"""
import atexit
import csv
import dataclasses
import io
import os
from typing import Dict, Iterable, List, Optional, Tuple

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.utils import shared

from models import signatures
from schema import csv_records, date_cells, ranges, vocabularies
from serving import examples
from serving.loaded_version import LoadedVersion

BATCH_ROWS = 1024  # rows per model call: past a few hundred, the call's cost per row is flat
SIGNATURE = "serving_default"
COUNTERS = __name__  # the Beam counters' namespace, which `score` reads back
ROWS_COUNTER = "rows"
OUTSIDE_COUNTER = "outside_range:"  # + a feature's name: its values outside the schema's range
MISSING_COUNTER = "missing:"  # + a feature's name: its rows without a value


class ScoringError(ValueError):
    """The file, the model or the output cannot be scored as asked; the message says why."""


@dataclasses.dataclass(frozen=True)
class Job:
    """What every worker needs to score its ranges (pickled to them)."""
    csv_path: str
    header: Tuple[str, ...]
    sent: Tuple[Tuple[int, str], ...]  # (column index, name) of the model's features
    types: Dict[str, int]  # schema type of each sent feature
    missing_values: Tuple[str, ...]
    model_path: str
    output: str  # serving_default's output
    classes: Tuple[str, ...]  # () for regression
    parts_dir: str
    bounds: Tuple[Tuple[int, str, Tuple[float, float]], ...] = ()  # (column index, name, schema range)
    known: Tuple[Tuple[int, str, vocabularies.Known], ...] = ()  # (column index, name, vocabulary)
    dates: Tuple[Tuple[int, str, bool], ...] = ()  # (column index, name, hour a part) of dates written as text

    def part(self, index: int) -> str:
        return FileSystems.join(self.parts_dir, f"part-{index:06d}.csv")


def _prediction_cells(job: Job, answers: np.ndarray) -> List[List[str]]:
    if not job.classes:
        return [[str(value)] for value in answers[:, 0]]
    answers = signatures.class_probabilities(answers)
    best = answers.argmax(axis=1)
    return [[job.classes[b], *map(str, row)] for b, row in zip(best, answers)]


def _load(version: int, path: str) -> LoadedVersion:
    model = LoadedVersion(version, path)
    # Closed while TensorFlow is still loaded: a worker process's interpreter shutdown would free
    # the Session's callables after TensorFlow's modules, and print their failing finalizers.
    atexit.register(model.close)
    return model


class ScoreRange(beam.DoFn):
    """One byte range: its rows converted, scored in batches and written, in order, to its part."""

    def __init__(self, job: Job):
        self._job = job
        self._shared = shared.Shared()  # one loaded model per worker process, whatever its threads
        self._model: Optional[LoadedVersion] = None
        self._rows = beam.metrics.Metrics.counter(COUNTERS, ROWS_COUNTER)

    def setup(self):
        path = self._job.model_path
        version = int(os.path.basename(path.rstrip("/")))
        self._model = self._shared.acquire(lambda: _load(version, path), tag=path)

    def _score(self, rows: List[List[str]], serialized: List[bytes], out) -> None:
        answers = self._model.run(SIGNATURE, {"examples": np.array(serialized, dtype=object)})
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        for row, predicted in zip(rows, _prediction_cells(self._job, answers[self._job.output])):
            writer.writerow(row + predicted)
        out.write(text.getvalue().encode("utf-8"))
        self._rows.inc(len(rows))

    def process(self, indexed_range: Tuple[int, csv_records.ByteRange]) -> Iterable[int]:
        index, byte_range = indexed_range
        job = self._job
        name, width = os.path.basename(job.csv_path), len(job.header)
        line = byte_range.line
        rows: List[List[str]] = []
        serialized: List[bytes] = []
        outside: Dict[str, int] = {}
        missing = {feature: 0 for _, feature in job.sent}
        unseen = vocabularies.Unseen()
        dates = date_cells.DateCells()
        with FileSystems.create(job.part(index)) as out:
            for record in csv_records.read_records(byte_range):
                cells = next(csv.reader([record]), [])
                if cells:  # a blank line is no row, as in CsvExampleGen
                    if len(cells) != width:
                        raise ScoringError(f"{name} line {line}: {len(cells)} fields, but its "
                                           f"header has {width}")
                    try:
                        example = examples.to_example({n: cells[i] for i, n in job.sent},
                                                      job.types, job.missing_values)
                    except ValueError as error:
                        raise ScoringError(f"{name} line {line}: {error}") from None
                    for i, feature in job.sent:
                        if cells[i] in job.missing_values or not cells[i]:
                            missing[feature] += 1
                    for i, feature, limits in job.bounds:
                        if cells[i] not in job.missing_values and ranges.is_outside(cells[i], limits):
                            outside[feature] = outside.get(feature, 0) + 1
                    for i, feature, known in job.known:
                        unseen.check_cell(feature, cells[i], known, job.missing_values)
                    for i, feature, hour in job.dates:
                        dates.check_cell(feature, cells[i], hour, job.missing_values)
                    rows.append(cells)
                    serialized.append(example.SerializeToString())
                    if len(rows) == BATCH_ROWS:
                        self._score(rows, serialized, out)
                        rows, serialized = [], []
                line += record.count("\n") or 1
            if rows:
                self._score(rows, serialized, out)
        counters = {OUTSIDE_COUNTER + feature: count for feature, count in outside.items()}
        counters.update({MISSING_COUNTER + feature: count for feature, count in missing.items() if count})
        for name, count in {**counters, **unseen.as_counters(), **dates.as_counters()}.items():  # summed over workers
            beam.metrics.Metrics.counter(COUNTERS, name).inc(count)
        yield index


def indexed_ranges(path: str) -> Iterable[Tuple[int, csv_records.ByteRange]]:
    return enumerate(csv_records.plan_ranges(path, csv_records.CHUNK_BYTES))
