"""Labels (strings or ints) <-> class ids, scikit-learn style, saved as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from dlcourse.errors import DlcourseError, InputError

__all__ = ["LabelEncoder"]


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
            raise InputError("LabelEncoder.fit got no labels")
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
        except IsADirectoryError:
            raise DlcourseError(f"label file {path} is a directory; give the JSON file written "
                                "by LabelEncoder.save") from None
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
                raise InputError(f"class id {i!r} is outside 0..{len(self.classes_) - 1}")
            out.append(self.classes_[i])
        return out
