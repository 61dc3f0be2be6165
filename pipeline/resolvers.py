"""Resolver strategies: which earlier artifacts a run compares itself with.

Baseline model (for the Evaluator):

TFX's LatestBlessedModelStrategy returns the newest blessed model, which on an unchanged re-run is the
cached candidate itself. The Evaluator's inputs then differ from the first run (baseline: none ->
itself), so it runs again, blesses the same model again, and the Pusher pushes a duplicate version.
This strategy also takes the Trainer's output of *this* run (`candidate`) and excludes it: an unchanged
re-run resolves exactly what the first run resolved, so Evaluator and Pusher are cache hits.
"""
from typing import Dict, List, Optional

import ml_metadata as mlmd
from tfx import types
from tfx.components.evaluator import constants as evaluator_constants
from tfx.dsl.components.common import resolver

CANDIDATE_KEY = "candidate"
CURRENT_STATISTICS_KEY = "current"
STATISTICS_KEY = "statistics"
MODEL_KEY = "model"
BLESSING_KEY = "model_blessing"


class BaselineModelStrategy(resolver.ResolverStrategy):
    """Newest blessed model that is not this run's candidate (none on a first run)."""

    def resolve_artifacts(
        self, store: mlmd.MetadataStore, input_dict: Dict[str, List[types.Artifact]]
    ) -> Optional[Dict[str, List[types.Artifact]]]:
        candidate_ids = {a.id for a in input_dict[CANDIDATE_KEY]}
        blessings = {
            b.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY): b
            for b in input_dict[BLESSING_KEY]
            if b.get_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY) == 1
        }
        result = {CANDIDATE_KEY: input_dict[CANDIDATE_KEY], MODEL_KEY: [], BLESSING_KEY: []}
        for model in sorted(input_dict[MODEL_KEY], key=lambda a: a.id, reverse=True):
            if model.id in blessings and model.id not in candidate_ids:
                result[MODEL_KEY] = [model]
                result[BLESSING_KEY] = [blessings[model.id]]
                break
        return result


class PreviousSpanStatisticsStrategy(resolver.ResolverStrategy):
    """Statistics of the newest span older than this run's span (none for the first span), so the
    data gate can check drift between consecutive spans with the schema's comparators."""

    def resolve_artifacts(
        self, store: mlmd.MetadataStore, input_dict: Dict[str, List[types.Artifact]]
    ) -> Optional[Dict[str, List[types.Artifact]]]:
        current = input_dict[CURRENT_STATISTICS_KEY]
        result = {CURRENT_STATISTICS_KEY: current, STATISTICS_KEY: []}
        if not current:
            return result
        span = current[0].span
        older = [a for a in input_dict[STATISTICS_KEY] if a.span < span]
        if older:
            result[STATISTICS_KEY] = [max(older, key=lambda a: (a.span, a.id))]
        return result
