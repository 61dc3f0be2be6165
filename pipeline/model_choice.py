"""Which candidate model goes on to infra validation and the push: one its Evaluator blessed.

Each candidate (one per model family) has its own Evaluator on the same eval split, against the same
served baseline, with the same thresholds; its blessing records the candidate's name and main metric
(`pipeline/evaluator.py`). A candidate its Evaluator did not bless is never pushed, however it scores.
Of several blessed ones, the winner is the one whose Trainer kept the lowest loss on the held-out
part of the train split (`models/model.py`): the same examples and loss for every family, and not the
eval split, which would make the winner's blessing optimistic (picked, among several, for scoring
well on that very sample). Without held-out losses (a model trained before they were recorded), the
best main metric on the eval split decides (lowest for errors such as rmse).
"""
import dataclasses
import math
from typing import List, Optional, Sequence

from tfx import types
from tfx.components.evaluator import constants

from models.model import held_out_loss
from pipeline import evaluator
from pipeline.metrics import LOWER_IS_BETTER, shown


@dataclasses.dataclass
class Choice:
    model: Optional[types.Artifact]  # None: nothing may be pushed
    reason: str  # one line a person reads: which candidate, by which measure, and how the others did


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

    def model_of(blessing: types.Artifact) -> types.Artifact:
        return by_id[blessing.get_int_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY)]

    def value(blessing: types.Artifact) -> float:  # none recorded where undefined (AUC of one class)
        if evaluator.MAIN_VALUE not in blessing.mlmd_artifact.custom_properties:
            return math.nan
        return blessing.get_float_custom_property(evaluator.MAIN_VALUE)

    def score(blessing: types.Artifact) -> float:
        return float("-inf") if math.isnan(value(blessing)) else sign * value(blessing)

    losses = {b.id: held_out_loss(model_of(b).uri) for b in blessed}
    by_loss = len(blessed) > 1 and None not in losses.values()
    if by_loss:  # a tie goes to the earlier candidate
        best = min(blessed, key=lambda b: (losses[b.id], b.id))
    else:
        best = max(blessed, key=lambda b: (score(b), -b.id))
    if len(blessings) == 1:
        return Choice(model_of(best), f"{_name(best)}: blessed by the Evaluator")
    on_eval = ", ".join(
        f"{_name(b)} {shown(metric, value(b))}" if b in blessed else f"{_name(b)} not blessed"
        for b in sorted(blessings, key=_name))
    if by_loss:
        held_out = ", ".join(f"{_name(b)} {losses[b.id]:.4f}" for b in sorted(blessed, key=_name))
        return Choice(model_of(best), f"{_name(best)}: lowest held-out loss of the blessed ({held_out}); "
                                      f"{metric} on the eval split: {on_eval}")
    missing = sorted(_name(b) for b in blessed if losses[b.id] is None)
    why = (f" ({', '.join(missing)} recorded no held-out loss: trained before it was recorded, or no "
           "finite loss)"
           if len(blessed) > 1 else "")
    return Choice(model_of(best), f"{_name(best)}: best blessed {metric} {shown(metric, value(best))} of {on_eval}{why}")
