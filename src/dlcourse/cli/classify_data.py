"""Where `dlcourse classify` finds its data: a named set or a table file, checked before it is
read, and the table columns a saved model was trained on."""

from __future__ import annotations

from pathlib import Path

from dlcourse.cli.common import check_input_file
from dlcourse.errors import DlcourseError
from dlcourse.text.config import TableConfig
from dlcourse.text.formats import TABLE_SUFFIXES, is_table

DATA_SETS = ("rt-sentences", "pang-lee-sample", "mr-polarity", "imdb")


def check_data(value: str, what: str = "DATA") -> str:
    """A named data set, or an existing, non-empty table file; a one-line error otherwise.
    Reads no data."""
    from dlcourse.data import canonical_name

    name = canonical_name(value)
    if name in DATA_SETS:
        return name
    path = Path(value).expanduser()
    kinds = ", ".join(TABLE_SUFFIXES)
    if not path.exists():
        raise DlcourseError(f"{what} {value!r} is neither a data set ({', '.join(DATA_SETS)}) "
                            f"nor a table file that exists")
    if path.is_dir():
        raise DlcourseError(f"{what} {value} is a directory; pass a table file ({kinds}) or a "
                            f"data set name ({', '.join(DATA_SETS)})")
    if not is_table(path):
        raise DlcourseError(f"{what} {value} is not a table file; pass a {kinds} file with a "
                            "text and a label column")
    check_input_file(path, what)
    return value


def labelled(source: str, table: TableConfig):
    """(train, valid, test) pairs of (texts, labels) of a named set (a part it lacks is None),
    or (the table, None, None)."""
    from dlcourse.classify import data as cdata

    if source in DATA_SETS:
        parts = cdata.load_dataset(source)
        return parts["train"], parts["valid"], parts["test"]
    return cdata.read_labelled(source, table.text_col, table.label_col, table.encoding,
                               table.on_missing), None, None


def model_columns(model_dir: Path) -> TableConfig:
    """The table columns the model was trained on (its metadata), the defaults otherwise."""
    from dlcourse.engine.persist import model_path, read_manifest

    saved = read_manifest(model_path(model_dir)).get("metadata") or {}
    return TableConfig(text_col=saved.get("text_col", "text"),
                       label_col=saved.get("label_col", "label"))


def take(pair, n):
    """The first ``n`` texts and labels of a (texts, labels) pair (None stays None)."""
    return None if pair is None else (pair[0][:n], pair[1][:n])
