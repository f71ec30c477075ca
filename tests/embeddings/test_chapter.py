"""The tour chapter runs end to end with tiny settings and writes its section and figures."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_chapter_quick(tmp_path):
    from dlcourse.embeddings import chapter
    from dlcourse.report import Report

    report = Report(tmp_path, "test")
    chapter.run(report, tmp_path, quick=True, device="cpu")
    text = report.markdown()
    assert "one-hot" in text and "skip-gram" in text and "GloVe" in text
    assert (tmp_path / "embeddings_map.png").stat().st_size > 1000
    assert (tmp_path / "embeddings_loss.png").exists()
