"""The Report object the tour's chapters fill: sections, Markdown text, tables, figures and the
commands that reproduce them; :meth:`Report.write` turns them into report.md and report.html."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import textwrap
from pathlib import Path

from dlcourse.engine.files import atomic_path, atomic_write
from dlcourse.report.cells import format_cell
from dlcourse.report.render import to_html, to_markdown


class Report:
    """Collects blocks; :meth:`write` saves ``report.md`` and ``report.html`` into ``out_dir``.

    Every figure and link in the written files is relative to ``out_dir`` itself, whatever the
    working directory and whether ``out_dir`` is relative or absolute, so the folder can be
    moved, zipped and opened anywhere. ``blocks`` holds ``(kind, value)`` pairs: ``("section",
    title)``, ``("text", markdown)``, ``("table", (columns, cells))`` with formatted cell
    strings, ``("image", (path relative to out_dir, caption))`` and ``("commands", (command
    lines, python code or None))``.

    Args:
        out_dir: the run folder; a relative path is taken from the working directory now.
        title: the page title (``# title``).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as run:
        ...     r = Report(run, "Tour")
        ...     r.section("SOM"); r.table([{"map": "20x20", "QE": 0.41, "samples/s": 12345.6}])
        ...     r.commands(["dlcourse tour --only som"], python="from dlcourse.som import SOM")
        ...     r.write().name
        'report.html'
        >>> r.blocks[1]
        ('table', (['map', 'QE', 'samples/s'], [['20x20', '0.41', '12,346']]))
    """

    def __init__(self, out_dir: str | os.PathLike, title: str):
        self.out_dir = Path(out_dir)
        self.title = title
        self.blocks: list[tuple[str, object]] = []
        # fixed now, so that a later chdir cannot change where the report or its figures are
        self._root = Path(os.path.abspath(self.out_dir))

    def section(self, title: str) -> None:
        """Start a section (``## title``); it gets an anchor and a line in the contents.

        Args:
            title: the heading text; its anchor is made from it (see ``slugify``).
        """
        self.blocks.append(("section", title))

    def text(self, markdown: str) -> None:
        """Add Markdown text (CommonMark + tables); HTML in it is shown as text, not markup.

        Args:
            markdown: the text; common indentation (a triple-quoted block) and surrounding
                blank lines are removed.
        """
        self.blocks.append(("text", textwrap.dedent(markdown).strip()))

    def table(
        self, rows: list[dict], columns: list[str] | None = None, floatfmt: str = ".4g"
    ) -> None:
        """Add a table of ``rows`` (dicts); nothing when ``rows`` is empty.

        Args:
            rows: one dict per row; a missing key is an empty cell.
            columns: column order (default: keys in order of first appearance).
            floatfmt: format for floats, see :func:`dlcourse.report.cells.format_cell`
                (``.4g``: 4 significant digits, fixed notation for ordinary magnitudes).
        """
        if not rows:
            return
        columns = columns or list(dict.fromkeys(k for row in rows for k in row))
        cells = [[format_cell(row.get(c), floatfmt) for c in columns] for row in rows]
        self.blocks.append(("table", (columns, cells)))

    def image(self, path: str | os.PathLike, caption: str = "") -> None:
        """Add a figure (PNG, SVG ...) with a caption (inline Markdown).

        Args:
            path: the file, absolute or relative to the working directory (as chapters build
                it from their ``out_dir``), or relative to the report's folder. A file outside
                the report's folder is copied into ``out_dir/figures/``.
            caption: shown under the figure and used as its alt text.

        Raises:
            FileNotFoundError: the file does not exist (save the figure first).
        """
        rel = self._inside(self._locate(Path(path)))
        self.blocks.append(("image", (rel.as_posix(), caption)))

    def commands(self, cli: list[str], python: str | None = None) -> None:
        """End a chapter with the commands that reproduce its numbers, shown as code blocks.

        Args:
            cli: shell command lines, one string each (``dlcourse som train ...``).
            python: Python code doing the same through the library (dedented), or None.

        Raises:
            TypeError: ``cli`` is a single string instead of a list of lines.
            ValueError: neither a command line nor Python code was given.

        Example:
            >>> report.commands(["dlcourse tour --only som"],              # doctest: +SKIP
            ...                 python="from dlcourse.som import SOM")
        """
        if isinstance(cli, str):
            raise TypeError("commands(cli=...) takes a list of command lines, not one string")
        lines = [str(line).strip() for line in cli if str(line).strip()]
        code = textwrap.dedent(python).strip() if python else None
        if not lines and not code:
            raise ValueError("commands() needs at least one command line or Python code")
        self.blocks.append(("commands", (lines, code)))

    def markdown(self) -> str:
        """The report as Markdown (what report.md holds)."""
        return to_markdown(self.title, self.blocks)

    def html(self) -> str:
        """The report as one HTML page (what report.html holds)."""
        return to_html(self.title, self.blocks)

    def write(self) -> Path:
        """Write report.md and report.html into ``out_dir`` atomically; return the HTML's path."""
        self._root.mkdir(parents=True, exist_ok=True)
        with atomic_write(self._root / "report.md") as handle:
            handle.write(self.markdown())
        with atomic_write(self._root / "report.html") as handle:
            handle.write(self.html())
        return self._root / "report.html"

    def _locate(self, path: Path) -> Path:
        """The absolute path of a figure given from the working directory or the report."""
        candidates = [path] if path.is_absolute() else [Path.cwd() / path, self._root / path]
        for candidate in candidates:
            if candidate.is_file():
                return Path(os.path.abspath(candidate))
        raise FileNotFoundError(f"report figure {path} does not exist; save it before "
                                "adding it with Report.image")

    def _inside(self, path: Path) -> Path:
        """``path`` relative to the report's folder, copying it in when it lies outside."""
        for root, target in ((self._root, path), (self._root.resolve(), path.resolve())):
            if target.is_relative_to(root):
                return target.relative_to(root)
        dest = self._root / "figures" / path.name
        n = 1
        while dest.exists() and not _same_bytes(dest, path):
            dest = dest.with_name(f"{path.stem}-{n}{path.suffix}")
            n += 1
        with atomic_path(dest) as tmp:
            shutil.copyfile(path, tmp)
        return dest.relative_to(self._root)


def _same_bytes(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def shell_quote(text: str) -> str:
    r"""``text`` as one shell word for a command readers copy: bare when safe, in double quotes
    when it holds none of ``"$`\!``, else in POSIX single quotes (:func:`shlex.quote`).

    Example:
        >>> print(shell_quote("runs/som"), shell_quote("it's fine"), shell_quote('say "hi"'))
        runs/som "it's fine" 'say "hi"'

    Args:
        text: one argument of a command line (a path, a word, a phrase).
    """
    if re.fullmatch(r"[\w@%+=:,./-]+", text):
        return text
    if not re.search(r'["$`\\!]', text):
        return f'"{text}"'
    return shlex.quote(text)
