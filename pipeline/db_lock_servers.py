"""How each metadata server holds the run lock (pipeline/db_lock.py): a lock that lives with one
connection, so the server releases it when that connection ends, and a way for another machine to
name the run that holds it.

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on two integer keys; the holder
  names itself in the session's `application_name`, which any machine reads from `pg_stat_activity`.
- MySQL (MariaDB too): a named lock (`GET_LOCK`). Its name is server-wide, so it holds the
  database's name besides the pipeline's. MySQL lists no lock's owner by name where
  performance_schema is off (MariaDB's default), so the holder writes its name in a small table of
  the metadata database (`tfxpipe_run_lock`) beside the id of the connection holding the lock; a row
  counts only while that connection holds it.
"""
import datetime
import hashlib
from typing import Dict, List, Optional

from pipeline import metadata_store

PREFIX = "tfxpipe"
_NAMESPACE = 0x7F1C  # first key of the two-integer advisory lock: "tfxpipe run lock"

# The sessions holding a pipeline's lock (%s, %s: its two keys) in this database.
_LOCK_ROWS = ("FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
              "AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2 "  # the two-int4 form
              "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")


def holder_fields(name: str, started: datetime.datetime) -> Dict:
    """run_lock.Holder's fields from a holder's name (`tfxpipe|run id|pid|host`)."""
    fields = (name.split("|") + ["?", "?", "?"])[1:4]
    return {"run_id": fields[0], "pid": int(fields[1]) if fields[1].isdigit() else 0,
            "host": fields[2], "started": started.astimezone().isoformat(timespec="seconds")}


class PostgreSQL:
    def __init__(self, uri: str, pipeline_name: str):
        self._uri = uri
        key = int.from_bytes(hashlib.sha256(pipeline_name.encode()).digest()[:4], "big") & 0x7FFFFFFF
        self._keys = (_NAMESPACE, key)

    def connect(self, name: str):
        return metadata_store.connect_postgresql(self._uri, name)

    @staticmethod
    def closed(connection) -> bool:
        return bool(connection.closed)

    def try_lock(self, connection, name: str) -> bool:  # pylint: disable=unused-argument  (its session's name)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", self._keys)
            return cursor.fetchone()[0]

    def holds(self, connection) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) {_LOCK_ROWS} AND l.pid = pg_backend_pid()", self._keys)
            return cursor.fetchone()[0] > 0

    def holder(self) -> Optional[Dict]:
        connection = self.connect(f"{PREFIX} query")
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT a.application_name, a.backend_start {_LOCK_ROWS}", self._keys)
                row = cursor.fetchone()
        finally:
            connection.close()
        return holder_fields(row[0], row[1]) if row else None

    def end_old_session(self, connection, name: str) -> bool:
        """Ends a session named `name` (this run's) that still holds the lock, other than this one."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_terminate_backend(l.pid) {_LOCK_ROWS} AND a.application_name = %s "
                           "AND l.pid <> pg_backend_pid()", (*self._keys, name[:63]))
            return any(row[0] for row in cursor.fetchall())


class MySQL:
    _TABLE = "tfxpipe_run_lock"
    _CREATE = (f"CREATE TABLE IF NOT EXISTS {_TABLE} (lock_name VARCHAR(64) PRIMARY KEY, "
               "connection_id BIGINT UNSIGNED NOT NULL, holder VARCHAR(255) NOT NULL, taken BIGINT NOT NULL)")
    _NO_SUCH_TABLE = 1146  # MySQL's error number

    def __init__(self, uri: str, pipeline_name: str):
        self._uri = uri
        where = f"{metadata_store.database_of(uri)}/{pipeline_name}"
        self._lock = f"{PREFIX}:{hashlib.sha256(where.encode()).hexdigest()[:48]}"

    def connect(self, name: str):  # pylint: disable=unused-argument  (named in the table instead)
        return metadata_store.connect_mysql(self._uri)

    @staticmethod
    def closed(connection) -> bool:
        return not connection.open

    def try_lock(self, connection, name: str) -> bool:
        import pymysql  # pylint: disable=import-outside-toplevel  (only for MySQL metadata)

        with connection.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, 0)", (self._lock,))
            if cursor.fetchone()[0] != 1:
                return False
            write = (f"REPLACE INTO {self._TABLE} VALUES (%s, CONNECTION_ID(), %s, UNIX_TIMESTAMP())",
                     (self._lock, name[:255]))
            try:
                try:
                    cursor.execute(*write)
                except pymysql.MySQLError as error:
                    if error.args[0] != self._NO_SUCH_TABLE:
                        raise
                    cursor.execute(self._CREATE)  # the first lock taken in this database
                    cursor.execute(*write)
            except pymysql.MySQLError:
                if not connection.open:  # lost with the lock: not taken
                    raise
                # a user that may not write it: held, its holder not named (holder())
            return True

    def holds(self, connection) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", (self._lock,))
            return cursor.fetchone()[0] == 1

    def _holding_rows(self, cursor, columns: str, more: str = "", arguments=()) -> List:
        """The table's rows of the connection holding the lock now (none without the table)."""
        import pymysql  # pylint: disable=import-outside-toplevel  (only for MySQL metadata)

        try:
            cursor.execute(f"SELECT {columns} FROM {self._TABLE} WHERE lock_name = %s "
                           f"AND connection_id = IS_USED_LOCK(%s) {more}", (self._lock, self._lock, *arguments))
        except pymysql.MySQLError as error:
            if error.args[0] != self._NO_SUCH_TABLE:  # none before a run has locked in this database
                raise
            return []
        return list(cursor.fetchall())

    def holder(self) -> Optional[Dict]:
        connection = metadata_store.connect_mysql(self._uri)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT IS_USED_LOCK(%s)", (self._lock,))
                holding = cursor.fetchone()[0]
                rows = self._holding_rows(cursor, "holder, taken") if holding is not None else []
        finally:
            connection.close()
        if holding is None:
            return None
        if rows:
            return holder_fields(rows[0][0], datetime.datetime.fromtimestamp(rows[0][1]))
        # held by a run whose name could not be written (a user that may not write the table)
        return {"run_id": "?", "pid": 0, "host": f"? (MySQL connection {holding})", "started": "?"}

    def end_old_session(self, connection, name: str) -> bool:
        """Ends a connection named `name` (this run's) that still holds the lock, other than this one
        (a user may end its own connections)."""
        with connection.cursor() as cursor:
            old = [row[0] for row in self._holding_rows(
                cursor, "connection_id", "AND holder = %s AND connection_id <> CONNECTION_ID()", (name[:255],))]
            for connection_id in old:
                cursor.execute("KILL CONNECTION %s", (connection_id,))
            return bool(old)


def for_store(uri: str, pipeline_name: str):
    """The server's lock for `uri`'s store, or None for a SQLite file (one machine: the lock file)."""
    if metadata_store.is_postgresql(uri):
        return PostgreSQL(uri, pipeline_name)
    if metadata_store.scheme(uri) == "mysql":
        return MySQL(uri, pipeline_name)
    return None
