"""The model server's frozen heap (serving/server.py `freeze_heap`): what is alive at a freeze is out
of the collector's reach, and refreezing still frees the cycles left behind since (a retired version)."""
import gc
import weakref

from serving.server import freeze_heap


class Node:
    def __init__(self):
        self.other = None


def cycle():
    first, second = Node(), Node()
    first.other, second.other = second, first
    return first


def test_objects_alive_at_a_freeze_are_left_out_of_collections():
    kept = cycle()
    try:
        freeze_heap()
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())
    finally:
        gc.unfreeze()


def test_a_cycle_frozen_while_in_use_is_freed_by_the_next_freeze_once_dropped():
    retired = cycle()
    gone = weakref.ref(retired)
    try:
        freeze_heap()
        del retired
        gc.collect()
        assert gone() is not None, "frozen: a plain collection does not reach it"
        freeze_heap()
        assert gone() is None
    finally:
        gc.unfreeze()
