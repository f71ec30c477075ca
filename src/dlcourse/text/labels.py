"""Labels (strings or ints) <-> class ids, scikit-learn style, saved as JSON."""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Sequence
from pathlib import Path

from dlcourse.errors import InputError, MissingFileError, NotFittedError, article

__all__ = ["LabelEncoder"]


def plain(value):
    """numpy scalars -> python values (``np.int64(1)`` -> ``1``), so classes stay plain (JSON
    in the label file); anything else is returned as it is. numpy is not imported for this."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def few(values: Sequence, most: int = 5) -> str:
    """Up to ``most`` values, strings quoted (``'pos', 1``), then "and N more": a list an
    error message can hold on one line."""
    more = f" and {len(values) - most} more" if len(values) > most else ""
    return ", ".join(repr(plain(v)) for v in values[:most]) + more


def refuse_table(values, what: str, items: str = "strings") -> None:
    """Refuse a table (a pandas or polars DataFrame: anything with ``columns``) where one
    column goes: iterating it gives its column names, so ``df[["text"]]`` read as one text.

    Raises:
        InputError: naming the column to pass (pandas is not imported to recognise it).
    """
    columns = getattr(values, "columns", None)
    if columns is None:
        return
    names, kind = list(columns), type(values).__name__
    pick = (f"pass one column of it, e.g. df[{names[0]!r}]" if names
            else "pass one column of strings")
    raise InputError(f"{what} must be a sequence of {items}, got {article(kind)} {kind} with "
                     f"the columns {few(names) or 'none'}; {pick}")


def check_labels(items: list) -> list:
    """``items`` (plain labels), once each is one string or number, none is missing and they
    are all strings or all numbers (bools count as numbers).

    Raises:
        InputError: the first missing label (None or NaN) or one that is not a string or a
            number (a tuple, list, dict, array), named by its position; or numbers and
            strings mixed (0 and "0" would be two classes that print alike; scikit-learn
            refuses them too), the first of each kind named.
    """
    first = None  # (position, label) of the first label, whose kind all others must share
    for i, label in enumerate(items):
        if label is None or (isinstance(label, float) and label != label):  # NaN != NaN
            raise InputError(f"label {i} is missing ({label!r}); drop or fill the rows "
                             "without a label")
        # classes are saved as JSON, which reads a tuple back as a list (unhashable) and
        # cannot write the rest: such a label would break the model or encoder after load
        if not isinstance(label, str | int | float):
            raise InputError(f"label {i} is {type(label).__name__} {label!r}; a label must be "
                             "one string or number, not a tuple, list, dict or array (join "
                             "its parts into one string)")
        if first is None:
            first = (i, label)
        elif isinstance(label, str) != isinstance(first[1], str):
            (j, a), (k, b) = first, (i, label)
            raise InputError(f"labels mix numbers and strings (label {j} is {a!r}, label {k} "
                             f"is {b!r}); give one kind, all numbers or all strings")
    return items


def as_id(value, size: int, what: str = "id", bounds: str | None = None) -> int:
    """``value`` as an id in ``0..size-1``: any integer-like (``int``, ``np.int64``, a one-element
    integer tensor; ``operator.index``) is accepted.

    Raises:
        InputError: ``value`` is not an integer (the message names its type), or it is out of
            range (``bounds`` ends that message, "outside 0..size-1" by default).
    """
    try:
        i = operator.index(value)
    except TypeError:
        value = plain(value)  # np.float64(1.5) is named "float 1.5"
        raise InputError(f"{what} {value!r} is {type(value).__name__}, not an integer; pass "
                         "integer ids") from None
    if not 0 <= i < size:  # -1 would silently read the last entry
        raise InputError(f"{what} {i} is {bounds or f'outside 0..{size - 1}'}")
    return i


def _label_list(labels, where: str) -> list:
    """``labels`` as a list of plain values; one string or None is refused (its characters
    would be taken for labels)."""
    if labels is None or isinstance(labels, str):
        got = "None" if labels is None else f"one string {labels!r}"
        raise InputError(f"{where} takes a list of labels, got {got}; pass [label]")
    return [plain(y) for y in labels]


class LabelEncoder:
    """Labels (strings or ints) <-> ids ``0..C-1``, scikit-learn style.

    ``classes_`` is sorted, so the same label set always gets the same ids; save it in a
    checkpoint and rebuild with ``LabelEncoder.from_classes(classes)``. numpy labels are stored
    as plain Python values (``np.int64(1)`` -> ``1``).

    >>> enc = LabelEncoder().fit(["pos", "neg", "pos"])
    >>> enc.classes_, enc.transform(["pos", "neg"]), enc.inverse_transform([0])
    (['neg', 'pos'], [1, 0], ['neg'])
    """

    def __init__(self):
        self.classes_: list | None = None

    def fit(self, labels: Iterable) -> LabelEncoder:
        """Learn the classes from ``labels`` (a list, array, Series...); returns self.

        Args:
            labels: the training labels, all strings or all numbers; classes_ is their
                sorted set.

        Raises:
            InputError: no labels, a missing one (None or NaN), one that is no string or
                number, numbers mixed with strings (see :func:`check_labels`), or one string /
                None instead of a list.
        """
        uniq = list(dict.fromkeys(check_labels(_label_list(labels, "LabelEncoder.fit"))))
        if not uniq:
            raise InputError("LabelEncoder.fit got no labels")
        self.classes_ = sorted(uniq)  # all strings or all numbers (check_labels): comparable
        self._index = {c: i for i, c in enumerate(self.classes_)}
        return self

    @classmethod
    def from_classes(cls, classes: Sequence) -> LabelEncoder:
        """An encoder with exactly these classes, in this order (e.g. from a checkpoint).

        Args:
            classes: the class labels, in id order (``classes[i]`` gets id i); not sorted.

        Raises:
            InputError: a repeated class, or labels :meth:`fit` refuses.
        """
        enc = cls()
        enc.classes_ = _label_list(classes, "LabelEncoder.from_classes")
        enc._index = {c: i for i, c in enumerate(enc.classes_)}
        if len(enc._index) != len(enc.classes_):  # two ids for one class: decoding is ambiguous
            raise InputError(f"classes must be distinct; {len(enc.classes_) - len(enc._index)} "
                             "repeat(s) among them")
        return enc

    def save(self, path: str | Path) -> Path:
        """Write the classes as JSON (atomically): ``{"classes": [...]}``.

        Args:
            path: the JSON file to write; missing parent folders are created.

        Returns:
            the path written.

        Raises:
            NotFittedError: before ``fit``.
        """
        from dlcourse.engine import write_json

        self._check()
        return write_json(path, {"classes": list(self.classes_)})

    @classmethod
    def load(cls, path: str | Path) -> LabelEncoder:
        """Read an encoder written by :meth:`save`.

        Args:
            path: the JSON file.

        Raises:
            MissingFileError: ``path`` is not there or is a folder.
            InputError: the file is not a LabelEncoder JSON file.
        """
        path = Path(path)
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(d["classes"], list):
                raise TypeError("'classes' is not a list")
            return cls.from_classes(d["classes"])
        except FileNotFoundError:
            raise MissingFileError(f"label file {path} not found") from None
        except IsADirectoryError:
            raise MissingFileError(f"label file {path} is a directory; give the JSON file "
                                   "written by LabelEncoder.save") from None
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
            raise InputError(f"{path}: not a LabelEncoder JSON file ({e}); write one with "
                             "LabelEncoder.save") from None

    def _check(self) -> None:
        if self.classes_ is None:
            raise NotFittedError("this LabelEncoder is not fitted; call fit(labels) first")

    def __len__(self) -> int:
        self._check()
        return len(self.classes_)

    def transform(self, labels: Iterable) -> list[int]:
        """Ids of ``labels``.

        Args:
            labels: labels seen by ``fit`` (a list, array, Series...).

        Raises:
            NotFittedError: before ``fit``.
            InputError: a label not seen in ``fit`` (the message names the classes), or one
                string instead of a list.
        """
        self._check()
        out = []
        for y in _label_list(labels, "LabelEncoder.transform"):
            try:
                out.append(self._index[y])
            except (KeyError, TypeError):
                known = ", ".join(map(str, self.classes_[:20]))
                raise InputError(f"unknown label {y!r}; the encoder knows {known}") from None
        return out

    def fit_transform(self, labels: Sequence) -> list[int]:
        """``fit(labels).transform(labels)``.

        Args:
            labels: as for :meth:`fit`; an iterator is read once.
        """
        labels = _label_list(labels, "LabelEncoder.fit_transform")  # a generator is read once
        return self.fit(labels).transform(labels)

    def inverse_transform(self, ids: Iterable[int]) -> list:
        """Labels of ``ids`` (a list, array or tensor of integers, numpy's included).

        Args:
            ids: class ids in ``0..C-1`` (1-D).

        Raises:
            NotFittedError: before ``fit``.
            InputError: an id that is not an integer (its type is named) or is out of range.
        """
        self._check()
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        n = len(self.classes_)
        return [self.classes_[as_id(i, n, "class id")] for i in ids]
