"""Table file formats, defined once for every lesson: which suffixes are tables, the delimiter of
a CSV, and row readers that report problems at the line where they start.

>>> is_table("reviews.CSV"), is_table("corpus.txt"), table_format("x.ndjson")
(True, False, 'jsonl')
>>> choose_delimiter("height\\n1.7\\n1.8\\n"), choose_delimiter("a;b\\n1,5;2\\n")
(',', ';')
>>> splits_on_whitespace("1.5 2.0\\n3.5  4.0\\n"), splits_on_whitespace("one two\\nthree\\n")
(True, False)
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from dlcourse.errors import DlcourseError, InputError, check_choice

__all__ = ["FORMATS", "TABLE_SUFFIXES", "choose_delimiter", "is_table", "splits_on_whitespace",
           "table_format"]

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".parquet": "parquet"}
TABLE_SUFFIXES = tuple(FORMATS)
"""Suffixes read as tables (lower case); every other file is plain text, one document a line."""

DELIMITERS = (",", "\t", ";", "|")  # the ones spreadsheets write, in order of preference
_SAMPLE_ROWS = 20


def is_table(path: str | os.PathLike) -> bool:
    """True when ``path``'s suffix is one of :data:`TABLE_SUFFIXES` (any case).

    Args:
        path: a file name or path; only its suffix is read (the file need not exist).
    """
    return Path(path).suffix.lower() in FORMATS


def table_format(path: str | os.PathLike, format: str | None = None) -> str:
    """``csv``, ``tsv``, ``jsonl`` or ``parquet``: ``format`` when given, else from the suffix.

    Args:
        path: the table file; its suffix decides when ``format`` is None.
        format: one of ``"csv"``, ``"tsv"``, ``"jsonl"``, ``"parquet"``, overriding the suffix.

    Raises:
        ValueError: an unknown ``format``, or a suffix that is not a table's.
    """
    kinds = sorted(set(FORMATS.values()))
    if format is not None:
        check_choice("table format", format, kinds)
        return format
    try:
        return FORMATS[Path(path).suffix.lower()]
    except KeyError:
        raise InputError(f"cannot tell the format of {path}; use a {', '.join(TABLE_SUFFIXES)} "
                         f"file or pass format='csv'|'tsv'|'jsonl'|'parquet'") from None


def choose_delimiter(sample: str, candidates: Sequence[str] = DELIMITERS,
                     default: str = ",") -> str:
    """The delimiter of a delimited text, from its first lines; ``default`` when none fits.

    A candidate fits when it splits the header into two or more fields and every following
    sampled row into the same number (quotes respected). Unlike ``csv.Sniffer``, which may pick
    any character that repeats (it splits ``height`` on ``h``), this never guesses: a
    single-column file gets ``default``.

    Args:
        sample: the start of the file (a few KB is enough).
        candidates: delimiters to try, in order of preference.
        default: the answer when no candidate fits.
    """
    lines = _sample_lines(sample)
    for delimiter in candidates:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        # the last sampled row may be a quoted multi-line field cut short: it does not vote
        voters = counts[:-1] if len(counts) > 2 else counts
        if voters and voters[0] >= 2 and all(c == voters[0] for c in voters):
            return delimiter
    return default


def splits_on_whitespace(sample: str) -> bool:
    """True when every sampled line of ``sample`` splits on runs of whitespace into the
    same number (two or more) of fields: a matrix as ``numpy.savetxt`` writes it (``1.0e+00
    2.0e+00``), which no :data:`DELIMITERS` candidate fits. No quoting: a text field with a
    space in it makes the lines ragged, and the answer False.

    Not part of :func:`choose_delimiter`: a CSV keeps CSV semantics (a space there is part of
    a field); only a reader of plain delimited text (``.txt``) asks this when that finds none.
    """
    counts = [len(line.split()) for line in _sample_lines(sample)]
    return bool(counts) and counts[0] >= 2 and all(c == counts[0] for c in counts)


def _sample_lines(sample: str) -> list[str]:
    """The non-blank lines of ``sample`` that vote on a delimiter (the header and
    ``_SAMPLE_ROWS`` rows), without a last line the sample cut short."""
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may have cut its last line short
    return [line for line in lines if line.strip()][: _SAMPLE_ROWS + 1]


# ---------------------------------------------------------------------------- row readers
# Each reader yields the header (a list of column names) first, then (line, row) pairs, where
# row is a dict by column name or None for a blank line. ``line`` is where the row *starts*.


def rows_csv(text: str, path: Path, delimiter: str) -> Iterator:
    """Rows of CSV/TSV ``text``; a quote left open is reported at the line that opens it."""
    kind = "TSV" if delimiter == "\t" else "CSV"
    # the text is in memory already: any field fits (the csv module's default limit, 131,072
    # characters, refused long well-formed texts; a quote left open is found by its line)
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        header = next(reader, None)
        while header is not None and not any(h.strip() for h in header):
            start = reader.line_num + 1
            header = next(reader, None)  # blank lines before the header
        if header is None:
            raise DlcourseError(f"{path}: empty file; expected a header line naming the columns")
        header = [h.strip() for h in header]
        twice = next((h for i, h in enumerate(header) if h in header[:i]), None)
        if twice is not None:  # the row dicts would keep only the last such column
            raise DlcourseError(f"{path}:{start}: column {twice!r} appears twice in the header; "
                                "give each column its own name")
        yield header
        last = None  # (start line, fields) of the last non-blank row
        while True:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            if not any(c.strip() for c in row):
                yield start, None
                continue
            if len(row) != len(header):
                if _quote_never_closes(text, delimiter, start):
                    raise _unclosed(path, start)
                raise DlcourseError(f"{path}:{start}: {_fields(len(row))} where the header has "
                                    f"{len(header)}; " + _field_hint(reader.line_num, start,
                                                                     delimiter))
            last = (start, row)
            yield start, dict(zip(header, row))
    except csv.Error as e:
        raise DlcourseError(f"{path}:{reader.line_num}: malformed {kind} ({e})") from None
    if last is not None:
        _check_last_row_closed(text, path, delimiter, *last)


def _fields(n: int) -> str:
    return "1 field" if n == 1 else f"{n} fields"


def _field_hint(end: int, start: int, delimiter: str) -> str:
    if end > start:  # the row ran over several lines: an open quote swallowed line ends
        return (f"the row runs to line {end}: a quote opened on line {start} is probably not "
                "closed")
    shown = "\\t" if delimiter == "\t" else delimiter
    return f"quote fields that contain '{shown}'"


def _check_last_row_closed(text: str, path: Path, delimiter: str, start: int,
                           fields: list[str]) -> None:
    """The csv module, when not strict, silently ends a quote left open at the end of the file,
    with the rest of the file in the last field; so only the last row can hide one. Re-read it
    strictly when it could: a field holding a line end, or a file without a final line end."""
    if not any("\n" in f or "\r" in f for f in fields) and text.endswith(("\n", "\r")):
        return  # the common case, settled without a second read
    if _quote_never_closes(text, delimiter, start):
        raise _unclosed(path, start)


def _quote_never_closes(text: str, delimiter: str, start: int) -> bool:
    """Whether strict CSV parsing from line ``start`` runs off the end inside a quote. Called
    only on the error path or for the last row, so re-splitting the text costs nothing usual."""
    lines = io.StringIO(text, newline="").readlines()
    try:
        for _ in csv.reader(lines[start - 1:], delimiter=delimiter, strict=True):
            pass
    except csv.Error as e:
        return "unexpected end of data" in str(e)
    return False


def _unclosed(path: Path, start: int) -> DlcourseError:
    return DlcourseError(f"{path}:{start}: a quote opened on this line is never closed; close "
                         "it or remove it")


def rows_jsonl(text: str, path: Path) -> Iterator:
    """Rows of JSON Lines ``text``: one object a line; the first object's keys are the header."""
    header = None
    # split on LF only: JSON strings may hold U+2028 and other characters splitlines() breaks on
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DlcourseError(f"{path}:{n}: not valid JSON ({e.msg}); JSONL needs one object "
                                "a line") from None
        if not isinstance(obj, dict):
            raise DlcourseError(f"{path}:{n}: expected a JSON object, found "
                                f"{type(obj).__name__}")
        if header is None:
            header = list(obj)
            yield header
        yield n, obj
    if header is None:
        raise DlcourseError(f"{path}: empty file; expected one JSON object a line")


def rows_frame(df) -> Iterator:
    """Rows of a pandas DataFrame (line = the row's position)."""
    yield [str(c) for c in df.columns]
    for i, row in enumerate(df.to_dict("records")):
        yield i, {str(k): v for k, v in row.items()}


def read_parquet(path: Path):
    """A parquet file as a DataFrame (needs pandas and pyarrow: ``dlcourse[tables]``)."""
    try:
        import pandas as pd
    except ImportError:
        raise DlcourseError("reading .parquet needs pandas and pyarrow: pip install "
                            "dlcourse[tables]") from None
    try:
        return pd.read_parquet(path)
    except ImportError as e:
        raise DlcourseError(f"{path}: {e}; pip install dlcourse[tables]") from None
    except Exception as e:  # pyarrow raises its own error types for a damaged file
        raise DlcourseError(f"{path}: not a readable parquet file ({e})") from None
