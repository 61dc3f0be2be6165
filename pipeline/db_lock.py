"""The run lock in a PostgreSQL metadata database, for teams whose machines share one metadata store.

A session-level advisory lock (`pg_try_advisory_lock`) taken on a connection held open for the run:
the server releases it when that connection ends, also when the process is killed (a machine that
vanishes from the network: once the server's TCP keepalive gives up on it), so a crashed run never
blocks the next one. The holder names itself in the session's
`application_name`, which any other machine reads from `pg_stat_activity`. The lock goes with the
connection, so while the run lasts a query every `KEEPALIVE_SECONDS` keeps that connection from being
dropped as idle (proxies, load balancers, `idle_session_timeout`); one dropped anyway (a server
restart, a network cut) loses the lock, and it is taken again on a new connection, or, when another
run took it meanwhile, that run is named.
MLMD has no lock of its own and its Python API no transactions, hence psycopg2 here. With MySQL
metadata, runs are locked per machine only (the lock file under the work dir).
"""
import contextlib
import hashlib
import threading
import time
from typing import Callable, Dict, Iterator, Optional

from pipeline import metadata_store

_NAMESPACE = 0x7F1C  # first key of the two-integer advisory lock: "tfxpipe run lock"
_PREFIX = "tfxpipe"
POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 30.0
STOP_SECONDS = 5.0  # a beat stuck on a dead server is not waited for longer when the run ends


# The sessions holding a pipeline's lock (%s, %s: its two keys) in this database.
_LOCK_ROWS = ("FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
              "AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2 "  # the two-int4 form
              "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")


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
                f"SELECT a.application_name, a.backend_start {_LOCK_ROWS}", (_NAMESPACE, _key(pipeline_name)))
            row = cursor.fetchone()
    if row is None:
        return None
    fields = (row[0].split("|") + ["?", "?", "?"])[1:4]
    return {"run_id": fields[0], "pid": int(fields[1]) if fields[1].isdigit() else 0,
            "host": fields[2], "started": row[1].astimezone().isoformat(timespec="seconds")}


@contextlib.contextmanager
def advisory_lock(uri: str, pipeline_name: str, me: Dict, wait: bool,
                  say: Callable[[str], None]) -> Iterator[bool]:
    """Yields True while the lock is held by this process, False when another run holds it."""
    if not metadata_store.is_postgresql(uri):
        yield True
        return
    connection = metadata_store.connect_postgresql(uri, _name(me))
    keeper = None
    try:
        announced = False
        while not _try_lock(connection, pipeline_name):
            if not wait:
                yield False
                return
            if not announced:
                say("Waiting for the run holding the lock in the metadata database to finish")
                announced = True
            time.sleep(POLL_SECONDS)
        keeper = LockKeeper(uri, pipeline_name, me, connection, say)
        yield True
    finally:
        if keeper is not None:
            keeper.stop()  # closes the connection that holds the lock now: the lock goes with it
        else:
            connection.close()


def _try_lock(connection, pipeline_name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", (_NAMESPACE, _key(pipeline_name)))
        return cursor.fetchone()[0]


class LockKeeper:
    """Beats every KEEPALIVE_SECONDS while the run lasts (a thread of its own: the run's components
    hold the main thread for minutes): a query that keeps the lock's connection busy and checks that
    its session still holds the lock (a proxy may have handed it a new one), and, where it does not,
    the lock taken again, on a new connection where that one was lost."""

    def __init__(self, uri: str, pipeline_name: str, me: Dict, connection, say: Callable[[str], None]):
        self._uri, self._pipeline_name, self._me, self._say = uri, pipeline_name, me, say
        self.connection = connection  # holding the lock, unless `_holding` is False
        self._holding = True
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="run-lock-keeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=STOP_SECONDS)
        if not self._thread.is_alive():  # else its beat, stuck on a dead server, closes it when it ends
            self._close()

    def _keep(self) -> None:
        try:
            while not self._stopped.wait(KEEPALIVE_SECONDS) and self.beat():
                pass
        finally:
            if self._stopped.is_set():
                self._close()

    def _close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.close()

    def beat(self) -> bool:
        """One beat; False once the run has ended or another run holds the lock."""
        keys = (_NAMESPACE, _key(self._pipeline_name))
        if self._holding:
            try:
                with self.connection.cursor() as cursor:
                    cursor.execute(f"SELECT count(*) {_LOCK_ROWS} AND l.pid = pg_backend_pid()", keys)
                    self._holding = cursor.fetchone()[0] > 0
            except Exception:  # pylint: disable=broad-except  (psycopg2's errors: psycopg2 loads lazily)
                self._holding = not self.connection.closed  # a failed query, not a lost session
            if self._holding:
                return True
        try:
            if self.connection.closed:
                self.connection = metadata_store.connect_postgresql(self._uri, _name(self._me))
            taken = _try_lock(self.connection, self._pipeline_name)
            if not taken and self._ended_own_old_session(keys):
                time.sleep(POLL_SECONDS)  # its backend releases the lock as it exits
                taken = _try_lock(self.connection, self._pipeline_name)
            self._holding = taken
            found = None if self._holding else holder(self._uri, self._pipeline_name)
        except Exception:  # pylint: disable=broad-except  (server unreachable: again at the next beat)
            return not self._stopped.is_set()
        if self._stopped.is_set():  # the run ended meanwhile: the lock is not for this run any more
            self._close()
            return False
        if self._holding:
            self._say("The connection holding the run lock in the metadata database was lost; "
                      "the lock is taken again")
            return True
        if found is None or found["run_id"] == self._me["run_id"]:
            return True  # this run's old session still holds it, not ended here: again at the next beat
        self._close()
        self._say(f"warning: the run lock in the metadata database was lost with its connection, and run "
                  f"{found['run_id']} (host {found['host']}) took it since: two runs of pipeline "
                  f"'{self._pipeline_name}' are running; this one goes on")
        return False

    def _ended_own_old_session(self, keys) -> bool:
        """Ends the session of this run that still holds the lock though its connection was lost here
        (after a network cut the server keeps it until its TCP keepalive gives up, hours by default)."""
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_terminate_backend(l.pid) {_LOCK_ROWS} AND a.application_name = %s "
                           "AND l.pid <> pg_backend_pid()", (*keys, _name(self._me)[:63]))
            return any(row[0] for row in cursor.fetchall())
