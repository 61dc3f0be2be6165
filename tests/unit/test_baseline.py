from tfx.types import standard_artifacts

from pipeline import resolvers as baseline


def _model(artifact_id):
    model = standard_artifacts.Model()
    model.id = artifact_id
    return model


def _blessing(model_id, blessed):
    blessing = standard_artifacts.ModelBlessing()
    blessing.set_int_custom_property("current_model_id", model_id)
    blessing.set_int_custom_property("blessed", int(blessed))
    return blessing


def _resolve(candidate, models, blessings):
    return baseline.BaselineModelStrategy().resolve_artifacts(
        None,
        {
            baseline.CANDIDATE_KEY: [candidate],
            baseline.MODEL_KEY: models,
            baseline.BLESSING_KEY: blessings,
        },
    )


def test_first_run_has_no_baseline():
    m1 = _model(1)
    assert _resolve(m1, [m1], [])[baseline.MODEL_KEY] == []


def test_unchanged_rerun_does_not_compare_the_candidate_with_itself():
    m1 = _model(1)
    assert _resolve(m1, [m1], [_blessing(1, True)])[baseline.MODEL_KEY] == []


def test_new_candidate_is_compared_with_the_newest_blessed_model():
    m1, m2, m3, m4 = (_model(i) for i in (1, 2, 3, 4))
    blessings = [_blessing(1, True), _blessing(2, True), _blessing(3, False)]
    result = _resolve(m4, [m1, m3, m2, m4], blessings)
    assert [m.id for m in result[baseline.MODEL_KEY]] == [2]
    assert result[baseline.BLESSING_KEY][0].get_int_custom_property("current_model_id") == 2
