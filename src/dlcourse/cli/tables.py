"""Plain-text tables on stdout: what the verbs print (text left-aligned, numbers right-aligned,
aligned on a terminal for wide characters too)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click


def format_value(value: Any, floatfmt: str = ".4g", grouped: bool = False) -> str:
    """A table cell: floats with ``floatfmt``; numbers from 10,000 with thousands separators,
    and from 1,000 with ``grouped`` (a column that holds larger ones: 9,070 under 82,381)."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= (1_000 if grouped else 10_000) else str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        if abs(value) >= 10_000 or (grouped and abs(value) >= 1_000):
            return f"{value:,.0f}"
        return format(value, floatfmt)
    return str(value)


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide (CJK, most emoji) characters two, combining
    marks none."""
    import unicodedata

    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def echo_table(rows: Sequence[dict], columns: Sequence[str] | None = None,
               floatfmt: str = ".4g") -> None:
    """Print rows of dicts as a plain-text table: text left-aligned, numbers right-aligned."""
    if not rows:
        click.echo("(nothing)")
        return
    columns = list(columns or dict.fromkeys(k for row in rows for k in row))
    numeric = [all(isinstance(row.get(c), int | float) and not isinstance(row.get(c), bool)
                   for row in rows if row.get(c) is not None) for c in columns]
    # one style of digits a column: separators throughout where any number needs them
    grouped = [num and any(abs(row[c]) >= 10_000 for row in rows if row.get(c) is not None)
               for c, num in zip(columns, numeric)]
    # a text's line breaks and tabs would break the table: spaces here (a CSV keeps them)
    cells = [[" ".join(format_value(row.get(c), floatfmt, group).split("\n")).replace("\t", " ")
              for c, group in zip(columns, grouped)] for row in rows]
    widths = [max(display_width(c), *(display_width(r[i]) for r in cells))
              for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        pads = (" " * (w - display_width(v)) for v, w in zip(values, widths))
        return "  ".join((pad + v if num else v + pad)
                         for v, pad, num in zip(values, pads, numeric)).rstrip()

    click.echo(line(columns))
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo(line(row))


def write_rows(path, rows: Sequence[dict]) -> None:
    """Write ``rows`` (dicts with the same keys) to ``path`` atomically, a header first:
    tab-separated for a ``.tsv`` name, else comma-separated (CSV quoting either way)."""
    import csv
    from pathlib import Path

    from dlcourse.engine.files import atomic_write

    tab = Path(path).suffix.lower() == ".tsv"
    with atomic_write(path, "w") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t" if tab else ",")
        writer.writeheader()
        writer.writerows(rows)
