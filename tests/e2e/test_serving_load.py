"""The pushed model under a mixed load: 64 concurrent REST clients sending 1-32 real examples, one
request in five malformed (a JSON nesting bomb, or broken JSON), plain and with batching."""
import pytest
import tensorflow_data_validation as tfdv

from benchmarks.serving_latency import mixed_load
from benchmarks.serving_report import BATCHING
from serving import examples
from serving import process as serving_server
from tests.conftest import TAXI, TAXI_CSV, TAXI_SCHEMA

MAX_GROWTH_MIB = 32  # after a first round (caches filling) later rounds grew the server 2-5 MiB


@pytest.fixture(scope="module")
def serialized_rows():
    rows = examples.read_csv_rows(TAXI_CSV)[:32]
    kept = [{k: v for k, v in row.items() if k in TAXI.feature_names()} for row in rows]
    return examples.serialize_rows(kept, tfdv.load_schema_text(TAXI_SCHEMA))


@pytest.mark.parametrize("extra", [[], ["--batching-parameters-file", BATCHING]],
                         ids=["plain", "batching"])
def test_64_clients_with_malformed_bodies_mixed_in_get_no_error_and_memory_stays_flat(
        workspace, cold_run, serialized_rows, extra):
    with serving_server.running(["--serving-dir", workspace.serving_dir, "--model-name", TAXI.name,
                                 *extra]) as server:
        mixed_load(server, TAXI.name, serialized_rows, seconds=4)
        load = mixed_load(server, TAXI.name, serialized_rows, seconds=10)
        log = server.log()
    assert load["valid"] > 200
    assert load["valid_failed"] == 0, "every valid request answered"
    assert load["malformed_not_400"] == 0, "every malformed body answered 400"
    assert load["rss_after_mib"] - load["rss_before_mib"] <= MAX_GROWTH_MIB
    assert "Traceback" not in log
