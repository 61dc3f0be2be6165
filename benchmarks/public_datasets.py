"""Real public tabular datasets that ship inside installable packages (palmerpenguins,
scikit-learn), written as the CSV a user would bring: the any-dataset tests and the quality
benchmark run on them. Nothing here is typed by hand; each writer copies or converts the package's
own data."""
import dataclasses
import os
import shutil
from typing import Callable, Tuple


def _palmerpenguins(name: str) -> Callable[[str], None]:
    def write(path: str) -> None:
        import palmerpenguins  # pylint: disable=import-outside-toplevel

        shutil.copy(os.path.join(os.path.dirname(palmerpenguins.__file__), "data", name), path)
    return write


def _breast_cancer(path: str) -> None:
    from sklearn import datasets  # pylint: disable=import-outside-toplevel

    bunch = datasets.load_breast_cancer(as_frame=True)
    frame = bunch.frame.drop(columns="target")
    frame["diagnosis"] = [bunch.target_names[t] for t in bunch.target]  # class names, not 0/1
    frame.to_csv(path, index=False)


def _diabetes(path: str) -> None:
    from sklearn import datasets  # pylint: disable=import-outside-toplevel

    datasets.load_diabetes(as_frame=True, scaled=False).frame.to_csv(path, index=False)


@dataclasses.dataclass(frozen=True)
class PublicDataset:
    name: str
    label: str
    task: str
    write_csv: Callable[[str], None]
    about: str

    def write_folder(self, root: str) -> str:
        """`root/<name>/<name>.csv`; returns the folder."""
        folder = os.path.join(root, self.name)
        os.makedirs(folder, exist_ok=True)
        self.write_csv(os.path.join(folder, f"{self.name}.csv"))
        return folder


PENGUINS = PublicDataset("penguins", "species", "multiclass", _palmerpenguins("penguins.csv"),
                         "palmerpenguins: 344 penguins, 3 species, `NA` for missing values")
BREAST_CANCER = PublicDataset("breast_cancer", "diagnosis", "binary", _breast_cancer,
                              "scikit-learn: 569 tumours, 30 numeric columns only")
DIABETES = PublicDataset("diabetes", "target", "regression", _diabetes,
                         "scikit-learn: 442 patients, disease progression after a year")
PENGUINS_RAW = PublicDataset("penguins_raw", "Species", "multiclass",
                             _palmerpenguins("penguins-raw.csv"),
                             "palmerpenguins raw: spaces and brackets in names, a date, IDs, comments")
ALL: Tuple[PublicDataset, ...] = (PENGUINS, BREAST_CANCER, DIABETES, PENGUINS_RAW)
