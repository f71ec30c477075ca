"""Reading a SOM table file into a pandas DataFrame: the delimiter, and whether the first line
is a header or already data; as numpy and pandas write tables: leading '#' lines skipped (the
last one names the columns of a header-less table: ``savetxt(header=...)``), spaces as the
separator, pandas' ``to_csv`` index (an empty first header cell) dropped when it is 0..n-1.

:func:`read_frame` is what :func:`dlcourse.som.data.load_table` reads a table file with; it
returns the columns as written (a header-less file gets ``x0, x1...`` and ``attrs["named"]``
False; ``attrs["notes"]``: what it decided, for the user), and leaves choosing features and
labels to the caller.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.txt"
>>> _ = path.write_text("1.5 2.0\\n3.5 4.0\\n")  # numpy.savetxt's layout
>>> read_frame(path, "text").to_numpy().tolist()
[[1.5, 2.0], [3.5, 4.0]]
"""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path
from typing import Any

from dlcourse.errors import DlcourseError

_SAMPLE_BYTES = 65536  # enough lines to choose a delimiter
_SAMPLE_ROWS = 21  # the header and 20 rows vote on whitespace as the separator
WHITESPACE = r"\s+"  # pandas' separator for runs of spaces and tabs
#: a number written with a decimal comma, as a field of a ';'-separated file
_DECIMAL_COMMA = re.compile(r"(?:(?<=;)|(?<=^))\s*[+-]?\d+,\d+(?:[eE][+-]?\d+)?\s*(?=;|$)", re.M)


def read_frame(path: Path, kind: str):
    """A pandas DataFrame of the table file ``path``; ``kind`` is its format (csv, tsv, jsonl,
    parquet, or text: delimited text of another suffix, ``.txt``).

    The delimiter is chosen from the first lines after any leading '#' comment lines
    (``dlcourse.text.choose_delimiter``); a file that none of those delimiters fits but runs of
    whitespace do is read split on those (a .csv or .tsv when its rows then hold numbers).

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
        lines = io.StringIO(sample, newline=None).readlines()  # line ends as pandas sees them
        skip, comment = _comment_lines(lines)
        rows = lines[skip:]
        while rows and (not rows[-1].strip() or rows[-1].lstrip().startswith("#")):
            rows.pop()  # a footer (see _footer) must not vote on the separator
        body = "".join(rows)
        if not body.strip():
            raise DlcourseError(f"DATA {path} holds only comment lines (#), no table")
        sep = _separator(body, kind)
        # numpy.savetxt(footer=...) ends the table with '#' lines: pandas' C reader cannot
        # skip a footer, so such a file (rare) goes through its Python reader
        footer = {} if opener is gzip.open else _footer(path)
        if sep == ";" and _DECIMAL_COMMA.search(body):  # a European spreadsheet's "0,126"
            footer["decimal"] = ","
        frame = pd.read_csv(path, sep=sep, skiprows=skip, **footer)
        # the first line's cells as written: pandas renames an empty header cell "Unnamed: 1"
        # and a repeated one "1.0.1", which no longer read as the number a data row holds
        first = pd.read_csv(path, sep=sep, skiprows=skip, header=None, nrows=1, dtype=str,
                            keep_default_na=False).iloc[0].tolist()
        if footer.get("decimal") == ",":  # the cells as numbers are written elsewhere
            first = [cell.replace(",", ".") if _DECIMAL_COMMA.fullmatch(cell.strip()) else cell
                     for cell in first]
        if not _index_header(frame, first) and _first_row_is_data(frame, first):
            # no header row: the first is data; numpy.savetxt(header=...) wrote the names
            # as a comment line ("# a b c") right above it
            names = _comment_names(comment, sep, len(first))
            frame = pd.read_csv(path, sep=sep, skiprows=skip, header=None, **footer)
            frame.columns = names or [f"x{i}" for i in range(frame.shape[1])]
            frame.attrs["named"] = names is not None
        elif first and not first[0].strip():
            frame = _drop_index(frame, path)
        return _drop_trailing_empty(frame, first)
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


def _drop_trailing_empty(frame, first: list[str]):
    """``frame`` without the last columns that a separator ending every line made (``a,b,``,
    as spreadsheets export): no name in the first line and no value in any row."""
    end = frame.shape[1]
    while end > 1 and end <= len(first) and not first[end - 1].strip() \
            and frame.iloc[:, end - 1].isna().all():
        end -= 1
    return frame.iloc[:, :end] if end < frame.shape[1] else frame


def _footer(path: Path) -> dict[str, Any]:
    """``read_csv``'s arguments that skip the '#' lines (and blank ones among them) ending the
    file ``path``; none when it ends with a row."""
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - _SAMPLE_BYTES))
        tail = handle.read().decode("utf-8", errors="replace")
    count = last = 0  # lines read from the end; the count up to the earliest '#' line
    for line in reversed(tail.splitlines()):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        count += 1
        last = count if line.strip() else last
    return {"skipfooter": last, "engine": "python"} if last else {}


def _separator(sample: str, kind: str) -> str:
    """The separator of a delimited file from its first lines: tab for a TSV, else a delimiter
    spreadsheets write; when none fits, runs of whitespace if every line splits on them into
    the same number of fields (``numpy.savetxt``'s default). A CSV or TSV is split on spaces
    only when its rows then hold numbers (at most one text column, a label): in a one-column
    CSV of names the spaces belong to the fields."""
    from dlcourse.text.formats import DELIMITERS, choose_delimiter, splits_on_whitespace

    sep = choose_delimiter(sample, ("\t",) if kind == "tsv" else DELIMITERS, default="")
    if sep == "," and _decimal_comma_rows(sample):  # "0,126;-0,132": the commas are decimal
        return ";"
    if not sep and splits_on_whitespace(sample) and (kind == "text" or _numeric_rows(sample)):
        return WHITESPACE
    return sep or ("\t" if kind == "tsv" else ",")


def _decimal_comma_rows(sample: str) -> bool:
    """True when the sampled lines after the first split on ';' into as many fields each, all
    numbers, some of them written with a decimal comma."""
    rows = [line.split(";") for line in sample.splitlines() if line.strip()][1:_SAMPLE_ROWS]
    if not sample.endswith(("\n", "\r")) and len(rows) > 1:
        rows = rows[:-1]  # the sample may have cut its last line short
    cells = [cell.strip().replace(",", ".", 1) for row in rows for cell in row]
    return (bool(rows) and len({len(row) for row in rows}) == 1 and len(rows[0]) > 1
            and all(_is_number(cell) for cell in cells if cell)
            and any(_DECIMAL_COMMA.fullmatch(cell.strip()) for row in rows for cell in row))


def _numeric_rows(sample: str) -> bool:
    """True when the sampled lines after the first split on whitespace into number columns, at
    most one of them (a label column) text, and two numbers at least."""
    rows = [line.split() for line in sample.splitlines() if line.strip()][1:_SAMPLE_ROWS]
    if not sample.endswith(("\n", "\r")) and len(rows) > 1:
        rows = rows[:-1]  # the sample may have cut its last line short
    if not rows:
        return False
    text = {j for row in rows for j, cell in enumerate(row) if not _is_number(cell)}
    return len(text) <= 1 and len(rows[0]) - len(text) >= 2


def _comment_lines(lines: list[str]) -> tuple[int, str | None]:
    """(how many ``lines`` open the file before the table, the last of them that is a
    comment): lines starting with '#' (numpy.savetxt writes its ``header`` so) and blank ones."""
    skip, comment = 0, None
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            break
        skip += 1
        comment = line.rstrip("\r\n") if line.strip() else comment
    return skip, comment


def _comment_names(comment: str | None, sep: str, width: int) -> list[str] | None:
    """The column names a comment line gives a header-less table (``# a b c``, ``# a,b,c``):
    its fields without the '#', when there are ``width`` of them, all different and none
    empty; else None (a comment, not a header)."""
    import csv

    if comment is None:
        return None
    if sep == WHITESPACE:
        names = comment.lstrip()[1:].split()
    else:
        names = [c.strip() for c in next(csv.reader([comment], delimiter=sep), [])]
        if names:  # "# a" -> "a"; a first cell that is only '#' is a name ("#,x,y")
            names[0] = names[0].lstrip()[1:].strip() or "#"
    if len(names) != width or len(set(names)) != width or not all(names):
        return None
    return names


def _index_header(frame, first: list[str]) -> bool:
    """True when the first line is a header pandas' ``DataFrame.to_csv`` wrote with the index:
    its first cell empty, the others filled, and either the default column names 0, 1, 2...
    or a first column of distinct whole numbers (the index) below it."""
    import pandas as pd

    cells = [c.strip() for c in first]
    if len(cells) < 2 or cells[0] or not all(cells[1:]):
        return False
    if cells[1:] == [str(i) for i in range(len(cells) - 1)]:
        return True
    column = frame.iloc[:, 0]
    return bool(pd.api.types.is_integer_dtype(column) and column.is_unique and len(column))


def _drop_index(frame, path: Path):
    """``frame`` without its first column when it has no name and counts the rows 0, 1, 2...
    (pandas' default index: no information); a note in ``attrs["notes"]`` either way when it
    holds whole numbers, which an index does."""
    import numpy as np
    import pandas as pd

    column = frame.iloc[:, 0]
    if not pd.api.types.is_integer_dtype(column):
        return frame
    if np.array_equal(column.to_numpy(), np.arange(len(frame))):
        kept = frame.iloc[:, 1:].copy()
        kept.attrs = {**frame.attrs, "notes": [
            f"{path.name}: dropped its first column (no name, the row numbers 0, 1, 2...: "
            "the index pandas' to_csv writes)"]}
        return kept
    frame.attrs["notes"] = [
        f"{path.name}: its first column has no name and holds whole numbers, as pandas' index "
        f"does; it is a feature {column.name!r} here (write the file with to_csv(index=False) "
        "to leave it out)"]
    return frame


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
