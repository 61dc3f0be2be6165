"""The data gate of a Kubeflow/Vertex pipeline checks drift against the newest span it accepted, read
from its own record under the pipeline root (KFP v2 compiles no resolver that could query MLMD for
it): the compiled pipeline's steps up to the gate, run here by TFX's local runner, span after span."""
import json
import os

import pytest
from tfx.orchestration import pipeline as tfx_pipeline

from pipeline import accepted_statistics, metadata_store
from pipeline import pipeline as pipeline_module
from pipeline.configs import PipelineConfig
from pipeline.runner import _LocalRunWithId
from schema import checks
from tests.bad_data import shuffled_slices, write_rows
from tests.conftest import TAXI


@pytest.fixture(scope="module")
def kubeflow_gate(tmp_path_factory):
    """Runs the Kubeflow build of the pipeline up to its gate on span after span of one data root;
    returns a function adding a span and running, and the record folder."""
    root = tmp_path_factory.mktemp("kubeflow_gate")
    data = str(root / "data")
    config = PipelineConfig(work_dir=str(root / "work"), serving_dir=str(root / "serving"),
                            pipeline_name=TAXI.name, data_root=data, spans=True).resolved()
    record_dir = accepted_statistics.folder(config.pipeline_root)
    patch = pytest.MonkeyPatch()
    patch.setattr(pipeline_module, "image_path", lambda path: path)  # the image's files are here

    def run(span: str, rows) -> str:
        """'' when the gate passed, else its report."""
        write_rows(os.path.join(data, span), rows)
        built = pipeline_module.create_pipeline(config, for_kubeflow=True)
        metadata_store.open_store(config.metadata_uri, writable=True)  # creates its folder
        built.metadata_connection_config = metadata_store.connection_config(config.metadata_uri, True)
        try:
            _LocalRunWithId(span).run(built, run_options=tfx_pipeline.RunOptions(to_nodes=["DataGate"]))
        except checks.DataValidationError as refused:
            return str(refused)
        return ""

    yield run, record_dir
    patch.undo()


def _recorded_spans(record_dir: str):
    spans = []
    for name in sorted(os.listdir(record_dir)):
        with open(os.path.join(record_dir, name), encoding="utf-8") as f:
            spans.append(json.load(f)["span"])
    return spans


def test_a_drifted_span_is_refused_against_the_accepted_one_and_never_becomes_the_reference(kubeflow_gate):
    run, record_dir = kubeflow_gate
    header, (first, second) = shuffled_slices(5, 5000, 5000)
    payment = header.index("payment_type")  # a third of the cash trips now pay by card
    drifted = [row[:payment] + ["Credit Card" if row[payment] == "Cash" and i % 3 == 0 else row[payment]]
               + row[payment + 1:] for i, row in enumerate(first)]

    assert run("span-1", [header] + first) == ""
    assert _recorded_spans(record_dir) == [1]

    refused = run("span-2", [header] + drifted)
    assert "payment_type" in refused and "Jensen-Shannon divergence" in refused, refused[-3000:]
    assert _recorded_spans(record_dir) == [1], "refused data is never recorded as accepted"

    # Compared with span-2 it would drift back; compared with span-1, the accepted one, it passes.
    assert run("span-3", [header] + second) == ""
    assert _recorded_spans(record_dir) == [1, 3]
