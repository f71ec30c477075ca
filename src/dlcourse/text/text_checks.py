"""What a tokenizer takes as text: one plain string, or a list of them for a batch; None, NaN
(a pandas column with missing texts) and other values are refused, naming the item."""

from __future__ import annotations

from dlcourse.errors import InputError
from dlcourse.text.labels import plain

__all__ = ["check_text", "check_texts"]


def _bad_text(text, where: str) -> InputError:
    """The error for a text that is not a string: its type and value, and what to do."""
    missing = text is None or (isinstance(text, float) and text != text)  # None, NaN
    fix = "drop or fill the missing texts" if missing else "pass str texts"
    return InputError(f"{where} {type(text).__name__} {text!r}; {fix}")


def _short(text: str, most: int = 30) -> str:
    """``text`` quoted, cut to ``most`` characters for a one-line message."""
    return repr(text if len(text) <= most else text[:most] + "...")


def check_text(text, where: str = "a tokenizer takes one string, but got") -> str:
    """``text`` as a plain ``str`` (a ``np.str_`` is converted: spaCy takes only ``str``).

    Raises:
        InputError: ``text`` is not a string, e.g. None or NaN from a pandas column.
    """
    if type(text) is str:
        return text
    if isinstance(text, str):
        return str(text)
    raise _bad_text(plain(text), where)


def check_texts(texts, where: str = "batch", start: int = 0) -> list[str]:
    """``texts`` (a list, tuple, array, pandas Series or generator of strings) as a list of
    plain strings; items are numbered from ``start`` in messages.

    Raises:
        InputError: ``texts`` is one string or None, or an item is not a string (the first is
            named with its position, e.g. "item 1 is float nan").
    """
    if texts is None or isinstance(texts, str):
        got = "None" if texts is None else f"one string {_short(texts)}"
        raise InputError(f"{where} takes a list of texts, got {got}; pass [text] (or call the "
                         "tokenizer on one text)")
    items = list(texts)
    for i, text in enumerate(items):
        if type(text) is not str:
            items[i] = check_text(text, f"texts must be strings, but item {start + i} is")
    return items
