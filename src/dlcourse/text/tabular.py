"""Labelled text tables (CSV, TSV, JSONL, parquet, pandas): :func:`load_table` with errors that
name the file and line, and :class:`TextTable` with seeded stratified splits and numericalization
for ``PadCollate``. The supported formats are defined once, in :mod:`dlcourse.text.formats`
(``TABLE_SUFFIXES``, ``is_table``); files are decoded by :mod:`dlcourse.text.reading`'s policy.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from dlcourse.errors import DlcourseError, InputError, MissingFileError, check_choice
from dlcourse.text.formats import (
    TABLE_SUFFIXES,
    choose_delimiter,
    is_table,
    read_parquet,
    rows_csv,
    rows_frame,
    rows_jsonl,
    table_format,
)
from dlcourse.text.labels import LabelEncoder
from dlcourse.text.reading import decode_text

__all__ = ["TABLE_SUFFIXES", "LabelEncoder", "TextTable", "check_columns", "is_table", "load_table",
           "table_columns"]

log = logging.getLogger(__name__)

ON_MISSING = ("error", "drop")  # TableConfig.on_missing's choices: --on-missing
_INT_RE = re.compile(r"[+-]?\d+")
_SNIFF_CHARS = 65536  # enough of a CSV to see its header and 20 rows


class TextTable:
    """Texts with optional labels, remembering where they came from.

    Attributes:
        texts: the text column, ``list[str]``.
        labels: the label column (ints when every label is an integer, else strings), or None.
        path: the source file, or None for a DataFrame or a split.
        columns: every column name of the source (its header), or None.

    >>> table = TextTable(["good", "bad", "fine", "awful"], ["pos", "neg", "pos", "neg"])
    >>> train, test = table.split((0.5, 0.5), seed=0)
    >>> len(train), sorted(train.label_counts().items())
    (2, [('neg', 1), ('pos', 1)])
    """

    def __init__(self, texts: Sequence[str], labels: Sequence | None = None,
                 path: str | Path | None = None, text_col: str = "text",
                 label_col: str | None = "label", columns: Sequence[str] | None = None):
        self.texts = list(texts)
        self.labels = None if labels is None else list(labels)
        if self.labels is not None and len(self.labels) != len(self.texts):
            raise InputError(f"{len(self.texts)} texts but {len(self.labels)} labels")
        self.path = None if path is None else Path(path)
        self.text_col = text_col
        self.label_col = label_col
        self.columns = None if columns is None else list(columns)

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i: int):
        """``(text, label)``, or the text alone when the table has no labels."""
        return self.texts[i] if self.labels is None else (self.texts[i], self.labels[i])

    def __repr__(self) -> str:
        src = f", path={str(self.path)!r}" if self.path else ""
        return f"TextTable({len(self)} rows{src})"

    def label_counts(self) -> dict:
        """Examples per label, most frequent first."""
        if self.labels is None:
            return {}
        return dict(Counter(self.labels).most_common())

    def subset(self, indices: Iterable[int]) -> TextTable:
        """The rows at ``indices``, in that order.

        Args:
            indices: row positions (repeats allowed); the result has no ``path`` or ``columns``.
        """
        idx = list(indices)
        labels = None if self.labels is None else [self.labels[i] for i in idx]
        return TextTable([self.texts[i] for i in idx], labels, None, self.text_col,
                         self.label_col)

    def split(self, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
              stratify: bool = True) -> tuple[TextTable, ...]:
        """Random train/valid(/test) split, the same for the same seed.

        Args:
            fractions: one share per part, summing to 1.
            seed: the shuffle seed.
            stratify: keep each label's share equal across parts (needs labels).

        Returns:
            one TextTable per fraction.
        """
        from dlcourse.data.readers import split_indices

        strata = self.labels if stratify and self.labels is not None else None
        parts = split_indices(len(self), tuple(float(f) for f in fractions), seed, strata)
        return tuple(self.subset(p.tolist()) for p in parts)

    def encode(self, tokenizer, vocab, label_encoder: LabelEncoder | None = None,
               max_len: int | None = None) -> list:
        """Numericalize: ``[(ids, label_id), ...]`` (or ``[ids, ...]`` without labels).

        The result is a map-style data set for ``DataLoader(..., collate_fn=PadCollate())``.
        A labelled table needs ``label_encoder``, fitted on the training labels and shared by
        every table (torchtext's ``LABEL.build_vocab(train)``), so that a class has one id.

        Args:
            tokenizer: a :class:`~dlcourse.text.Tokenizer`, or a function from a text to its
                tokens (as torchtext's; ``get_tokenizer`` wraps it).
            vocab: a :class:`~dlcourse.text.Vocab` mapping the tokens to ids.
            label_encoder: a fitted :class:`LabelEncoder`; required when the table has labels.
            max_len: keep each text's first ``max_len`` tokens; None (or 0) keeps all.

        Raises:
            InputError: labels without ``label_encoder``, or a label it does not know.
        """
        if self.labels is not None and label_encoder is None:
            # a table numbering its own classes would give another table's labels other ids
            raise InputError("encode needs the label_encoder fitted on the training labels "
                             "(LabelEncoder().fit(train.labels)), the same for every table")
        if not hasattr(tokenizer, "batch"):  # a function, as torchtext's tokenizers are
            from dlcourse.text.tokenizers import get_tokenizer

            tokenizer = get_tokenizer(tokenizer)
        token_lists = tokenizer.batch(self.texts)
        ids = [vocab.lookup(t[:max_len] if max_len else t) for t in token_lists]
        if self.labels is None:
            return ids
        return list(zip(ids, label_encoder.transform(self.labels)))


def _missing(what: str, col: str, where: str, on_missing: str) -> None:
    if on_missing == "error":
        raise DlcourseError(f"{where}: missing {what} in column {col!r}; fill it, remove the "
                            "row, or skip such rows (--on-missing drop on the command line, "
                            "on_missing='drop' in Python)")


def _no_column(where: str, col: str, columns: Sequence[str], role: str) -> DlcourseError:
    return DlcourseError(f"{where}: no column {col!r} (columns: {', '.join(map(str, columns))}); "
                         f"name the right one with --{role.replace('_', '-')} (or {role}= in "
                         "Python)")


def _check_header(header: Sequence[str], text_col: str, label_col: str | None,
                  where: str) -> None:
    if text_col not in header:
        raise _no_column(where, text_col, header, "text_col")
    if label_col is not None and label_col not in header:
        raise _no_column(where, label_col, header, "label_col")


def _int_labels(labels: list) -> list:
    """Ints when every label is an integer: "0"/"1" in a CSV, or 1.0/0.0 from a pandas column
    that held a missing value."""
    # written as Python writes the int ("7", "-2"): "01" or "+1" stay text, not merged with "1"
    if labels and all(isinstance(y, str) and _INT_RE.fullmatch(y.strip())
                      and str(int(y)) == y.strip() for y in labels):
        return [int(y) for y in labels]
    if labels and all(isinstance(y, float) and y.is_integer() for y in labels):
        return [int(y) for y in labels]
    return labels


def _is_missing(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and v != v:  # NaN from pandas
        return True
    if type(v).__name__ in ("NAType", "NaTType"):  # pandas' missing markers
        return True
    return isinstance(v, str) and not v.strip()


def _file_rows(path: Path, fmt: str, encoding: str):
    """(header-first row iterator, where(i) for messages) of a table file."""
    if not path.exists():
        raise MissingFileError(f"{path}: no such file")
    if path.is_dir():
        raise DlcourseError(f"{path}: is a directory; give the table file")
    if fmt == "parquet":
        return rows_frame(read_parquet(path)), lambda i: f"{path} row {i}"
    text = decode_text(path.read_bytes(), path, encoding)
    if not text.strip():
        raise DlcourseError(f"{path}: empty file; expected a header line naming the columns")
    if fmt == "jsonl":
        rows = rows_jsonl(text, path)
    else:
        # .csv files written by spreadsheets in many locales use ';'; a one-column file ','
        delimiter = "\t" if fmt == "tsv" else choose_delimiter(text[:_SNIFF_CHARS])
        rows = rows_csv(text, path, delimiter)
    return rows, lambda i: f"{path}:{i}"


def load_table(source, text_col: str = "text", label_col: str | None = "label",
               format: str | None = None, encoding: str = "utf-8",
               on_missing: str = "error", limit: int | None = None) -> TextTable:
    """Load a labelled text table.

    The keyword defaults are :class:`~dlcourse.text.config.TableConfig`'s; the command-line
    spellings are ``--text-col``, ``--label-col``, ``--encoding`` and ``--on-missing``.

    Args:
        source: a ``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet`` path (with a header line /
            objects / columns), or a pandas DataFrame. A ``.csv`` may use ``;``, tab or ``|``
            instead of commas (seen in its header and first rows; a one-column file is fine).
        text_col: the column holding the text.
        label_col: the column holding the label, or None for unlabelled text.
        format: ``csv``, ``tsv``, ``jsonl`` or ``parquet``; default from the file suffix.
        encoding: the file's text encoding.
        on_missing: ``"error"`` (default) stops at the first row with an empty text or label,
            naming the file and line; ``"drop"`` skips such rows and logs how many.
        limit: keep only the first ``limit`` rows (None: all).

    Raises:
        DlcourseError: the file is missing, empty, undecodable, lacks a column, or has a bad row;
            the message names the file and line (``reviews.csv:17: missing label ...``).
        ValueError: an unknown ``format`` or ``on_missing``, or a ``limit`` below 1.

    >>> load_table("reviews.csv", text_col="review").label_counts()  # doctest: +SKIP
    {'pos': 5331, 'neg': 5331}
    """
    check_choice("on_missing", on_missing, ON_MISSING)
    if limit is not None and limit < 1:
        raise InputError(f"limit must be >= 1 or None, got {limit}")
    path = None
    if hasattr(source, "to_dict") and hasattr(source, "columns"):  # a pandas DataFrame
        rows, name = rows_frame(source), "DataFrame"

        def where(i):
            return f"DataFrame row {i}"
        first_line = name
    else:
        path = Path(source)
        fmt = table_format(path, format)
        rows, where = _file_rows(path, fmt, encoding)
        name = str(path)
        first_line = name if fmt == "parquet" else f"{name}:1"

    header = next(rows)
    _check_header(header, text_col, label_col, first_line)
    texts, labels = [], []
    dropped = blank = 0
    for i, row in rows:
        if row is None:
            blank += 1
            continue
        text_v = row.get(text_col)
        label_v = row.get(label_col) if label_col is not None else ""
        if _is_missing(text_v) or (label_col is not None and _is_missing(label_v)):
            what = "text" if _is_missing(text_v) else "label"
            _missing(what, text_col if what == "text" else label_col, where(i), on_missing)
            dropped += 1
            continue
        for what, value in (("text", text_v), ("label", label_v)):
            if isinstance(value, list | dict):  # a JSON array or object
                raise InputError(f"{where(i)}: the {what} must be a string or a number, found "
                                 f"a JSON {'array' if isinstance(value, list) else 'object'}")
        texts.append(str(text_v))
        if label_col is not None:
            labels.append(label_v.strip() if isinstance(label_v, str) else label_v)
        if limit is not None and len(texts) >= limit:
            break
    if blank:
        log.info("%s: skipped %d blank lines", name, blank)
    if dropped:
        log.warning("%s: dropped %d %s with a missing text%s", name, dropped,
                    "row" if dropped == 1 else "rows", " or label" if label_col else "")
    if not texts:
        raise DlcourseError(f"{name}: no rows with a text" + (" and a label" if label_col else ""))
    # debug: the commands say how many texts they train or score on, after their checks
    log.debug("%s: %d rows", name, len(texts))
    return TextTable(texts, _int_labels(labels) if label_col is not None else None, path,
                     text_col, label_col, header)


def table_columns(source: str | Path, format: str | None = None,
                  encoding: str = "utf-8") -> list[str]:
    """The column names of a table file, read without its rows (and without pandas or torch
    for a CSV, TSV or JSONL file): the header line, the first object's keys, or a parquet
    file's schema, as :func:`load_table` sees them.

    A delimited file is decoded whole (so a byte its encoding cannot read is refused here too,
    naming its line); only its header is parsed.

    Raises:
        DlcourseError: the file is missing, empty, undecodable or has no readable header.
    """
    path = Path(source)
    fmt = table_format(path, format)
    if fmt == "parquet":
        return _parquet_columns(path)
    rows, _ = _file_rows(path, fmt, encoding)
    return next(rows)


def check_columns(source: str | Path, text_col: str = "text", label_col: str | None = "label",
                  format: str | None = None, encoding: str = "utf-8") -> list[str]:
    """Refuse a table file without ``text_col`` (or ``label_col``) from its header alone, with
    :func:`load_table`'s message (naming the columns it has); returns the columns. Commands
    call it before their heavy imports, so that a mistyped column costs no start-up.

    >>> check_columns("reviews.csv", text_col="review")  # doctest: +SKIP
    ['review', 'label']
    """
    path = Path(source)
    fmt = table_format(path, format)
    header = table_columns(path, fmt, encoding)
    _check_header(header, text_col, label_col, str(path) if fmt == "parquet" else f"{path}:1")
    return header


def _parquet_columns(path: Path) -> list[str]:
    """The DataFrame columns of a parquet file, from its schema (the pandas index columns it
    stores are no columns of the DataFrame)."""
    if not path.exists():
        raise MissingFileError(f"{path}: no such file")
    if path.is_dir():
        raise DlcourseError(f"{path}: is a directory; give the table file")
    try:
        import pyarrow.parquet as pq
    except ImportError:  # read_parquet says what to install (or reads it another way)
        return next(rows_frame(read_parquet(path)))
    try:
        schema = pq.read_schema(path)
        index = (schema.pandas_metadata or {}).get("index_columns", [])
    except Exception as e:  # pyarrow raises its own error types for a damaged file
        raise DlcourseError(f"{path}: not a readable parquet file ({e})") from None
    return [name for name in schema.names if name not in index]
