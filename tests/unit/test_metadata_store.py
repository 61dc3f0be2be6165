import os

from ml_metadata.proto import metadata_store_pb2
import pytest

from pipeline import metadata_store


def test_a_plain_path_and_a_sqlite_uri_name_the_same_file(tmp_path):
    path = str(tmp_path / "m" / "metadata.sqlite")
    for given in (path, metadata_store.sqlite_uri(path)):
        config = metadata_store.connection_config(given)
        assert config.sqlite.filename_uri == path
        assert config.sqlite.connection_mode == \
            metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    assert metadata_store.connection_config(path, writable=False).sqlite.connection_mode == \
        metadata_store_pb2.SqliteMetadataSourceConfig.READONLY


def test_a_postgresql_uri_maps_to_mlmds_postgresql_config():
    config = metadata_store.connection_config("postgresql://ml%40team:s3cret@db.internal:6543/mlmd")
    assert config.WhichOneof("config") == "postgresql"
    assert (config.postgresql.host, config.postgresql.port, config.postgresql.dbname,
            config.postgresql.user, config.postgresql.password) == \
        ("db.internal", "6543", "mlmd", "ml@team", "s3cret")
    assert metadata_store.connection_config("postgresql://u@h/db").postgresql.port == "5432"


def test_a_mysql_uri_maps_to_mlmds_mysql_config():
    config = metadata_store.connection_config("mysql://u:p@h/db")
    assert (config.mysql.host, config.mysql.port, config.mysql.database, config.mysql.user,
            config.mysql.password) == ("h", 3306, "db", "u", "p")


def test_the_password_comes_from_the_environment_or_a_file(tmp_path, monkeypatch):
    monkeypatch.delenv(metadata_store.PASSWORD_VARIABLE, raising=False)
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    monkeypatch.setenv(metadata_store.PASSWORD_FILE_VARIABLE, str(secret))
    assert metadata_store.connection_config("postgresql://u@h/db").postgresql.password == "from-file"
    monkeypatch.setenv(metadata_store.PASSWORD_VARIABLE, "from-env")
    assert metadata_store.connection_config("postgresql://u@h/db").postgresql.password == "from-env"
    assert metadata_store.connection_config("postgresql://u:in-uri@h/db").postgresql.password == "in-uri"


def test_messages_never_show_the_password():
    assert metadata_store.redacted("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert metadata_store.redacted("postgresql://u@h/db") == "postgresql://u@h/db"


@pytest.mark.parametrize("uri, complaint", [
    ("mongodb://u@h/db", "scheme 'mongodb' is not supported"),
    ("postgresql://h/db", "give user, host and database"),
    ("postgresql://u:pw@h:port/db", "postgresql://u:***@h:port/db"),
    ("postgresql://u@h", "give user, host and database"),
])
def test_a_wrong_uri_is_named_before_any_work(uri, complaint):
    with pytest.raises(metadata_store.MetadataURIError, match=complaint.replace("*", r"\*")):
        metadata_store.check(uri)


def test_a_store_a_killed_process_left_mid_write_opens_for_reading(tmp_path):
    """A process killed with -9 inside a write leaves SQLite's rollback journal, which a read-only
    connection cannot roll back: `runs`, or the next run's first look, failed with "attempt to
    write a readonly database"."""
    import signal  # pylint: disable=import-outside-toplevel
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel


    path = str(tmp_path / "metadata.sqlite")
    uri = metadata_store.sqlite_uri(path)
    store = metadata_store.open_store(uri, writable=True)
    kind = store.put_artifact_type(metadata_store_pb2.ArtifactType(name="Examples"))
    store.put_artifacts([metadata_store_pb2.Artifact(type_id=kind, uri=f"/data/{i}") for i in range(3000)])
    del store
    writer = subprocess.Popen([sys.executable, "-c", (  # pages spilled to the file mid-transaction
        "import sqlite3, time\n"
        f"c = sqlite3.connect({path!r}, isolation_level=None)\n"
        "c.execute('PRAGMA cache_size=1'); c.execute('BEGIN IMMEDIATE')\n"
        "c.execute(\"UPDATE Artifact SET uri = uri || '/a-longer-path-than-before'\")\n"
        "print('written', flush=True); time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "written"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert os.path.exists(path + "-journal")
    read = metadata_store.open_store(uri)
    assert sorted(a.uri for a in read.get_artifacts())[:2] == ["/data/0", "/data/1"], "rolled back"
    assert not os.path.exists(path + "-journal")
