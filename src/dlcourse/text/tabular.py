"""Labelled text tables (CSV, TSV, JSONL, pandas): loading with line-precise errors, label
encoding, seeded stratified splits and numericalization for PadCollate."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from dlcourse.errors import DlcourseError

__all__ = ["TextTable", "LabelEncoder", "load_table", "iter_lines", "FORMATS"]

log = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".parquet": "parquet"}
_ON_MISSING = ("error", "drop")
_INT_RE = re.compile(r"[+-]?\d+")


class TextTable:
    """Texts with optional labels, remembering where they came from.

    Attributes:
        texts: the text column, ``list[str]``.
        labels: the label column (ints when every label is an integer, else strings), or None.
        path: the source file, or None for a DataFrame or a split.
        columns: every column name of the source (its header), or None.
    """

    def __init__(self, texts: Sequence[str], labels: Sequence | None = None,
                 path: str | Path | None = None, text_col: str = "text",
                 label_col: str | None = "label", columns: Sequence[str] | None = None):
        self.texts = list(texts)
        self.labels = None if labels is None else list(labels)
        if self.labels is not None and len(self.labels) != len(self.texts):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels")
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
        """The rows at ``indices``, in that order."""
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
        """
        token_lists = tokenizer.batch(self.texts)
        ids = [vocab.lookup(t[:max_len] if max_len else t) for t in token_lists]
        if self.labels is None:
            return ids
        enc = label_encoder or LabelEncoder().fit(self.labels)
        return list(zip(ids, enc.transform(self.labels)))


class LabelEncoder:
    """Labels (strings or ints) <-> ids ``0..C-1``, scikit-learn style.

    ``classes_`` is sorted, so the same label set always gets the same ids; save it in a
    checkpoint and rebuild with ``LabelEncoder.from_classes(classes)``.

    >>> enc = LabelEncoder().fit(["pos", "neg", "pos"])
    >>> enc.classes_, enc.transform(["pos", "neg"]), enc.inverse_transform([0])
    (['neg', 'pos'], [1, 0], ['neg'])
    """

    def __init__(self):
        self.classes_: list | None = None

    def fit(self, labels: Iterable) -> LabelEncoder:
        """Learn the classes from ``labels``; returns self."""
        uniq = list(dict.fromkeys(labels))
        if not uniq:
            raise ValueError("LabelEncoder.fit got no labels")
        try:
            self.classes_ = sorted(uniq)
        except TypeError:  # mixed types, e.g. 1 and "1": keep first-seen order
            self.classes_ = uniq
        self._index = {c: i for i, c in enumerate(self.classes_)}
        return self

    @classmethod
    def from_classes(cls, classes: Sequence) -> LabelEncoder:
        """An encoder with exactly these classes, in this order (e.g. from a checkpoint)."""
        enc = cls()
        enc.classes_ = list(classes)
        enc._index = {c: i for i, c in enumerate(enc.classes_)}
        return enc

    def save(self, path: str | Path) -> Path:
        """Write the classes as JSON (atomically): ``{"classes": [...]}``."""
        from dlcourse.engine import write_json

        self._check()
        return write_json(path, {"classes": list(self.classes_)})

    @classmethod
    def load(cls, path: str | Path) -> LabelEncoder:
        """Read an encoder written by :meth:`save`."""
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_classes(d["classes"])
        except FileNotFoundError:
            raise DlcourseError(f"label file {path} not found") from None
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
            raise DlcourseError(f"{path}: not a LabelEncoder JSON file ({e}); write one with "
                                "LabelEncoder.save") from None

    def _check(self) -> None:
        if self.classes_ is None:
            raise DlcourseError("this LabelEncoder is not fitted; call fit(labels) first")

    def __len__(self) -> int:
        self._check()
        return len(self.classes_)

    def transform(self, labels: Iterable) -> list[int]:
        """Ids of ``labels``; a label not seen in ``fit`` is an error naming the classes."""
        self._check()
        out = []
        for y in labels:
            try:
                out.append(self._index[y])
            except (KeyError, TypeError):
                known = ", ".join(map(str, self.classes_[:20]))
                raise DlcourseError(f"unknown label {y!r}; the encoder knows {known}") from None
        return out

    def fit_transform(self, labels: Sequence) -> list[int]:
        """``fit(labels).transform(labels)``."""
        return self.fit(labels).transform(labels)

    def inverse_transform(self, ids: Iterable[int]) -> list:
        """Labels of ``ids`` (a list or tensor)."""
        self._check()
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        out = []
        for i in ids:
            if not isinstance(i, int) or not 0 <= i < len(self.classes_):
                raise ValueError(f"class id {i!r} is outside 0..{len(self.classes_) - 1}")
            out.append(self.classes_[i])
        return out


# -- loading ---------------------------------------------------------------------------------
def iter_lines(path: str | Path, encoding: str = "utf-8", skip_blank: bool = True):
    """Stream a text file's lines (one document a line) without the newline.

    Decoding errors name the file and line; a UTF-8 byte-order mark is dropped.

    >>> sum(1 for _ in iter_lines(path))  # doctest: +SKIP
    """
    path = Path(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise DlcourseError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DlcourseError(f"{path}: is a directory; give a text file") from None
    with f:
        for n, raw in enumerate(f, 1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode(encoding).rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise DlcourseError(
                    f"{path}:{n}: byte 0x{raw[e.start]:02x} cannot be decoded as {encoding}; "
                    "re-save the file as UTF-8 or pass the right encoding (--encoding latin-1)"
                ) from None
            if line.strip() or not skip_blank:
                yield line


def _decode(raw: bytes, path: Path, encoding: str) -> str:
    try:
        return raw.decode("utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8")
                          else encoding)
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DlcourseError(
            f"{path}:{line}: byte 0x{raw[e.start]:02x} cannot be decoded as {encoding}; "
            "re-save the file as UTF-8 or pass the right encoding (--encoding latin-1)"
        ) from None
    except LookupError:
        raise ValueError(f"unknown text encoding {encoding!r}") from None


def _missing(what: str, col: str, where: str, on_missing: str) -> None:
    if on_missing == "error":
        raise DlcourseError(f"{where}: missing {what} in column {col!r}; fill it, remove the "
                            "row, or load with on_missing='drop'")


def _no_column(where: str, col: str, columns: Sequence[str], role: str) -> DlcourseError:
    return DlcourseError(f"{where}: no column {col!r} (columns: {', '.join(map(str, columns))}); "
                         f"pass {role}= the right name (--{role.replace('_', '-')})")


def _int_labels(labels: list) -> list:
    """Ints when every label is an integer: "0"/"1" in a CSV, or 1.0/0.0 from a pandas column
    that held a missing value."""
    if labels and all(isinstance(y, str) and _INT_RE.fullmatch(y.strip()) for y in labels):
        return [int(y) for y in labels]
    if labels and all(isinstance(y, float) and y.is_integer() for y in labels):
        return [int(y) for y in labels]
    return labels


def _rows_csv(text: str, path: Path, delimiter: str):
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        while header is not None and not any(h.strip() for h in header):
            header = next(reader, None)  # blank lines before the header
        if header is None:
            raise DlcourseError(f"{path}: empty file; expected a header line naming the columns")
        header = [h.strip() for h in header]
        yield header
        for row in reader:
            if not row or not any(c.strip() for c in row):
                yield reader.line_num, None
                continue
            if len(row) != len(header):
                raise DlcourseError(
                    f"{path}:{reader.line_num}: {len(row)} fields where the header has "
                    f"{len(header)}; quote fields that contain '{delimiter}'"
                )
            yield reader.line_num, dict(zip(header, row))
    except csv.Error as e:
        kind = "TSV" if delimiter == "\t" else "CSV"
        raise DlcourseError(f"{path}:{reader.line_num}: malformed {kind} ({e})") from None


def _rows_jsonl(text: str, path: Path):
    header = None
    for n, line in enumerate(text.splitlines(), 1):
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


def _rows_frame(df):
    yield [str(c) for c in df.columns]
    for i, row in enumerate(df.to_dict("records")):
        yield i, {str(k): v for k, v in row.items()}


def _read_parquet(path: Path):
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


def _is_missing(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and v != v:  # NaN from pandas
        return True
    if type(v).__name__ in ("NAType", "NaTType"):  # pandas' missing markers
        return True
    return isinstance(v, str) and not v.strip()


def load_table(source, text_col: str = "text", label_col: str | None = "label",
               format: str | None = None, encoding: str = "utf-8",
               on_missing: str = "error") -> TextTable:
    """Load a labelled text table.

    Args:
        source: a ``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet`` path (with a header line /
            objects / columns), or a pandas DataFrame.
        text_col: the column holding the text.
        label_col: the column holding the label, or None for unlabelled text.
        format: ``csv``, ``tsv``, ``jsonl`` or ``parquet``; default from the file suffix.
        encoding: the file's text encoding.
        on_missing: ``"error"`` (default) stops at the first row with an empty text or label,
            naming the file and line; ``"drop"`` skips such rows and logs how many.

    Raises:
        DlcourseError: the file is missing, empty, undecodable, lacks a column, or has a bad row;
            the message names the file and line (``reviews.csv:17: missing label ...``).
    """
    if on_missing not in _ON_MISSING:
        raise ValueError(f"unknown on_missing {on_missing!r}; choose one of "
                         f"{', '.join(_ON_MISSING)}")
    path = None
    if hasattr(source, "to_dict") and hasattr(source, "columns"):  # a pandas DataFrame
        rows = _rows_frame(source)
        name = "DataFrame"

        def where(i):
            return f"DataFrame row {i}"
    else:
        path = Path(source)
        fmt = format or FORMATS.get(path.suffix.lower())
        if fmt not in FORMATS.values():
            raise ValueError(f"cannot tell the format of {path}; use a .csv, .tsv, .jsonl or "
                             ".parquet file or pass format='csv'|'tsv'|'jsonl'|'parquet'")
        if not path.exists():
            raise DlcourseError(f"{path}: no such file")
        if path.is_dir():
            raise DlcourseError(f"{path}: is a directory; give the table file")
        name = str(path)
        if fmt == "parquet":
            rows = _rows_frame(_read_parquet(path))

            def where(i):
                return f"{path} row {i}"
        else:
            text = _decode(path.read_bytes(), path, encoding)
            if not text.strip():
                raise DlcourseError(f"{path}: empty file; expected a header line naming the "
                                    "columns")
            rows = _rows_jsonl(text, path) if fmt == "jsonl" else \
                _rows_csv(text, path, "\t" if fmt == "tsv" else ",")

            def where(i):
                return f"{path}:{i}"

    header = next(rows)
    first_line = f"{name}:1" if path is not None and fmt != "parquet" else name
    if text_col not in header:
        raise _no_column(first_line, text_col, header, "text_col")
    if label_col is not None and label_col not in header:
        raise _no_column(first_line, label_col, header, "label_col")
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
        texts.append(str(text_v))
        if label_col is not None:
            labels.append(label_v.strip() if isinstance(label_v, str) else label_v)
    if blank:
        log.info("%s: skipped %d blank lines", name, blank)
    if dropped:
        log.warning("%s: dropped %d rows with a missing text or label", name, dropped)
    if not texts:
        raise DlcourseError(f"{name}: no rows with a text" + (" and a label" if label_col else ""))
    log.info("%s: %d rows", name, len(texts))
    return TextTable(texts, _int_labels(labels) if label_col is not None else None, path,
                     text_col, label_col, header)
