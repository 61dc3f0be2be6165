"""Helpers of the `tfxpipe init` tests (`test_infer*.py`): a crafted table whose every column calls
for a decision, CSVs written from frames, and a draft's decision line or schema feature for a column."""
import numpy as np
import pandas as pd
from tensorflow_metadata.proto.v0 import schema_pb2

from schema import infer

ROWS = 600


def crafted_frame(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(rows * 2 // 3)]  # 400 distinct strings in 600 rows: hashed, not an ID
    comment = np.array(words + list(rng.choice(words, rows - len(words))))
    rng.shuffle(comment)
    weight = rng.normal(70, 10, rows).round(1).astype(str)
    weight[rng.random(rows) < 0.1] = "NA"
    days = pd.date_range("2021-01-01", periods=200).strftime("%Y-%m-%d")
    return pd.DataFrame({
        "sample_id": [f"S{i:05d}" for i in range(rows)],
        "recorded": rng.choice(days, rows),
        "weight": weight,
        "source": "lab",
        "comment": comment,
        "grade": rng.integers(0, 7, rows),
        "age": rng.choice(np.arange(18, 90, 3), rows),  # 24 integers spread over 18..87
        "ratio": rng.random(rows),
        "colour": rng.choice(["red", "green", "blue", "grey"], rows),
        "outcome": rng.choice(["yes", "no"], rows),
    })


def write_csv(folder, frame: pd.DataFrame, name: str = "data.csv") -> str:
    path = folder / name
    frame.to_csv(path, index=False)
    return str(path)


def decision_on(draft: infer.Draft, column: str) -> str:
    [line] = [d for d in draft.decisions if d.startswith(f"{column}: ")]
    return line


def feature_named(draft: infer.Draft, column: str) -> schema_pb2.Feature:
    [feature] = [f for f in draft.schema.feature if f.name == column]
    return feature
