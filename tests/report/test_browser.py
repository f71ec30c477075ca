"""The report in a real browser (headless Chromium driven by Playwright): every figure loads,
numbers are right-aligned, the console stays clean, and a screenshot lands beside the report.

Slow (a browser start is seconds); needs Debian's chromium (`make browser`) and Playwright
(the dev extra). Skipped with the reason when either is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from dlcourse.report import Report
from dlcourse.report.check import check_report, find_chromium

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_chromium() is None,
                       reason="Chromium not installed: run `make browser` (apt-get install "
                              "chromium) or set DLCOURSE_CHROMIUM"),
]
pytest.importorskip("playwright.sync_api",
                    reason="Playwright missing: pip install playwright (the dev extra)")


def _figure(path: Path, title: str) -> Path:
    from dlcourse.plots.common import new_figure, save_figure

    fig, ax = new_figure()
    ax.plot([0, 1, 2], [2, 0, 1])
    ax.set_title(title)
    return save_figure(fig, path)


@pytest.fixture
def relative_report(tmp_path, monkeypatch) -> Path:
    """A report written as `make demo` writes one: a run folder relative to the working
    directory, figures saved under it by path from that directory."""
    monkeypatch.chdir(tmp_path)
    out = Path("runs/tour-1")
    report = Report(out, "dlcourse tour")
    report.text("Every lesson, **end to end**.")
    for key in ("som", "vision"):
        report.section(f"Chapter {key}")
        report.table([{"method": "batch", "samples/s": 586512.25, "QE": 0.41234},
                      {"method": "online", "samples/s": 7488.0, "QE": 0.5}])
        report.image(_figure(out / key / "curve.png", key), f"The _{key}_ curve.")
        report.commands([f"dlcourse tour --only {key}"], python="print('same numbers')")
    html = report.write()
    monkeypatch.chdir("/")  # the browser opens the file from nowhere in particular
    return html


def test_every_figure_loads_and_the_console_is_clean(relative_report):
    result = check_report(relative_report.parent)
    assert result.ok, result.summary()
    assert result.images == 2 and not result.console_errors and not result.misaligned_cells
    with Image.open(result.screenshot) as shot:  # beside the report, the full page
        assert result.screenshot == relative_report.parent / "report.png"
        assert shot.size[0] == 1200 and shot.size[1] > 900


def test_a_missing_figure_is_caught(relative_report):
    (relative_report.parent / "vision" / "curve.png").unlink()
    result = check_report(relative_report, screenshot=None)
    assert not result.ok and result.broken_images == ["vision/curve.png"]
    assert result.missing_targets and result.screenshot is None


def test_quick_tour_report_in_the_browser(tmp_path, monkeypatch):
    from dlcourse.tour import run_tour

    monkeypatch.chdir(tmp_path)
    path, results = run_tour("runs/t1", only=["embeddings", "som"], quick=True, device="cpu")
    assert all(r.status == "ok" for r in results)
    result = check_report(path)
    assert result.ok, result.summary()
    assert result.images == 6
