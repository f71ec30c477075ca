"""Reading a SOM table file into a pandas DataFrame: the delimiter, and whether the first line
is a header or already data.

:func:`read_frame` is what :func:`dlcourse.som.data.load_table` reads a table file with; it
returns the columns as written (a header-less file gets ``x0, x1...`` and ``attrs["named"]``
False), and leaves choosing features and labels to the caller.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.txt"
>>> _ = path.write_text("1.5 2.0\\n3.5 4.0\\n")  # numpy.savetxt's layout
>>> read_frame(path, "text").to_numpy().tolist()
[[1.5, 2.0], [3.5, 4.0]]
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from dlcourse.errors import DlcourseError

_SAMPLE_BYTES = 65536  # enough lines to choose a delimiter
WHITESPACE = r"\s+"  # pandas' separator for runs of spaces and tabs


def read_frame(path: Path, kind: str):
    """A pandas DataFrame of the table file ``path``; ``kind`` is its format (csv, tsv, jsonl,
    parquet, or text: delimited text of another suffix, ``.txt``).

    The delimiter is chosen from the first lines (``dlcourse.text.choose_delimiter``); a text
    file that none of those delimiters fits but runs of whitespace do is read split on those.

    Raises:
        DlcourseError: an empty, binary or non-UTF-8 file, or one pandas cannot parse, with the
            line and the fix where they are known.
    """
    try:
        import pandas as pd
    except ImportError as exc:
        raise DlcourseError("reading table files needs pandas; pip install "
                            "'dlcourse[tables]'") from exc
    sep = ","
    try:
        if kind == "jsonl":
            return pd.read_json(path, lines=True)
        if kind == "parquet":
            return pd.read_parquet(path)
        opener = gzip.open if path.suffix.lower() == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            sample = handle.read(_SAMPLE_BYTES)
        if not sample.strip():
            raise DlcourseError(f"DATA {path} is empty")
        if "\x00" in sample:
            raise DlcourseError(f"DATA {path} looks binary (it holds NUL bytes), not a table")
        sep = _separator(sample, kind)
        frame = pd.read_csv(path, sep=sep)
        # the first line's cells as written: pandas renames an empty header cell "Unnamed: 1"
        # and a repeated one "1.0.1", which no longer read as the number a data row holds
        first = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str,
                            keep_default_na=False).iloc[0].tolist()
        if _first_row_is_data(frame, first):  # no header row: the first is data
            frame = pd.read_csv(path, sep=sep, header=None)
            frame.columns = [f"x{i}" for i in range(frame.shape[1])]
            frame.attrs["named"] = False
        return frame
    except UnicodeDecodeError as exc:
        raise DlcourseError(f"{path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                            f"offset {exc.start}); re-save it as UTF-8") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        # pandas' "Error tokenizing data. C error: Expected 2 fields in line 3, saw 5"
        ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", reason)
        if ragged:
            want, line, saw = ragged.groups()
            shown = "whitespace" if sep == WHITESPACE else repr(sep)
            raise DlcourseError(
                f"cannot read {path} as a table: line {line} has {saw} fields where the lines "
                f"before have {want} (separator {shown}); give a table with the same columns "
                "on every line (prose is not a table)") from None
        raise DlcourseError(f"cannot parse {path}: {reason}") from None


def _separator(sample: str, kind: str) -> str:
    """The separator of a delimited file from its first lines: tab for a TSV, else a delimiter
    spreadsheets write; for a text file that none fits, runs of whitespace when every line
    splits on them into the same number of fields (``numpy.savetxt``'s default). A CSV is not
    split on spaces: there they belong to the fields."""
    from dlcourse.text.formats import choose_delimiter, splits_on_whitespace

    if kind == "tsv":
        return "\t"
    sep = choose_delimiter(sample, default="")
    if not sep and kind == "text" and splits_on_whitespace(sample):
        return WHITESPACE
    return sep or ","


def _first_row_is_data(frame, first: list[str]) -> bool:
    """True when the header pandas read (``first``: its cells as written) is a data row: its
    cells over numeric columns are numbers, and a text column's cell is one of its own values
    (a label, as in UCI's ``iris.data``: ``5.1,3.5,1.4,0.2,Iris-setosa``).

    Empty cells do not vote: in a data row they are missing values (reported with their row
    later), and a real header may have one (pandas' ``to_csv`` leaves the index column's name
    empty). A file of one line has no column types: it is data when its cells are numbers.
    """
    import pandas as pd

    if len(first) != frame.shape[1]:
        return False
    numbers = 0  # cells over numeric columns (all of them must be numbers; one at least)
    for i, cell in enumerate(first):
        if not cell.strip():
            continue
        column = frame.iloc[:, i]
        if frame.empty or pd.api.types.is_numeric_dtype(column):
            if not _is_number(cell):
                return False
            numbers += 1
        elif cell not in set(column.astype(str)):
            return False
    return numbers > 0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True
