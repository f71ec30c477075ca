"""Table cells: numbers as people read them, and which columns are numbers (right-aligned) or
text (left-aligned)."""

from __future__ import annotations

import math
import numbers
import re

# cells that say "no value" and so do not decide a column's alignment
PLACEHOLDERS = frozenset({"", "-", "–", "—", "n/a", "nan", "None"})
# what format_cell writes for a number, plus "3/6" (best epoch / epochs) and percentages
_NUMBER = re.compile(
    r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?%?(?:/\d+)?|[-+]?inf"
)
_FLOATFMT = re.compile(r",?(?:\.(?P<digits>\d+))?(?P<kind>[eEfFgG%])?")
# below this or from this magnitude on, a 'g' format falls back to scientific notation
_SMALL, _LARGE = 1e-4, 1e15


def format_cell(value, floatfmt: str = ".4g") -> str:
    """The text of one table cell.

    Integers get thousands separators; floats follow ``floatfmt``: a ``g`` format (the default
    ``.4g``) means at most that many significant digits in fixed notation (``586,512``,
    ``12.35``, ``0.4123``, ``0.5``), scientific only below 1e-4 or from 1e15; an ``f``/``e``/``%``
    format is used as given, with thousands separators. ``None`` is an empty cell; anything
    else is ``str``.

    Args:
        value: the cell's value (int, float, numpy scalar, str, None ...).
        floatfmt: a format spec for floats such as ``".4g"``, ``".3f"`` or ``".1%"``.

    Returns:
        The formatted text.

    Example:
        >>> format_cell(586512.25), format_cell(0.412345), format_cell(1234567)
        ('586,512', '0.4123', '1,234,567')
    """
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    spec = _FLOATFMT.fullmatch(floatfmt)
    if spec is None:
        return format(v, floatfmt)
    kind = (spec["kind"] or "g").lower()
    if kind == "g":
        return _significant(v, int(spec["digits"] or 6))
    return format(v, floatfmt if floatfmt.startswith(",") else "," + floatfmt)


def _significant(v: float, digits: int) -> str:
    """At most ``digits`` significant digits in fixed notation, whole numbers in full for large
    magnitudes; trailing zeros dropped as ``g`` does (``2.0`` -> ``2``), so a value a chapter
    rounded is not shown with digits it does not have."""
    digits = max(digits, 1)
    if v == 0:
        return "0"
    if not _SMALL <= abs(v) < _LARGE:
        return format(v, f".{digits}g")
    magnitude = math.floor(math.log10(abs(v)))
    decimals = max(digits - 1 - magnitude, 0)  # 586512.25 -> 0 decimals, 0.41234 -> 4
    text = f"{v:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def is_number(text: str) -> bool:
    """Whether a formatted cell reads as a number (``1,234``, ``0.41``, ``12%``, ``3/6``)."""
    return _NUMBER.fullmatch(text.strip()) is not None


def column_alignments(columns: list[str], cells: list[list[str]]) -> list[str]:
    """``"right"`` for columns of numbers (placeholders such as ``-`` allowed), else ``"left"``.

    Example:
        >>> column_alignments(["model", "ppl"], [["bigram", "129.4"], ["LSTM", "-"]])
        ['left', 'right']
    """
    aligns = []
    for j in range(len(columns)):
        values = [row[j].strip() for row in cells if row[j].strip() not in PLACEHOLDERS]
        aligns.append("right" if values and all(map(is_number, values)) else "left")
    return aligns
