"""Which candidate model goes on to infra validation and the push: the best one its Evaluator blessed.

Each candidate (one per model family) has its own Evaluator on the same eval split, against the same
served baseline, with the same thresholds; its blessing records the candidate's name and main metric
(`pipeline/evaluator.py`). The winner is the blessed candidate with the best main metric (lowest for
errors such as rmse); a candidate its Evaluator did not bless is never pushed, however it scores.
"""
import dataclasses
from typing import List, Optional, Sequence

from tfx import types
from tfx.components.evaluator import constants

from pipeline import evaluator
from pipeline.metrics import LOWER_IS_BETTER


@dataclasses.dataclass
class Choice:
    model: Optional[types.Artifact]  # None: nothing may be pushed
    reason: str  # one line a person reads, e.g. "dnn: auc 0.9123, best of linear 0.8801, dnn 0.9123"


def _name(blessing: types.Artifact) -> str:
    return blessing.get_string_custom_property(evaluator.CANDIDATE) or "model"


def choose(models: Sequence[types.Artifact], blessings: Optional[Sequence[types.Artifact]]) -> Choice:
    """The model to validate and push. Without blessings (no Evaluator), the only model given."""
    if not blessings:
        if len(models) != 1:
            raise ValueError(f"{len(models)} candidate models and no Evaluator blessing to choose by")
        return Choice(models[0], "no Evaluator: the only candidate")
    by_id = {m.id: m for m in models}
    blessed: List[types.Artifact] = [
        b for b in blessings
        if b.get_int_custom_property(constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 1
        and b.get_int_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY) in by_id]
    if not blessed:
        names = ", ".join(sorted(_name(b) for b in blessings))
        return Choice(None, f"the Evaluator blessed no candidate ({names})")
    metric = blessed[0].get_string_custom_property(evaluator.MAIN_METRIC)
    sign = -1 if metric in LOWER_IS_BETTER else 1

    def score(blessing: types.Artifact) -> float:
        if evaluator.MAIN_VALUE not in blessing.mlmd_artifact.custom_properties:
            return float("-inf")
        return sign * blessing.get_float_custom_property(evaluator.MAIN_VALUE)

    best = max(blessed, key=lambda b: (score(b), -b.id))  # a tie goes to the earlier candidate
    model = by_id[best.get_int_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY)]
    if len(blessings) == 1:
        return Choice(model, f"{_name(best)}: blessed by the Evaluator")
    others = ", ".join(
        f"{_name(b)} {b.get_float_custom_property(evaluator.MAIN_VALUE):.4f}"
        if b in blessed else f"{_name(b)} not blessed"
        for b in sorted(blessings, key=_name))
    value = best.get_float_custom_property(evaluator.MAIN_VALUE)
    return Choice(model, f"{_name(best)}: best blessed {metric} {value:.4f} of {others}")
