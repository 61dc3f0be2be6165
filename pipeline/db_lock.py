"""The run lock in a metadata database on a server (PostgreSQL, MySQL), for teams whose machines
share one metadata store.

A lock that lives with a connection held open for the run (`pipeline/db_lock_servers.py`: how each
server holds it and names its holder): the server releases it when that connection ends, also when
the process is killed (a machine that vanishes from the network: once the server gives up on its
connection), so a crashed run never blocks the next one. The lock goes with the connection, so while
the run lasts a query every `KEEPALIVE_SECONDS` keeps that connection from being dropped as idle
(proxies, load balancers, `idle_session_timeout`, MySQL's `wait_timeout`); one dropped anyway (a
server restart, a network cut) loses the lock, and it is taken again on a new connection, or, when
another run took it meanwhile, that run is named.
MLMD has no lock of its own and its Python API no transactions, hence psycopg2 and PyMySQL here.
"""
import contextlib
import threading
import time
from typing import Callable, Dict, Iterator, Optional

from pipeline import db_lock_servers

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 30.0
STOP_SECONDS = 5.0  # a beat stuck on a dead server is not waited for longer when the run ends


def _name(holder: Dict) -> str:
    return "|".join([db_lock_servers.PREFIX, holder["run_id"], str(holder["pid"]), holder["host"]])


def holder(uri: str, pipeline_name: str) -> Optional[Dict]:
    """The run holding the pipeline's lock on the server, as run_lock.Holder fields, or None."""
    server = db_lock_servers.for_store(uri, pipeline_name)
    return server.holder() if server else None


@contextlib.contextmanager
def advisory_lock(uri: str, pipeline_name: str, me: Dict, wait: bool,
                  say: Callable[[str], None]) -> Iterator[bool]:
    """Yields True while the lock is held by this process, False when another run holds it."""
    server = db_lock_servers.for_store(uri, pipeline_name)
    if server is None:
        yield True
        return
    connection = server.connect(_name(me))
    keeper = None
    try:
        announced = False
        while not server.try_lock(connection, _name(me)):
            if not wait:
                yield False
                return
            if not announced:
                say("Waiting for the run holding the lock in the metadata database to finish")
                announced = True
            time.sleep(POLL_SECONDS)
        keeper = LockKeeper(server, pipeline_name, me, connection, say)
        yield True
    finally:
        if keeper is not None:
            keeper.stop()  # closes the connection that holds the lock now: the lock goes with it
        else:
            connection.close()


class LockKeeper:
    """Beats every KEEPALIVE_SECONDS while the run lasts (a thread of its own: the run's components
    hold the main thread for minutes): a query that keeps the lock's connection busy and checks that
    its session still holds the lock (a proxy may have handed it a new one), and, where it does not,
    the lock taken again, on a new connection where that one was lost."""

    def __init__(self, server, pipeline_name: str, me: Dict, connection, say: Callable[[str], None]):
        self._server, self._pipeline_name, self._me, self._say = server, pipeline_name, me, say
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
        server, name = self._server, _name(self._me)
        if self._holding:
            try:
                self._holding = server.holds(self.connection)
            except Exception:  # pylint: disable=broad-except  (each driver's errors)
                self._holding = not server.closed(self.connection)  # a failed query, not a lost session
            if self._holding:
                return True
        try:
            if server.closed(self.connection):
                self.connection = server.connect(name)
            taken = server.try_lock(self.connection, name)
            # this run's session that outlived a network cut (the server keeps it until it gives up
            # on it, hours by default) still holds it: ended, then the lock taken again
            if not taken and server.end_old_session(self.connection, name):
                time.sleep(POLL_SECONDS)  # its backend releases the lock as it exits
                taken = server.try_lock(self.connection, name)
            self._holding = taken
            found = None if self._holding else server.holder()
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
