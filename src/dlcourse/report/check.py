"""Open a written report in headless Chromium: every figure must load, table cells must be
aligned as their class says, and the console must stay clean; a screenshot is saved beside it.

Needs Debian's ``chromium`` (``make browser``) and Playwright for Python (the dev extra); it
never downloads a browser. From the shell::

    python -m dlcourse.report.check runs/tour-20260101-120000     # -> .../report.png
    python -m dlcourse.report.check runs/tour-20260101-120000 --no-browser   # links only

Exit status 0 when the page is fine, 1 when something is broken (listed), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dlcourse.errors import DlcourseError

# Chromium flags for a quiet, offline, sandbox-free run (containers run as root)
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# (src, loaded) of every <img>; (class, computed alignment) of every table cell
_IMAGES_JS = ("els => els.map(e => [e.getAttribute('src'), "
              "e.complete && e.naturalWidth > 0])")
_CELLS_JS = ("els => els.map(e => [e.className, getComputedStyle(e).textAlign, "
             "e.textContent])")


class _Links(HTMLParser):
    """Collects every src/href and every id of a page."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.urls.append(value)
            elif name == "id" and value:
                self.ids.add(value)


def missing_targets(report: str | os.PathLike) -> list[str]:
    """Links and figures of an HTML page that do not resolve, each relative to the page's folder.

    No browser needed: ``src``/``href`` values that are files must exist beside the page (as a
    browser resolves them, whatever the working directory), ``#anchors`` must name an id on the
    page; ``http(s):``, ``data:`` and ``mailto:`` targets are not checked.

    Args:
        report: the HTML file.

    Returns:
        One line per broken target (empty when all resolve).

    Example:
        >>> missing_targets("runs/tour-20260101-120000/report.html")      # doctest: +SKIP
        []
    """
    page = Path(report)
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    problems = []
    for url in parser.urls:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            if parts.scheme not in ("http", "https", "data", "mailto"):
                problems.append(f"{url}: not a file beside the report")
        elif not parts.path:
            if parts.fragment not in parser.ids:
                problems.append(f"{url}: no element with id {parts.fragment!r}")
        elif not (page.parent / unquote(parts.path)).exists():
            problems.append(f"{url}: {page.parent / unquote(parts.path)} does not exist")
    return list(dict.fromkeys(problems))  # a figure is both an <img src> and an <a href>


@dataclass
class PageCheck:
    """What the browser saw: broken figures, misaligned cells, console and request errors."""

    report: Path
    screenshot: Path | None
    images: int = 0
    missing_targets: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    misaligned_cells: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every figure loaded and nothing went wrong."""
        return not (self.missing_targets or self.broken_images or self.misaligned_cells
                    or self.console_errors or self.failed_requests)

    def summary(self) -> str:
        """A few lines for the terminal."""
        lines = [f"{self.report}: {self.images} images, "
                 f"{self.images - len(self.broken_images)} loaded" if self.images
                 else f"{self.report}: links checked without a browser"]
        for name, items in (("missing target", self.missing_targets),
                            ("broken image", self.broken_images),
                            ("misaligned cell", self.misaligned_cells),
                            ("console error", self.console_errors),
                            ("failed request", self.failed_requests)):
            lines += [f"  {name}: {item}" for item in items]
        if self.screenshot:
            lines.append(f"screenshot: {self.screenshot}")
        return "\n".join(lines)


def find_chromium() -> str | None:
    """``$DLCOURSE_CHROMIUM``, Debian's ``/usr/bin/chromium``, or ``chromium`` on PATH."""
    for candidate in (os.environ.get("DLCOURSE_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def check_report(
    path: str | os.PathLike,
    screenshot: str | os.PathLike | None = "report.png",
    *,
    browser: bool = True,
    executable: str | None = None,
    width: int = 1200,
    timeout_s: float = 60.0,
) -> PageCheck:
    """Load ``path`` (a run folder or its report.html) in headless Chromium and inspect it.

    Args:
        path: the run folder or the HTML file.
        screenshot: a full-page PNG; a relative name goes beside the report; None: none.
        browser: False checks only that links and figures resolve (:func:`missing_targets`).
        executable: the Chromium binary (default: :func:`find_chromium`).
        width: viewport width in CSS pixels.
        timeout_s: how long the page may take to load.

    Returns:
        A :class:`PageCheck`; ``.ok`` is True when every link resolves, every figure loaded,
        every table cell is aligned as its class says and the console showed no error.

    Raises:
        DlcourseError: no report there, Playwright missing, or no Chromium.

    Example:
        >>> check_report("runs/tour-20260101-120000").ok          # doctest: +SKIP
        True
    """
    report = Path(path)
    if report.is_dir():
        report = report / "report.html"
    if not report.is_file():
        raise DlcourseError(f"no report at {report}; pass a run folder written by dlcourse tour")
    report = report.resolve()
    if not browser:
        return PageCheck(report, None, missing_targets=missing_targets(report))
    executable = executable or find_chromium()
    if executable is None:
        raise DlcourseError("Chromium not found; run `make browser` (apt-get install chromium) "
                            "or set DLCOURSE_CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise DlcourseError("Playwright is missing; pip install playwright (in the dev extra; "
                            "no `playwright install` needed)") from None
    shot = None if screenshot is None else report.parent / screenshot
    result = PageCheck(report, shot, missing_targets=missing_targets(report))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                     headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: m.type == "error"
                    and result.console_errors.append(m.text))
            page.on("pageerror", lambda e: result.console_errors.append(str(e)))
            page.on("requestfailed", lambda r: result.failed_requests.append(r.url))
            page.goto(report.as_uri(), wait_until="load", timeout=timeout_s * 1000)
            images = page.eval_on_selector_all("img", _IMAGES_JS)
            result.images = len(images)
            result.broken_images = [src for src, loaded in images if not loaded]
            for cls, align, text in page.eval_on_selector_all("td, th", _CELLS_JS):
                want = {"num": ("right",), "text": ("left", "start")}.get(cls)
                if want and align not in want:
                    result.misaligned_cells.append(f"{text!r} ({cls}) is {align}")
            if shot is not None:
                page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m dlcourse.report.check RUN_DIR``: 0 when the page is fine, 1 if not, 2 on a
    usage error."""
    parser = argparse.ArgumentParser(prog="python -m dlcourse.report.check",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="A run folder (or its report.html).")
    parser.add_argument("--screenshot", default="report.png",
                        help="PNG name beside the report, or a path [report.png].")
    parser.add_argument("--width", type=int, default=1200, help="Viewport width [1200].")
    parser.add_argument("--no-browser", action="store_true",
                        help="Only check that every link and figure resolves (no Chromium).")
    args = parser.parse_args(argv)
    try:
        result = check_report(args.run_dir, args.screenshot, width=args.width,
                              browser=not args.no_browser)
    except DlcourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
