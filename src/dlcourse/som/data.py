"""Tables for the SOM lesson: named data sets, table files and ``.npy`` matrices.

``load_table("sklearn:iris")``, ``load_table("fashion-mnist")``, ``load_table("data.csv")`` all
return a :class:`Table` of finite float features, optional labels and feature names. Table
files are the formats the text layer knows (``dlcourse.text.table_format``: .csv, .tsv,
.jsonl, .parquet) plus ``.txt`` and gzipped delimited text, read by
:mod:`dlcourse.som.table_files` (the delimiter, a header or not). :func:`check_source` refuses a
bad DATA before anything is read; :mod:`dlcourse.som.scaling` scales the features.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.errors import DlcourseError, InputError, MissingFileError
from dlcourse.som.measures import columns_phrase
from dlcourse.som.table_files import read_frame

SKLEARN_SETS = ("iris", "wine", "digits", "breast_cancer")
IMAGE_SETS = ("fashion-mnist", "mnist-5k")
LABEL_COLUMNS = ("label", "labels", "class", "target", "species", "y")
MATRIX_SUFFIXES = (".npy",)
TEXT_SUFFIXES = (".txt",)  # delimited text that is not a named table format
# an integer column under one of these names is most likely a row's id, not a measurement
ID_NAMES = ("id", "index")
ID_SUFFIXES = ("_id", " id", "-id", ".id")


@dataclass
class Table:
    """Features ``X`` (N, d) float, ``labels`` (N,) or None, ``feature_names`` (d,), ``name``;
    ``named``: the names come from the data (a header, a data set), not ``x0, x1...``;
    ``label_column``: the table column the labels came from; ``rows``: each sample's row in
    the data when ``limit`` kept some of them (None: all, in order); ``notes``: what reading
    decided that the user did not say (a column taken as the labels, an index dropped), one
    line each, for the CLI to show."""

    X: np.ndarray
    labels: np.ndarray | None
    feature_names: list[str]
    name: str
    named: bool = True
    label_column: str | None = None
    rows: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


def _named_set(spec: str) -> str | None:
    """The image set ``spec`` names (old spellings such as fashion_mnist accepted), or None."""
    from dlcourse.data.names import canonical_name

    name = canonical_name(spec)
    return name if name in IMAGE_SETS else None


def _suffix(path: Path) -> str:
    """The format suffix, looking through ``.gz``: ``x.csv.gz`` -> ``.csv``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        return suffixes[-2] if len(suffixes) > 1 else ".txt"
    return suffixes[-1] if suffixes else ""


def _table_format(path: Path) -> str | None:
    """csv, tsv, jsonl, parquet (the text layer's formats), text, npy, or None."""
    from dlcourse.text import is_table, table_format

    suffix = _suffix(path)
    if suffix in MATRIX_SUFFIXES:
        return "npy"
    if suffix in TEXT_SUFFIXES:
        return "text"
    fake = Path("x" + suffix)
    return table_format(fake) if is_table(fake) else None


def check_source(spec: str, what: str = "DATA") -> str:
    """``spec`` if it names a data set or a readable table file; checks no contents. ``what``
    names it in the messages (the argument or option).

    Raises:
        InputError: one line naming the problem and what DATA may be.
    """
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str):  # pathlib's TypeError named no fix
        raise InputError(f"{what} must be a file path or a data set's name, got "
                         f"{type(spec).__name__} {spec!r:.40}; for an array use SOM().fit(X)")
    if spec.startswith("sklearn:"):
        name = spec.split(":", 1)[1]
        if name not in SKLEARN_SETS:
            raise InputError(f"unknown data set {spec}; choose one of "
                             + ", ".join(f"sklearn:{n}" for n in SKLEARN_SETS))
        return spec
    named = _named_set(spec)
    if named is not None:
        return named
    path = Path(spec).expanduser()
    kinds = ("a .csv, .tsv, .txt, .jsonl, .parquet or .npy file, sklearn:NAME "
             f"({', '.join(SKLEARN_SETS)}) or {' or '.join(IMAGE_SETS)}")
    if not spec.strip():  # Path("") is the working directory
        raise InputError(f"{what} is an empty string; pass {kinds}")
    if not path.exists():
        raise MissingFileError(f"{what} {spec!r} not found; pass {kinds}")
    if path.is_dir():
        raise InputError(f"{what} {spec} is a directory; pass {kinds}")
    if not os.access(path, os.R_OK):
        raise InputError(f"{what} {spec} is not readable (permission denied)")
    if _table_format(path) is None:
        raise InputError(f"cannot read {path}: pass {kinds}")
    if path.stat().st_size == 0:
        raise InputError(f"{what} {spec} is empty")
    return spec


def load_table(spec: str, label_column: str | None = None, limit: int | None = None,
               seed: int = 0, require_label: bool = True, drop_columns: Sequence[str] = (),
               saved_drops: Sequence[str] = ()) -> Table:
    """Load ``spec``: ``sklearn:NAME`` (iris, wine, digits, breast_cancer), ``fashion-mnist``
    or ``mnist-5k`` (pixels scaled to [0, 1]), a ``.npy`` matrix, or a table file.

    A table's numeric columns are the features; its labels come from ``label_column``, a
    column named label/class/target/species/y (if numbers, whole ones), or the one non-numeric
    column; ``"none"`` for none. ``limit`` keeps a seeded random subset of that many rows.

    Args:
        spec: the data (see above).
        label_column: the table column of the labels (``--label-col``); None: guessed;
            ``"none"`` or ``""``: no labels.
        limit: keep a seeded random subset of this many rows; None: all.
        seed: the seed of that subset.
        require_label: ``label_column`` must be there (training); False: the map's labels,
            read where the table has them (new samples often have none).
        drop_columns: table columns left out before the rest are judged (``--drop-cols``, an
            ID, a text note); each must be in the table.
        saved_drops: the columns a map was trained without: left out where present (new
            samples may lack an ID column).

    Raises:
        InputError: naming the problem (missing or empty file, a column that is not there,
            a missing or infinite value with its row and column) and the fix.
    """
    spec = check_source(spec)
    if limit is not None and limit < 1:
        raise InputError(f"limit must be >= 1, got {limit}")
    drops = (list(drop_columns), list(saved_drops))
    if drop_columns and (spec.startswith("sklearn:") or spec in IMAGE_SETS
                         or _table_format(Path(spec).expanduser()) == "npy"):
        raise InputError(f"{spec} has no named columns to leave out; --drop-cols names columns "
                         "of a table file (for a matrix, save it without them)")
    if spec.startswith("sklearn:") or spec in IMAGE_SETS:
        if label_column is not None and require_label:
            raise InputError(f"{spec} has its labels already; --label-col names a column "
                             "of a table file")
        table = _sklearn(spec.split(":", 1)[1]) if spec.startswith("sklearn:") else _images(spec)
    else:
        path = Path(spec).expanduser()
        if _table_format(path) == "npy":
            if label_column is not None and require_label:
                raise InputError(f"{path} is a matrix without column names; --label-col "
                                 "names a column of a table file")
            table = _npy(path)
        else:
            table = _frame_table(read_frame(path, _table_format(path)), path, label_column,
                                 require_label, drops)
    if limit is not None and limit < len(table.X):
        keep = np.sort(np.random.default_rng(seed).choice(len(table.X), limit, replace=False))
        table = replace(table, X=table.X[keep], rows=keep,
                        labels=None if table.labels is None else table.labels[keep])
    return table


def _sklearn(name: str) -> Table:
    try:
        import sklearn.datasets as sets
    except ImportError as exc:
        raise DlcourseError("sklearn: data sets need scikit-learn; pip install "
                            "'scikit-learn'") from exc
    bunch = getattr(sets, f"load_{name}")()
    names = [str(n) for n in getattr(bunch, "feature_names", [])] or \
        [f"x{i}" for i in range(bunch.data.shape[1])]
    labels = np.asarray(bunch.target_names)[bunch.target] if name != "digits" else bunch.target
    return Table(bunch.data.astype(np.float64), np.asarray(labels), names, f"sklearn:{name}")


def _images(name: str) -> Table:
    from dlcourse.data import readers

    images, labels = (readers.read_fashion_mnist("train") if name == "fashion-mnist"
                      else readers.read_mnist_5k())
    X = images.reshape(len(images), -1).astype(np.float32) / 255.0  # (N, 784)
    size = images.shape[1]
    names = [f"px{r}_{c}" for r in range(size) for c in range(size)]
    return Table(X, np.asarray(labels), names, name)


def _npy(path: Path) -> Table:
    try:
        X = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read {path}: {reason}; save a plain numeric array with "
                         "numpy.save") from None
    if X.ndim != 2 or X.dtype.kind not in "fiub":
        raise InputError(f"{path} holds a {X.dtype} array of shape {X.shape}; "
                         "save a 2-D numeric (samples, features) array")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise InputError(f"{path} holds an empty {X.shape} array; save at least one sample "
                         "and one feature")
    names = [f"x{i}" for i in range(X.shape[1])]
    _check_finite(X if X.dtype.kind == "f" else X.astype(np.float64), names, path)
    return Table(X, None, names, str(path), named=False)


def _left_out(frame, path: Path, label_column: str | None, drops: tuple[list, list]):
    """``frame`` without the columns ``drops`` (typed, saved) name (see :func:`load_table`).

    Raises:
        InputError: a typed name that is not a column (naming the columns), or the label
            column among them.
    """
    typed, saved = drops
    columns = list(frame.columns)
    unknown = [c for c in typed if c not in columns]
    if unknown:
        raise InputError(f"--drop-cols {','.join(unknown)}: {path} has no such column; its "
                         f"columns: {', '.join(columns)}")
    if label_column is not None and label_column in typed:
        raise InputError(f"column {label_column!r} is both --label-col and in --drop-cols; "
                         "name it in one of them")
    gone = [c for c in columns if c in typed or c in saved]
    return frame.drop(columns=gone) if gone else frame


def _drop_hint(names: list[str]) -> tuple[str, str]:
    """('column 'a' is' or 'columns 'a', 'b' are', the --drop-cols that leaves them out),
    the value quoted for the shell when a name has a space in it."""
    what, them = columns_phrase(names)
    return what, f"leave {them} out with --drop-cols {shlex.quote(','.join(names))}"


def _frame_table(frame, path: Path, label_column: str | None, require_label: bool,
                 drops: tuple[list, list] = ([], [])) -> Table:
    """Features and labels of a DataFrame (see :func:`load_table`; ``drops``: its
    ``drop_columns`` and ``saved_drops``)."""
    import pandas as pd

    frame.columns = [str(c) for c in frame.columns]
    notes = list(frame.attrs.get("notes", []))
    guessed = False  # nobody named the labels: a usual name or the one text column chose them
    if frame.empty:  # before the columns are judged: those of a header alone have no type
        raise InputError(f"{path} has a header but no data rows")
    # before the labels are guessed: a dropped column is neither a feature nor the labels
    read = len(frame.columns)
    frame = _left_out(frame, path, label_column, drops)
    columns = list(frame.columns)
    dropped = read - len(columns)
    if label_column is not None and label_column.lower() == "none" and "none" not in columns:
        label_column = ""  # --label-col none: no labels, every numeric column a feature
    absent = label_column not in (None, "") and label_column not in columns
    if absent and not require_label:
        text = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c])]
        named = [c for c in text if c.lower() in LABEL_COLUMNS]
        if len(text) == 1 and named:  # the labels under another usual name (label, class...)
            label_column = named[0]
        elif len(text) == 1 and not frame.attrs.get("named", True):
            label_column = text[0]  # no header: its one text column is the label, as in train
            guessed = True
        elif text:
            what, drop = _drop_hint(text)
            raise InputError(f"{path}: {what} not numeric and the map's labels are in "
                             f"{label_column!r}; {drop}, or name the labels' column "
                             f"{label_column}")
        else:
            label_column = ""  # no labels, and no guessing either
    elif absent:
        raise InputError(f"{path} has no column {label_column!r}; columns: "
                         f"{', '.join(columns)}")
    text = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if label_column == "":
        label_column = None
    elif label_column is None:
        named = [c for c in columns if c.lower() in LABEL_COLUMNS]
        # a number column named y or target is a class only when it holds whole numbers: the
        # y of x,y points is a coordinate
        kept = [c for c in named if not _class_like(frame[c])]
        named = [c for c in named if c not in kept]
        label_column = named[0] if named else (text[0] if len(text) == 1 else None)
        guessed = label_column is not None
        if kept and require_label:
            notes.append(f"{path.name}: column {kept[0]!r} is named like labels but holds "
                         f"fractions: a feature (--label-col {kept[0]} makes it the labels)")
    others = [c for c in text if c != label_column]
    if others:  # all of them at once: one at a time took a run per column
        what, fix = _drop_hint(others)
        if require_label and not label_column:
            fix += (", or name it with --label-col" if len(others) == 1
                    else ", or name the label column with --label-col")
        elif require_label:
            fix += f" (the labels are in {label_column!r})"
        elif label_column:
            fix += f" (the map's labels are in {label_column!r})"
        else:
            fix += " (the map was trained without labels)"
        raise InputError(f"{path}: {what} not numeric; {fix}")
    features = [c for c in columns if c != label_column]
    if not features and dropped:  # not the file's fault: it did not read as one column
        labels = f"; the labels are in {label_column!r}" if label_column else ""
        raise InputError(f"{path}: --drop-cols leaves no feature column (it drops {dropped} of "
                         f"its {read} columns{labels}); drop fewer columns")
    if not features:
        raise InputError(f"{path} has no numeric feature columns" + (
            "; it reads as one column: no separator (, tab ; | or spaces) splits every line "
            "into the same number of fields" if len(columns) == 1 else ""))
    X = frame[features].to_numpy(dtype=np.float64)
    _check_finite(X, features, path)
    labels = frame[label_column].to_numpy() if label_column else None
    if labels is not None and pd.isna(labels).any():
        row = int(np.argwhere(pd.isna(labels))[0][0])
        raise InputError(f"{path}: missing label in data row {row + 1} (column "
                         f"{label_column!r}); fill or drop it")
    if require_label:  # at training only: a map trained on them needs them from then on
        notes += _id_notes(frame, features, path)
    if guessed:
        why = "its name" if label_column.lower() in LABEL_COLUMNS else "its one text column"
        notes.append(f"{path.name}: column {label_column!r} holds the labels ({why})" + (
            "; --label-col names another, --label-col none makes it a feature"
            if require_label else ""))
    return Table(X, labels, features, str(path), frame.attrs.get("named", True), label_column,
                 notes=notes)


def _class_like(column) -> bool:
    """True for a column that can hold class labels: text, or numbers that are all whole."""
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return True
    values = column.dropna().to_numpy(dtype=np.float64)
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def _id_notes(frame, features: list[str], path: Path) -> list[str]:
    """A note on the integer columns named like an ID (id, cust_id...) holding a different
    value on every row: a number, so used as a feature, though it measures nothing."""
    import pandas as pd

    ids = [c for c in features if (c.lower() in ID_NAMES or c.lower().endswith(ID_SUFFIXES)
                                   or c.endswith(("Id", "ID")))
           and pd.api.types.is_integer_dtype(frame[c]) and frame[c].is_unique]
    if not ids:
        return []
    one = len(ids) == 1
    what = (f"column {ids[0]!r} looks like a row ID" if one else
            f"columns {', '.join(map(repr, ids))} look like row IDs")
    return [f"{path.name}: {what} (a different integer on every row), used as "
            f"{'a feature' if one else 'features'}; if {'it measures' if one else 'they measure'}"
            f" nothing, {_drop_hint(ids)[1]}"]


def _check_finite(X: np.ndarray, names: list[str], path: Path) -> None:
    """A one-line error at the first NaN or infinite value (data rows count from 1)."""
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        kind = "missing" if np.isnan(X[row, col]) else "infinite"
        raise InputError(f"{path}: {kind} value in data row {row + 1}, column "
                         f"{names[col]!r}; fill or drop it")


def model_inputs(table: Table, metadata: dict[str, Any], n_features: int,
                 what: str = "DATA", fitted_names: Sequence[str] | None = None) -> np.ndarray:
    """``table``'s features as a map trained with ``metadata`` (the CLI's) expects them: the
    training columns, in the data's own units (the map's queries apply its saved scaler);
    ``what`` names the data in the messages (``--data`` for ``som plot``); ``fitted_names``:
    the map's ``feature_names_in_`` (a map fitted in Python on a DataFrame).

    Raises:
        InputError: another number of features, or other column names.
    """
    X = table.X
    if X.shape[1] != n_features:
        raise InputError(f"{what} {table.name} has {X.shape[1]} features but the map was "
                         f"trained on {n_features}; pass data with the training columns")
    names = metadata.get("feature_names") if metadata.get("named_features") else None
    names = names or (None if fitted_names is None else [str(n) for n in fitted_names])
    if table.named and names and names != table.feature_names:
        i = next(i for i, (a, b) in enumerate(zip(names, table.feature_names)) if a != b)
        raise InputError(f"{what} {table.name}: column {i + 1} is {table.feature_names[i]!r} "
                         f"where the map was trained on {names[i]!r}; pass the training "
                         "columns in their order")
    return X
