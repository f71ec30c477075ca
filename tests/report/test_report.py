"""The report as a browser sees it: paths relative to its own folder from any working
directory, Markdown rendered, numbers readable and right-aligned, user HTML escaped."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dlcourse.report import Report, shell_quote
from dlcourse.report.cells import column_alignments, format_cell
from dlcourse.report.check import missing_targets

MARKDOWN_MARKERS = re.compile(r"\*\*|`|(?<![\w/])_[^_\s][^_]*_(?!\w)")


class Page(HTMLParser):
    """Tags with their attributes, table cells with their class, and the visible text outside
    code blocks (where Markdown markers would mean the Markdown was not rendered)."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.cells: list[tuple[str, str]] = []  # (class, text) of td/th
        self.text: list[str] = []
        self._stack: list[str] = []
        self._cell: list | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("td", "th"):
            self._cell = [dict(attrs).get("class", ""), ""]
        if tag not in ("img", "meta", "link", "br"):
            self._stack.append(tag)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append((self._cell[0], self._cell[1].strip()))
            self._cell = None
        if tag in self._stack:
            del self._stack[len(self._stack) - 1 - self._stack[::-1].index(tag):]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data
        if not {"pre", "code", "style", "script", "title"} & set(self._stack):
            self.text.append(data)


def _png(path: Path, seed: int) -> Path:
    """A real PNG (a small random image) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _tour_like_report(tmp_path: Path, monkeypatch) -> tuple[Report, Path]:
    """A report written the way `make demo` writes one: run folder relative to the working
    directory, figures saved by chapters under it, plus one figure from outside the folder."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    out = Path("runs/tour-1")  # relative, as the tour's default runs/tour-<date>-<time>
    report = Report(out, "dlcourse tour")
    report.text("Every lesson, **run end to end**; figures are _beside_ this file.")
    report.section("Self-organizing maps: digits")
    report.text("The rule `w += lr h (x - w)` with <script>alert('x')</script> and a < b.")
    report.table([
        {"method": "dlcourse batch (cpu)", "samples/s": 586512.25, "QE": 18.515390982,
         "words": 1460000, "epochs": "3/6", "note": None},
        {"method": "MiniSom 2.3", "samples/s": 7488.0, "QE": 19.8073, "words": 12,
         "epochs": "-", "note": "the peer"},
    ])
    report.image(_png(out / "som" / "umatrix.png", 0), "U-matrix: **dark** cells separate")
    report.image(_png(out / "som" / "hit map.png", 1), "Hits per unit")
    report.image(_png(tmp_path / "elsewhere" / "extra.png", 2), "A figure from elsewhere")
    report.section("Self-organizing maps: digits")  # the same title twice gets its own anchor
    report.commands(["# the chapter", "dlcourse tour --only som --out runs/som"],
                    python="from dlcourse.som import SOM\nSOM(20, 20, sigma=5.0).fit(X)")
    return report, report.write()


def test_written_from_another_directory_every_path_resolves_from_the_report(
        tmp_path, monkeypatch):
    report, html_path = _tour_like_report(tmp_path, monkeypatch)
    assert html_path.is_absolute() and html_path.parent == tmp_path / "work" / "runs" / "tour-1"
    monkeypatch.chdir(tmp_path)  # a browser resolves from the page, never from a shell's cwd
    page = Page(html_path.read_text(encoding="utf-8"))
    images = [attrs["src"] for tag, attrs in page.tags if tag == "img"]
    assert images == ["som/umatrix.png", "som/hit%20map.png", "figures/extra.png"]
    for src in images:  # each is the real PNG, found beside the report
        with Image.open(html_path.parent / src.replace("%20", " ")) as image:
            assert image.size == (60, 40)
    assert missing_targets(html_path) == []
    moved = shutil.move(html_path.parent, tmp_path / "unzipped" / "run")  # zip, open elsewhere
    assert missing_targets(Path(moved) / "report.html") == []
    markdown = (Path(moved) / "report.md").read_text(encoding="utf-8")
    for src in images:
        assert f"]({src})" in markdown


def test_contents_links_every_section_once(tmp_path, monkeypatch):
    _, html_path = _tour_like_report(tmp_path, monkeypatch)
    page = Page(html_path.read_text(encoding="utf-8"))
    anchors = [a["href"] for tag, a in page.tags if tag == "a" and a["href"].startswith("#")]
    ids = [a["id"] for tag, a in page.tags if tag == "section"]
    assert anchors == ["#" + i for i in ids] and len(set(ids)) == 2


def test_markdown_is_rendered_and_user_html_is_escaped(tmp_path, monkeypatch):
    _, html_path = _tour_like_report(tmp_path, monkeypatch)
    page = Page(html_path.read_text(encoding="utf-8"))
    tags = [tag for tag, _ in page.tags]
    assert {"strong", "em", "code", "pre"} <= set(tags) and "script" not in tags
    text = "".join(page.text)
    assert "run end to end" in text and "<script>alert('x')</script>" in text
    assert not MARKDOWN_MARKERS.findall(text), MARKDOWN_MARKERS.findall(text)
    code = [a.get("class") for tag, a in page.tags if tag == "code" and a.get("class")]
    assert code == ["language-bash", "language-python"]


def test_numbers_right_aligned_and_readable_text_left(tmp_path, monkeypatch):
    _, html_path = _tour_like_report(tmp_path, monkeypatch)
    html = html_path.read_text(encoding="utf-8")
    cells = {text: cls for cls, text in reversed(Page(html).cells)}  # first occurrence wins
    assert cells["586,512"] == cells["18.52"] == cells["1,460,000"] == cells["3/6"] == "num"
    assert cells["samples/s"] == "num" and cells["-"] == "num"
    assert cells["dlcourse batch (cpu)"] == cells["the peer"] == cells["method"] == "text"
    assert re.search(r"td\.num[^{]*\{[^}]*text-align:\s*right", html)
    assert re.search(r"td\.text[^{]*\{[^}]*text-align:\s*left", html)
    table = Path(html_path.with_suffix(".md")).read_text(encoding="utf-8")
    assert "|:---|---:|---:|---:|---:|:---|" in table


@pytest.mark.parametrize(("value", "floatfmt", "text"), [
    (586512.25, ".4g", "586,512"),
    (5.865e5, ".4g", "586,500"),
    (0.412345, ".4g", "0.4123"),
    (18.515390982, ".4g", "18.52"),
    (np.float32(0.5), ".4g", "0.5"),
    (2.0, ".4g", "2"),
    (0.9700001, ".4g", "0.97"),
    (99.996, ".4g", "100"),
    (1234567, ".4g", "1,234,567"),
    (np.int64(10568), ".4g", "10,568"),
    (3.2e-7, ".4g", "3.2e-07"),
    (0.0, ".4g", "0"),
    (12345.678, ".3f", "12,345.678"),
    (0.123, ".1%", "12.3%"),
    (float("nan"), ".4g", "nan"),
    (None, ".4g", ""),
    (True, ".4g", "True"),
    ("0.5", ".4g", "0.5"),
])
def test_format_cell(value, floatfmt, text):
    assert format_cell(value, floatfmt) == text


def test_column_alignments_ignore_placeholders():
    cells = [["bigram", "-", "129.4", ""], ["LSTM", "2,110,000", "102.1", "x"]]
    assert column_alignments(["model", "params", "ppl", "note"], cells) == [
        "left", "right", "right", "left"]
    assert column_alignments(["empty"], [["-"], [""]]) == ["left"]


def test_missing_targets_finds_broken_figures_and_anchors(tmp_path):
    _png(tmp_path / "ok.png", 0)
    page = tmp_path / "report.html"
    page.write_text('<a href="#there">x</a><a href="#nowhere">y</a><h2 id="there"></h2>'
                    '<img src="ok.png"><img src="gone.png"><img src="file:///etc/x.png">'
                    '<a href="https://example.org">z</a>', encoding="utf-8")
    problems = missing_targets(page)
    assert len(problems) == 3
    assert [p.split(":")[0] for p in problems] == ["#nowhere", "gone.png", "file"]


def test_image_errors_and_commands_validation(tmp_path):
    report = Report(tmp_path, "t")
    with pytest.raises(FileNotFoundError, match="save it before"):
        report.image(tmp_path / "missing.png")
    with pytest.raises(TypeError, match="list of command lines"):
        report.commands("dlcourse tour")
    with pytest.raises(ValueError, match="at least one"):
        report.commands([])


def test_figure_path_relative_to_the_report_folder_also_works(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _png(tmp_path / "run" / "fig.png", 0)
    report = Report("run", "t")
    monkeypatch.chdir(tmp_path / "run")  # "fig.png" is now both cwd- and report-relative
    report.image("fig.png")
    monkeypatch.chdir("/")
    report.image("fig.png")  # only report-relative now
    assert [v for k, v in report.blocks] == [("fig.png", ""), ("fig.png", "")]


def test_shell_quote_keeps_commands_copyable():
    assert shell_quote("runs/som") == "runs/som"
    assert shell_quote("a gorgeous, moving film") == '"a gorgeous, moving film"'
    assert shell_quote("it's $5!") == "'it'\"'\"'s $5!'"


def test_docstring_examples_run():
    import doctest

    from dlcourse.report import builder, cells

    for module in (builder, cells):
        assert doctest.testmod(module).failed == 0, module.__name__
