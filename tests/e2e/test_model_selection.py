"""Tuning and model families on a real public dataset (diabetes, regression: lower is better), through
the real components: TFX's Tuner per family, one Trainer and Evaluator per candidate, of the blessed
candidates the one with the lowest held-out loss validated and pushed; an unchanged re-run reuses
the search; a run without `--tune` reuses the last tuned values. Facts are read from ML Metadata."""
import json
import os

import pytest
from ml_metadata.proto import metadata_store_pb2
from tfx.utils import path_utils

from benchmarks import public_datasets
from models.model import held_out_loss
from pipeline import evaluation, metadata_store, run_report, run_summary
from serving import validation
from tests.e2e.test_datasets import initialized, tfxpipe, _rows

FAMILIES = ("linear", "dnn", "wide_deep")
TUNE = ("--models", ",".join(FAMILIES), "--tune", "--tune-trials", "2")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tuned multi-family run, its unchanged re-run, then a dnn-only run without --tune."""
    trained = initialized(public_datasets.DIABETES, str(tmp_path_factory.mktemp("model_selection")))
    done = []
    for args, offline in ((TUNE, True), (TUNE, False), (("--models", "dnn"), False)):
        result = tfxpipe(*trained.run_args(*args), offline=offline)
        assert result.returncode == 0, result.stdout + result.stderr[-5000:]
        done.append(result)
    trained.run = done[0]
    store = metadata_store.open_store(trained.config.metadata_path)
    return trained, store, run_summary.run_ids(store), done


def _execution(store, run_id, node):
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    (found,) = [e for e in store.get_executions_by_context(run.id)
                if run_summary.node_of(store, e.id) == node]
    return found


def _artifact_ids(store, execution, kind, key):
    return [e.artifact_id for e in store.get_events_by_execution_ids([execution.id])
            if e.type == kind and e.path.steps[0].key == key]


def test_each_family_is_tuned_and_its_best_hyperparameters_reach_its_trainer(runs):
    trained, store, run_ids, _ = runs
    for family in FAMILIES:
        tuner = _execution(store, run_ids[0], f"Tuner_{family}")
        assert tuner.last_known_state == metadata_store_pb2.Execution.COMPLETE
        best = _artifact_ids(store, tuner, metadata_store_pb2.Event.OUTPUT, "best_hyperparameters")
        trainer = _execution(store, run_ids[0], f"Trainer_{family}")
        assert _artifact_ids(store, trainer, metadata_store_pb2.Event.INPUT, "hyperparameters") == best
        (results,) = _artifact_ids(store, tuner, metadata_store_pb2.Event.OUTPUT, "tuner_results")
        (results_artifact,) = store.get_artifacts_by_id([results])
        with open(os.path.join(results_artifact.uri, "tuner_results.json")) as f:
            assert len(json.load(f)) == 2  # --tune-trials 2, both completed


def test_an_unchanged_rerun_does_not_tune_again(runs):
    _, store, run_ids, _ = runs
    states = run_summary.summarize(store, run_ids[1]).node_states
    assert all(states[f"Tuner_{family}"] == ["cached"] for family in FAMILIES)
    assert all(states[f"Trainer_{family}"] == ["cached"] for family in FAMILIES)


def test_without_tune_the_last_tuned_hyperparameters_are_reused(runs):
    _, store, run_ids, _ = runs
    states = run_summary.summarize(store, run_ids[2]).node_states
    assert not [node for node in states if node.startswith("Tuner")]
    tuned = _artifact_ids(store, _execution(store, run_ids[0], "Tuner_dnn"),
                          metadata_store_pb2.Event.OUTPUT, "best_hyperparameters")
    trainer = _execution(store, run_ids[2], "Trainer")
    assert _artifact_ids(store, trainer, metadata_store_pb2.Event.INPUT, "hyperparameters") == tuned


def test_of_the_blessed_candidates_the_lowest_held_out_loss_is_pushed_and_the_report_names_every_one(runs):
    trained, store, run_ids, done = runs
    summary = run_summary.summarize(store, run_ids[0])
    assert sorted(c.name for c in summary.candidates) == sorted(FAMILIES)
    scores = {c.name: evaluation.load(c.evaluation_uri).overall["rmse"] for c in summary.candidates}
    losses = {c.name: held_out_loss(store.get_artifacts_by_id([c.model_id])[0].uri) for c in summary.candidates}
    assert all(loss is not None and loss > 0 for loss in losses.values()), losses
    blessed = [c for c in summary.candidates if c.blessed]
    assert len(blessed) >= 2 and summary.pushed, summary.choice  # else there is nothing to choose
    (chosen,) = [c for c in summary.candidates if c.chosen]
    assert losses[chosen.name] == min(losses[c.name] for c in blessed)
    infra = _execution(store, run_ids[0], "InfraValidator")
    (infra_blessing,) = store.get_artifacts_by_id(
        _artifact_ids(store, infra, metadata_store_pb2.Event.OUTPUT, "blessing"))
    assert infra_blessing.custom_properties["current_model_id"].int_value == chosen.model_id
    said = next(line for line in done[0].stdout.splitlines() if line.startswith("Candidates: "))
    assert said.startswith(f"Candidates: {chosen.name}: lowest held-out loss of the blessed ("), said
    assert f"{chosen.name} {losses[chosen.name]:.4f}" in said and f"{chosen.name} {scores[chosen.name]:.4f}" in said
    with open(run_report.path_for(trained.config.report_dir, run_ids[0])) as f:
        page = f.read()
    for family in FAMILIES:
        assert f"<td>{family}</td><td>{scores[family]:.4f}</td>" in page
        assert f"id='trials-{family}'" in page


def test_every_family_serves_and_passes_infra_validation(runs):
    trained, store, run_ids, _ = runs
    serialized, _ = _rows(trained, 8)
    for family in FAMILIES:
        trainer = _execution(store, run_ids[0], f"Trainer_{family}")
        (model,) = store.get_artifacts_by_id(
            _artifact_ids(store, trainer, metadata_store_pb2.Event.OUTPUT, "model"))
        problem = validation.check_servable(path_utils.serving_model_path(model.uri),
                                            trained.declaration.name, serialized, "regression")
        assert problem is None, f"{family}: {problem}"


def test_runs_show_lists_every_trial_and_the_candidates_side_by_side(runs):
    trained, store, run_ids, _ = runs
    shown = tfxpipe("runs", "show", run_ids[0], "--dataset", trained.folder,
                    "--work-dir", trained.work_dir)
    assert shown.returncode == 0, shown.stderr[-2000:]
    lines = shown.stdout.splitlines()
    for family in FAMILIES:
        assert any(line.startswith(f"Tuning {family}: best of 2 trials scored")
                   and line.endswith("; score: val_loss, lower is better") for line in lines), lines
        assert any(line.startswith(f"  {family}: rmse ") for line in lines)
    assert len([line for line in lines if line.startswith("  trial ")]) == 2 * len(FAMILIES)
    assert any(line.startswith("Candidates: ") and "lowest held-out loss" in line for line in lines)
