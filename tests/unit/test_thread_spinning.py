"""TensorFlow's intra-op threads do not spin in a batching server (serving/server.py `build`: why);
a server without batching, and the benchmark's `--tf-thread-spinning`, keep TF's default."""
import pytest

from serving import batching, servables, server
from serving.loaded_version import LoadedVersion
from serving.settings import ServerSettings
from tests import serving_models

EMPTY_CONFIG = servables.single_model_config("toy", "/nonexistent/toy")


@pytest.mark.parametrize("settings, spinning", [
    (ServerSettings(batching_parameters=batching.Parameters(num_batch_threads=1)), False),
    (ServerSettings(), True),
    (ServerSettings(batching_parameters=batching.Parameters(num_batch_threads=1),
                           tf_thread_spinning=True), True),
])
def test_a_batching_server_loads_its_versions_without_thread_spinning(monkeypatch, settings,
                                                                      spinning):
    monkeypatch.setattr(LoadedVersion, "thread_spinning", not spinning)  # restored after the test
    server.build(EMPTY_CONFIG, settings)
    assert LoadedVersion.thread_spinning is spinning


def test_a_version_loaded_without_spinning_gets_a_session_that_does_not_spin(monkeypatch, tmp_path):
    path = serving_models.build(str(tmp_path / "toy"), 1.0)
    for spinning in (True, False):
        monkeypatch.setattr(LoadedVersion, "thread_spinning", spinning)
        session = LoadedVersion(1, path)._session  # pylint: disable=protected-access
        assert session._config.experimental.disable_thread_spinning is (not spinning)  # pylint: disable=protected-access
