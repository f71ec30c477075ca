"""A report's blocks as Markdown (report.md) and as one HTML page (report.html): text through
markdown-it-py, the page through a Jinja2 template with every path relative to the report."""

from __future__ import annotations

import html
import re
from functools import cache
from importlib import resources
from urllib.parse import quote

from dlcourse.report.cells import column_alignments

COMMANDS_HEADING = "Reproduce these numbers"


def slugify(title: str, taken: set[str]) -> str:
    """A GitHub-style anchor for a heading (``Word embeddings: GloVe`` -> ``word-embeddings-
    glove``), made unique against ``taken`` (``-1``, ``-2`` ...) and added to it."""
    base = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-") or "section"
    slug, n = base, 0
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    taken.add(slug)
    return slug


def _split(blocks) -> tuple[list, list[dict]]:
    """Blocks before the first section, and the sections with an anchor and their blocks."""
    intro: list = []
    sections: list[dict] = []
    taken = {"contents"}
    current = intro
    for kind, value in blocks:
        if kind == "section":
            sections.append({"id": slugify(value, taken), "title": value, "blocks": []})
            current = sections[-1]["blocks"]
        else:
            current.append((kind, value))
    return intro, sections


def to_markdown(title: str, blocks) -> str:
    """The report as Markdown: GitHub tables with alignment, figures as relative links."""
    intro, sections = _split(blocks)
    out = [f"# {title}", ""]
    for kind, value in intro:
        out += _markdown_block(kind, value)
    if sections:
        out += ["## Contents", ""]
        out += [f"- [{s['title']}](#{s['id']})" for s in sections] + [""]
    for s in sections:
        out += [f"## {s['title']}", ""]
        for kind, value in s["blocks"]:
            out += _markdown_block(kind, value)
    return "\n".join(out)


def _markdown_block(kind: str, value) -> list[str]:
    if kind == "text":
        return [value, ""]
    if kind == "table":
        columns, cells = value
        rule = {"left": ":---", "right": "---:"}
        aligns = column_alignments(columns, cells)
        return ["| " + " | ".join(_md_cell(c) for c in columns) + " |",
                "|" + "|".join(rule[a] for a in aligns) + "|",
                *("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in cells), ""]
    if kind == "image":
        rel, caption = value
        alt = caption.replace("[", "\\[").replace("]", "\\]")
        # the caption again as a line of its own: the alt text is not shown where images load
        return [f"![{alt}]({quote(rel)})", "", *([caption, ""] if caption else [])]
    if kind == "commands":
        lines, python = value
        out = [f"**{COMMANDS_HEADING}**", ""]
        if lines:
            out += ["```bash", *lines, "```", ""]
        if python:
            out += ["```python", python, "```", ""]
        return out
    raise ValueError(f"unknown report block {kind!r}")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


@cache
def _markdown_it():
    from markdown_it import MarkdownIt

    # CommonMark plus GitHub tables; html=False shows any HTML in the text as text
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


@cache
def _template():
    import jinja2

    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    source = resources.files("dlcourse.report").joinpath("templates", "report.html.j2")
    return env.from_string(source.read_text(encoding="utf-8"))


def to_html(title: str, blocks) -> str:
    """The report as one HTML page: contents, sections, aligned tables, figures, commands."""
    from markupsafe import Markup

    from dlcourse import __version__

    md = _markdown_it()

    def item(kind: str, value) -> dict:
        if kind == "text":
            return {"kind": kind, "html": Markup(md.render(value))}
        if kind == "table":
            columns, cells = value
            return {"kind": kind, "columns": columns, "rows": cells,
                    "aligns": column_alignments(columns, cells)}
        if kind == "image":
            rel, caption = value
            inline = md.renderInline(caption)
            return {"kind": kind, "src": quote(rel), "caption": Markup(inline),
                    "alt": html.unescape(re.sub(r"<[^>]*>", "", inline))}  # markers dropped
        if kind == "commands":
            lines, python = value
            return {"kind": kind, "cli": "\n".join(lines), "python": python or ""}
        raise ValueError(f"unknown report block {kind!r}")

    intro, sections = _split(blocks)
    return _template().render(
        title=title,
        version=__version__,
        commands_heading=COMMANDS_HEADING,
        intro=[item(k, v) for k, v in intro],
        sections=[{**s, "content": [item(k, v) for k, v in s["blocks"]]} for s in sections],
    )
