"""A run report: Markdown and a self-contained-looking HTML page with tables and PNG figures."""

from __future__ import annotations

import html
import os
from pathlib import Path

from dlcourse.engine.checkpoint import atomic_write


def _fmt(value, floatfmt: str) -> str:
    if isinstance(value, float):
        return format(value, floatfmt)
    return "" if value is None else str(value)


class Report:
    """Collects sections, text, tables and images; :meth:`write` saves report.md and report.html.

    >>> r = Report(tmp_path, "Tour")              # doctest: +SKIP
    >>> r.section("SOM"); r.table([{"map": "20x20", "QE": 0.41}]); r.write()
    """

    def __init__(self, out_dir: str | os.PathLike, title: str):
        self.out_dir = Path(out_dir)
        self.title = title
        self.blocks: list[tuple[str, object]] = []

    def section(self, title: str) -> None:
        self.blocks.append(("section", title))

    def text(self, markdown: str) -> None:
        self.blocks.append(("text", markdown.strip()))

    def table(
        self, rows: list[dict], columns: list[str] | None = None, floatfmt: str = ".4g"
    ) -> None:
        if not rows:
            return
        columns = columns or list(dict.fromkeys(k for row in rows for k in row))
        cells = [[_fmt(row.get(c), floatfmt) for c in columns] for row in rows]
        self.blocks.append(("table", (columns, cells)))

    def image(self, path: str | os.PathLike, caption: str = "") -> None:
        path = Path(path)
        rel = os.path.relpath(path, self.out_dir) if path.is_absolute() else str(path)
        self.blocks.append(("image", (rel, caption)))

    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, value in self.blocks:
            if kind == "section":
                out += [f"## {value}", ""]
            elif kind == "text":
                out += [value, ""]
            elif kind == "table":
                columns, cells = value
                out.append("| " + " | ".join(columns) + " |")
                out.append("|" + "---|" * len(columns))
                out += [
                    "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells
                ]
                out.append("")
            else:
                rel, caption = value
                out += [f"![{caption}]({rel})", f"*{caption}*" if caption else "", ""]
        return "\n".join(out)

    def html(self) -> str:
        parts = [f"<h1>{html.escape(self.title)}</h1>"]
        for kind, value in self.blocks:
            if kind == "section":
                parts.append(f"<h2>{html.escape(value)}</h2>")
            elif kind == "text":
                paragraphs = [p for p in value.split("\n\n") if p.strip()]
                parts += [
                    f"<p>{html.escape(p)}</p>"
                    if not p.startswith("    ") and "```" not in p
                    else f"<pre>{html.escape(p.strip('`'))}</pre>"
                    for p in paragraphs
                ]
            elif kind == "table":
                columns, cells = value
                head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
                body = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                    for row in cells
                )
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            else:
                rel, caption = value
                parts.append(
                    f'<figure><img src="{html.escape(rel)}" alt="{html.escape(caption)}">'
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                )
        style = (
            "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
            "padding:3px 8px;text-align:right}img{max-width:100%}pre{background:#f4f4f4;"
            "padding:.5em;white-space:pre-wrap}"
        )
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}"
            f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
        )

    def write(self) -> Path:
        """Write report.md and report.html into ``out_dir`` (atomically); return the HTML path."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.out_dir / "report.md") as handle:
            handle.write(self.markdown())
        with atomic_write(self.out_dir / "report.html") as handle:
            handle.write(self.html())
        return self.out_dir / "report.html"
