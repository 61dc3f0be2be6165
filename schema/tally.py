"""Counts per column, with the first few values of each, as `score` and `predict` keep them for their
warnings (categories the schema does not list, dates the model reads only in part). `score`'s workers
each count a byte range of the file: Beam sums counters, so a tally travels as counters, each value
named in a counter of its own (counted once per byte range that met it first)."""
import json
from typing import Dict, List, Mapping, Optional

SHOWN = 3  # values named per column


class Tally:
    """Counts per column, and its first SHOWN distinct values; `name` tells it apart among a
    worker's counters."""

    def __init__(self, name: str):
        self.name = name
        self.counts: Dict[str, int] = {}
        self.values: Dict[str, List[str]] = {}

    def add(self, column: str, cell: Optional[str] = None, count: int = 1) -> None:
        """Counts `cell` (only counted, with none)."""
        self.counts[column] = self.counts.get(column, 0) + count
        kept = self.values.setdefault(column, [])
        if cell is not None and cell not in kept and len(kept) < SHOWN:
            kept.append(cell)

    def as_counters(self) -> Dict[str, int]:
        """The counts and named values as counters, which summed over workers `read_counters` reads."""
        counters = {f"{self.name}:{column}": count for column, count in self.counts.items()}
        counters.update({f"{self.name}_value:" + json.dumps([column, value]): 1
                         for column, values in self.values.items() for value in values})
        return counters

    def read_counters(self, counted: Mapping[str, int]) -> "Tally":
        """Every byte range's counts from `counted` (summed counters); named, the values most ranges
        met first."""
        prefix, named = f"{self.name}:", f"{self.name}_value:"
        for _, column, value in sorted((-n, *json.loads(name[len(named):])) for name, n in counted.items()
                                       if name.startswith(named)):
            self.add(column, value, 0)
        self.counts = {name[len(prefix):]: n for name, n in counted.items() if name.startswith(prefix) and n}
        return self
