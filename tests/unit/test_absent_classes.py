"""A class of the label gone from new data is refused where chance cannot explain it (schema/absent_classes.py):
a filter upstream that drops one class of several moves the label's shares by less than its drift
threshold, and a model that never predicts the class would tie with the served one and be pushed."""
import pandas as pd
import tensorflow_data_validation as tfdv
from sklearn import datasets

from benchmarks import public_datasets
from cli import main as cli
from schema import checks, csv_statistics, distances, report


def test_validate_refuses_new_wine_without_one_of_its_three_classes_and_names_it(tmp_path, capsys):
    wine = datasets.load_wine(as_frame=True).frame
    wine.to_csv(tmp_path / "wine.csv", index=False)
    assert cli.main(["init", str(tmp_path / "wine.csv"), "--label", "target", "--out", str(tmp_path / "wine")]) == 0
    capsys.readouterr()
    wine[wine.target != 2].to_csv(tmp_path / "without_2.csv", index=False)
    assert cli.main(["validate", str(tmp_path / "without_2.csv"), "--dataset", str(tmp_path / "wine")]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "- target: Class missing. No row of '2' (27.0% of the rows before) among 130 rows" in out, out
    assert report.CLASS_NEXT_STEPS in out
    # schema-diff: no schema change accepts it, so it says so rather than "nothing to change"
    assert cli.main(["schema-diff", str(tmp_path / "without_2.csv"), "--dataset", str(tmp_path / "wine")]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "- target: Class missing." in out and report.CLASS_NEXT_STEPS in out, out
    wine.sample(frac=0.5, random_state=1).to_csv(tmp_path / "half.csv", index=False)  # every class, fewer rows
    assert cli.main(["validate", str(tmp_path / "half.csv"), "--dataset", str(tmp_path / "wine")]) == 0


def test_a_class_missing_by_chance_or_taken_out_of_the_schema_is_not_refused(tmp_path):
    path = str(tmp_path / "penguins.csv")
    public_datasets.PENGUINS.write_csv(path)
    frame = pd.read_csv(path, keep_default_na=False, dtype=str)
    schema = tfdv.infer_schema(csv_statistics.statistics_of_csv(path, ("", "NA")))
    schema.default_environment.extend(["TRAINING", "SERVING"])  # as init writes it: requests carry no label
    next(f for f in schema.feature if f.name == "species").not_in_environment.append("SERVING")

    def statistics(rows: pd.DataFrame, name: str):
        rows.to_csv(tmp_path / name, index=False)
        return csv_statistics.statistics_of_csv(str(tmp_path / name), ("", "NA"), distances.stats_options(schema))

    before = statistics(frame, "all.csv")  # Chinstrap: 68 of 344 rows, 19.8%
    without_chinstrap = frame[frame.species != "Chinstrap"]
    few = statistics(without_chinstrap.sample(40, random_state=0), "few.csv")  # 0.8^40 = 1.3e-4: chance
    many = statistics(without_chinstrap.sample(80, random_state=0), "many.csv")  # 0.8^80 = 2e-8: dropped
    assert [f.problem for f in checks.missing_classes(few, before, schema)] == []
    [found] = checks.missing_classes(many, before, schema)
    assert (found.feature, found.problem) == ("species", checks.CLASS_MISSING) and "'Chinstrap' (19.8%" in found.detail
    assert found in checks.check_statistics(many, schema, before)  # the gate's and validate's one path
    domain = next(d for d in schema.string_domain if d.name == "species")
    domain.value.remove("Chinstrap")  # gone for good, as the next steps say to declare it
    assert checks.missing_classes(many, before, schema) == []
