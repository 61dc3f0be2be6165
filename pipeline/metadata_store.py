"""Where a pipeline's ML Metadata lives: `--metadata URI`, mapped to MLMD's own connection configs.

- `sqlite:///path/metadata.sqlite` (or a plain path): embedded, one machine; the default is
  `<work dir>/metadata/<pipeline>/metadata.sqlite`.
- `postgresql://user@host:5432/db`, `mysql://user@host:3306/db`: a database server that a team's
  machines and schedulers share.

The password is taken from the URI, else from $TFXPIPE_METADATA_PASSWORD, else from the file named
by $TFXPIPE_METADATA_PASSWORD_FILE (`--metadata-password-file`); it is never printed (`redacted`).
"""
import os
import urllib.parse
from typing import NamedTuple, Optional

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

PASSWORD_VARIABLE = "TFXPIPE_METADATA_PASSWORD"
PASSWORD_FILE_VARIABLE = "TFXPIPE_METADATA_PASSWORD_FILE"
_SERVERS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306}


class MetadataURIError(ValueError):
    pass


class MetadataStoreError(RuntimeError):
    """The store cannot be opened: the message says where and why, never the password."""


def sqlite_uri(path: str) -> str:
    return "sqlite://" + os.path.abspath(path)


def is_server(uri: str) -> bool:
    return scheme(uri) in _SERVERS


def scheme(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else "sqlite"


def is_postgresql(uri: str) -> bool:
    return scheme(uri) in ("postgresql", "postgres")


def is_sqlite(uri: str) -> bool:
    return scheme(uri) == "sqlite"


def sqlite_path(uri: str) -> str:
    return uri[len("sqlite://"):] if uri.lower().startswith("sqlite://") else uri


def check(uri: str) -> None:
    """Raises MetadataURIError naming what is wrong with `uri` (before any work starts)."""
    kind = scheme(uri)
    if kind == "sqlite":
        if not sqlite_path(uri):
            raise MetadataURIError(f"{uri!r}: give the SQLite file, e.g. sqlite:///work/metadata.sqlite")
        return
    if kind not in _SERVERS:
        raise MetadataURIError(f"metadata URI scheme {kind!r} is not supported: use sqlite:///PATH, "
                               "postgresql://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB")
    parts = urllib.parse.urlsplit(uri)
    if not parts.hostname or not parts.username or not parts.path.strip("/"):
        raise MetadataURIError(f"{redacted(uri)}: give user, host and database, e.g. "
                               f"{kind}://USER@HOST:{_SERVERS[kind]}/DATABASE")
    try:
        parts.port  # pylint: disable=pointless-statement  (raises on a non-numeric port)
    except ValueError as error:
        raise MetadataURIError(f"{redacted(uri)}: {error}") from None


def redacted(uri: str) -> str:
    """`uri` with any password replaced by ***, for messages and reports."""
    return _password_written(uri, ":***")


def without_password(uri: str) -> str:
    """`uri` with any password left out, for a command a message suggests (*** would be read as one)."""
    return _password_written(uri, "")


def _password_written(uri: str, shown: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(":" + parts.password + "@", shown + "@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def password(uri: str) -> Optional[str]:
    parts = urllib.parse.urlsplit(uri)
    if parts.password is not None:
        return urllib.parse.unquote(parts.password)
    if os.environ.get(PASSWORD_VARIABLE):
        return os.environ[PASSWORD_VARIABLE]
    if os.environ.get(PASSWORD_FILE_VARIABLE):
        with open(os.environ[PASSWORD_FILE_VARIABLE], encoding="utf-8") as f:
            return f.read().strip()
    return None


class _Server(NamedTuple):
    host: str
    port: int
    database: str
    user: str
    password: Optional[str]


def _server(uri: str) -> _Server:
    """Where a postgresql:// or mysql:// URI points, with its password (`password`)."""
    parts = urllib.parse.urlsplit(uri)
    return _Server(parts.hostname, parts.port or _SERVERS[scheme(uri)], parts.path.strip("/"),
                   urllib.parse.unquote(parts.username), password(uri))


def connection_config(uri: str, writable: bool = True) -> metadata_store_pb2.ConnectionConfig:
    check(uri)
    config = metadata_store_pb2.ConnectionConfig()
    if is_sqlite(uri):
        config.sqlite.filename_uri = sqlite_path(uri)
        config.sqlite.connection_mode = (
            metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE if writable
            else metadata_store_pb2.SqliteMetadataSourceConfig.READONLY)
        return config
    server = _server(uri)
    if scheme(uri) == "mysql":
        config.mysql.host, config.mysql.port = server.host, server.port
        config.mysql.database, config.mysql.user = server.database, server.user
        if server.password is not None:
            config.mysql.password = server.password
        return config
    config.postgresql.host, config.postgresql.port = server.host, str(server.port)
    config.postgresql.dbname, config.postgresql.user = server.database, server.user
    if server.password is not None:
        config.postgresql.password = server.password
    return config


def exists(uri: str) -> bool:
    """Whether anything can have been recorded there (a server is assumed to exist)."""
    return not is_sqlite(uri) or os.path.exists(sqlite_path(uri))


def connect_postgresql(uri: str, application_name: str):
    """A psycopg2 connection (autocommit) to the PostgreSQL server of `uri`."""
    import psycopg2  # pylint: disable=import-outside-toplevel  (only for PostgreSQL metadata)

    server = _server(uri)
    try:
        connection = psycopg2.connect(
            host=server.host, port=server.port, dbname=server.database, user=server.user,
            password=server.password, application_name=application_name[:63], connect_timeout=10,
            # a server gone silent (a network cut) is found within a minute, not TCP's hours
            keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3,
            tcp_user_timeout=60000)
    except psycopg2.OperationalError as error:
        raise MetadataStoreError(f"cannot connect to the metadata server {redacted(uri)}: "
                                 f"{str(error).strip()}") from None
    connection.autocommit = True
    return connection


def connect_mysql(uri: str):
    """A PyMySQL connection (autocommit) to the MySQL server of `uri`; a query on a server gone
    silent fails within a minute."""
    import pymysql  # pylint: disable=import-outside-toplevel  (only for MySQL metadata)

    server = _server(uri)
    try:
        return pymysql.connect(host=server.host, port=server.port, user=server.user, password=server.password or "",
                               database=server.database, connect_timeout=10, read_timeout=60, write_timeout=60,
                               autocommit=True)
    except pymysql.MySQLError as error:
        raise MetadataStoreError(f"cannot connect to the metadata server {redacted(uri)}: "
                                 f"{error.args[-1]}") from None


def database_of(uri: str) -> str:
    """The database a server URI names."""
    return _server(uri).database


def open_store(uri: str, writable: bool = False) -> mlmd.MetadataStore:
    """`writable`: may create and write it. A SQLite file a killed process left mid-write is
    opened writable all the same when this user may write it: only a writer can roll back the
    journal left beside it, a reader fails on it ("attempt to write a readonly database": `runs`,
    or the next run's first look, after a run was killed with -9)."""
    if is_sqlite(uri) and writable:
        os.makedirs(os.path.dirname(sqlite_path(uri)) or ".", exist_ok=True)
    try:
        return mlmd.MetadataStore(connection_config(uri, writable))
    except RuntimeError as error:
        if (is_sqlite(uri) and not writable and "readonly database" in str(error)
                and os.access(os.path.dirname(os.path.abspath(sqlite_path(uri))), os.W_OK)):
            return open_store(uri, writable=True)
        # MLMD's message for a server is "connection pointer is NULL" ("mysql_real_connect failed"
        # on MySQL); the server's reason (wrong password, no such database) goes to its C++ log
        # only. A direct connection reports it.
        if is_postgresql(uri):
            connect_postgresql(uri, "tfxpipe check").close()
        elif scheme(uri) == "mysql":
            connect_mysql(uri).close()
        raise MetadataStoreError(f"cannot open ML Metadata at {redacted(uri)}: {error}") from None

