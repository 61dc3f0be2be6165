"""The run lock in a PostgreSQL metadata database, for teams whose machines share one metadata store.

A session-level advisory lock (`pg_try_advisory_lock`) taken on a connection held open for the run:
the server releases it when that connection ends, also when the process is killed (a machine that
vanishes from the network: once the server's TCP keepalive gives up on it), so a crashed run never
blocks the next one. The holder names itself in the session's
`application_name`, which any other machine reads from `pg_stat_activity`.
MLMD has no lock of its own and its Python API no transactions, hence psycopg2 here. With MySQL
metadata, runs are locked per machine only (the lock file under the work dir).
"""
import contextlib
import hashlib
import time
from typing import Callable, Dict, Iterator, Optional

from pipeline import metadata_store

_NAMESPACE = 0x7F1C  # first key of the two-integer advisory lock: "tfxpipe run lock"
_PREFIX = "tfxpipe"
POLL_SECONDS = 1.0


def _key(pipeline_name: str) -> int:
    return int.from_bytes(hashlib.sha256(pipeline_name.encode()).digest()[:4], "big") & 0x7FFFFFFF


def _name(holder: Dict) -> str:
    return "|".join([_PREFIX, holder["run_id"], str(holder["pid"]), holder["host"]])


def holder(uri: str, pipeline_name: str) -> Optional[Dict]:
    """The run holding the pipeline's lock on the server, as run_lock.Holder fields, or None."""
    if not metadata_store.is_postgresql(uri):
        return None
    with contextlib.closing(metadata_store.connect_postgresql(uri, f"{_PREFIX} query")) as connection:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.application_name, a.backend_start FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                "AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2 "  # two-int4 form
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                (_NAMESPACE, _key(pipeline_name)))
            row = cursor.fetchone()
    if row is None:
        return None
    fields = (row[0].split("|") + ["?", "?", "?"])[1:4]
    return {"run_id": fields[0], "pid": int(fields[1]) if fields[1].isdigit() else 0,
            "host": fields[2], "started": row[1].astimezone().isoformat(timespec="seconds")}


@contextlib.contextmanager
def advisory_lock(uri: str, pipeline_name: str, me: Dict, wait: bool,
                  on_wait: Callable[[str], None]) -> Iterator[bool]:
    """Yields True while the lock is held by this process, False when another run holds it."""
    if not metadata_store.is_postgresql(uri):
        yield True
        return
    with contextlib.closing(metadata_store.connect_postgresql(uri, _name(me))) as connection:
        with connection.cursor() as cursor:
            announced = False
            while True:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", (_NAMESPACE, _key(pipeline_name)))
                if cursor.fetchone()[0]:
                    break
                if not wait:
                    yield False
                    return
                if not announced:
                    on_wait("Waiting for the run holding the lock in the metadata database to finish")
                    announced = True
                time.sleep(POLL_SECONDS)
            yield True  # the lock goes with the connection, closed on the way out
