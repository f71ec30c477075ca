"""The tour chapter runs end to end with quick settings and fills its report section."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_chapter_quick(tmp_path):
    from dlcourse.lm.chapter import TITLE, run
    from dlcourse.report import Report

    report = Report(tmp_path, "tour")
    run(report, tmp_path, quick=True, device="cpu")
    path = report.write()
    text = path.read_text() if path.suffix == ".md" else (tmp_path / "report.md").read_text()
    assert f"## {TITLE}" in text
    assert "Kneser-Ney bigram" in text and "Samples from the LSTM" in text
    for figure in ("lm_perplexity.png", "lm_curves.png"):
        assert (tmp_path / figure).stat().st_size > 1000
