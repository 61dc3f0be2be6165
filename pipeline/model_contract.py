"""Whether the served model can be the Evaluator's baseline for this run's candidate.

TFMA evaluates the baseline on this run's eval split, through the baseline's own
`transform_features` signature, and compares its metrics with the candidate's on this run's label.
That only holds when both models predict the same thing from columns this run's data has:
- a baseline that predicts another label, task, class list or derived rule gives a meaningless
  comparison, or crashes the Evaluator (a multi-class model's metrics against a regression label);
- a baseline that parses a column with another type (a schema edited to read integers as
  fractions, or a class label made INT) fails inside TensorFlow's ParseExample; one that reads a column this run's
  schema no longer has would be judged on data that may lack it.
Such a candidate is a new contract: it is evaluated as on a first run (no served model to beat),
and the run says why. Both sides are read from ML Metadata: the Trainer execution that made each
model records the declaration (its `custom_config`) and the schema it read (its `schema` input).
"""
import json
import os
from typing import Any, Dict, List, Optional, Tuple

import ml_metadata as mlmd
import tensorflow as tf
from absl import logging as absl_logging
from ml_metadata.proto import metadata_store_pb2
from tensorflow_transform.tf_metadata import schema_utils

from models.dataset import Dataset, DeclarationError, Label
from schema import schema_text

SCHEMA_INPUT_KEY = "schema"  # the Trainer's input of the curated schema
SCHEMA_FILE = "schema.pbtxt"  # in an ImportSchemaGen / SchemaGen output


def _trainer_inputs(store: mlmd.MetadataStore, model_id: int) -> Optional[Tuple[Dataset, str]]:
    """The declaration and the schema file of the Trainer run that made model `model_id` (of its
    executions, the one that recorded both: a cache hit of a partial run records no inputs); None
    when MLMD does not hold them."""
    made = [e.execution_id for e in store.get_events_by_artifact_ids([model_id])
            if e.type == metadata_store_pb2.Event.OUTPUT]
    schemas = {e.execution_id: e.artifact_id for e in store.get_events_by_execution_ids(made)
               if e.type == metadata_store_pb2.Event.INPUT and e.path.steps
               and e.path.steps[0].key == SCHEMA_INPUT_KEY}
    for execution in store.get_executions_by_id(list(schemas)):
        config = json.loads(execution.custom_properties["custom_config"].string_value or "{}") \
            if "custom_config" in execution.custom_properties else {}
        if "dataset" in config:
            schema = store.get_artifacts_by_id([schemas[execution.id]])[0]
            return Dataset.from_config(config["dataset"]), os.path.join(schema.uri, SCHEMA_FILE)
    return None


def _label_text(label: Label) -> str:
    derived = label.derived
    how = (f"{derived.column} > {derived.times:g} x {derived.other_column}" if derived
           else ", ".join(label.classes))
    return f"{label.column} ({label.task.value}{': ' + how if how else ''})"


def _feature_spec(schema_file: str) -> Dict[str, Any]:
    """How a model trained on this schema parses each raw column: TFT's feature spec, the one its
    `transform_features` signature was built with."""
    return schema_utils.schema_as_feature_spec(schema_text.read(schema_file)).feature_spec


def _input_changes(served: Dict[str, Any], candidate: Dict[str, Any]) -> List[str]:
    gone = [name for name in sorted(served) if name not in candidate]
    retyped = [f"{name} {spec.dtype.name} -> {candidate[name].dtype.name}"
               for name, spec in sorted(served.items())
               if name in candidate and candidate[name].dtype != spec.dtype]
    return ([f"columns this run's schema lacks: {', '.join(gone)}"] if gone else []) + (
        [f"columns of another type: {', '.join(retyped)}"] if retyped else [])


def change(store: mlmd.MetadataStore, served_model_id: int, candidate_model_id: int) -> Optional[str]:
    """Why the served model cannot be the candidate's baseline, or None when it can, or when MLMD or
    the files do not say (stores from before the declaration was recorded, a schema folder since
    deleted): the baseline is then kept, as before this check existed."""
    try:
        served, candidate = (_trainer_inputs(store, i) for i in (served_model_id, candidate_model_id))
        if served is None or candidate is None:
            return None
        (served_declaration, served_schema), (declaration, schema) = served, candidate
        served_label, label = served_declaration.label, declaration.label
        if served_label != label:
            return f"that model predicts {_label_text(served_label)}, this one {_label_text(label)}"
        if served_schema == schema:
            return None
        changes = _input_changes(_feature_spec(served_schema), _feature_spec(schema))
    except (DeclarationError, ValueError, KeyError, TypeError, OSError, tf.errors.OpError) as error:
        absl_logging.warning("kept the served model as baseline: its contract could not be read (%s)", error)
        return None
    return "that model cannot read this run's data (" + "; ".join(changes) + ")" if changes else None


def features_gone(store: mlmd.MetadataStore, served_model_id: int, candidate_model_id: int) -> List[str]:
    """The features the served model read that the candidate's declaration no longer has (excluded
    since, most often as a copy of the label): a served model that read one is no fair bar for the
    candidate. Empty when MLMD does not say."""
    try:
        served, candidate = (_trainer_inputs(store, i) for i in (served_model_id, candidate_model_id))
    except (DeclarationError, ValueError, KeyError, TypeError) as error:
        absl_logging.warning("could not read the served model's declaration (%s)", error)
        return []
    if served is None or candidate is None:
        return []
    kept = set(candidate[0].feature_names())
    return [name for name in served[0].feature_names() if name not in kept]
