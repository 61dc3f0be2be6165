"""Each column's cell counts, in memory that does not grow with the data: what `tfxpipe init` reads
besides TFDV's statistics (schema/infer.py says what and why).

Counting every distinct cell of every column takes memory in proportion to the data (1.5M taxi rows:
2.3 GB, so a file of ten times that would not fit), while the pipeline itself reads any size in flat
memory. So a column counts its first `COUNTED` distinct values exactly, as before, which is all of
them for the label and for the columns whose values repeat: the decisions that hinge on exact values
(classes, integer codes, constant columns, missing-value tokens) are about at most a few hundred. A
column with more distinct values than that goes on with TFDV's own KMV sketch (tfx_bsl), whose
estimate of its distinct values (about 1.5 % off) only tells an ID from a quantity. Its later cells
are still checked for missing-value tokens and for text among numbers.
"""
import collections
from typing import Counter, Iterable, List, Optional

import pyarrow as pa
import pyarrow.compute as pc
from tfx_bsl import sketches

COUNTED = 20_000  # distinct values counted exactly per column
KMV_BUCKETS = 4096  # relative error about 1 / sqrt(buckets)
# schema.columns.NUMBER, anchored, with the cell's surrounding spaces (RE2, as Arrow matches)
NUMBER_CELL = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


class ColumnCells:
    """One column's cells: `counts`, every distinct value's count while there are at most `COUNTED`
    (then those of the rows read so far, and of missing-value tokens throughout), and past that an
    estimate of how many distinct values the column has."""

    def __init__(self, tokens: Iterable[str]):
        """`tokens`: cells that may mean "missing" (the empty one among them): always counted."""
        self.counts: Counter = collections.Counter()
        self._tokens = frozenset(tokens)
        self._sketch: Optional[sketches.KmvSketch] = None
        self.text_past_counts = False  # a cell past the counted ones was neither empty, a token nor a number

    def add(self, cells: List[str]) -> None:
        if self._sketch is None:
            self.counts.update(cells)
            if len(self.counts) > COUNTED:
                self._sketch = sketches.KmvSketch(KMV_BUCKETS)
                self._sketch.AddValues(pa.array(list(self.counts)))
            return
        self._sketch.AddValues(pa.array(cells))
        distinct = set(cells)
        for token in self._tokens.intersection(distinct):
            self.counts[token] += cells.count(token)
        others = [] if self.text_past_counts else [c for c in distinct if c not in self._tokens]
        if others:
            self.text_past_counts = not pc.all(pc.match_substring_regex(pa.array(others), NUMBER_CELL)).as_py()

    def estimate(self, missing: Iterable[str]) -> Optional[int]:
        """The sketch's estimate of the column's distinct values but the `missing` ones (exact below
        `KMV_BUCKETS` of them); None while `counts` holds them all."""
        if self._sketch is None:
            return None
        return self._sketch.Estimate() - sum(1 for value in set(missing) if value in self.counts)
