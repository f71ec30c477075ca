"""The tour chapter runs end to end on the real review sentences (quick settings)."""

import pytest


@pytest.mark.slow
def test_chapter_quick_writes_section_and_figures(tmp_path):
    from dlcourse.classify import chapter
    from dlcourse.report import Report

    report = Report(tmp_path, "tour")
    chapter.run(report, tmp_path, quick=True, device="cpu")
    text = report.write().with_suffix(".md").read_text(encoding="utf-8")
    assert chapter.TITLE in text and "BoW logistic regression" in text
    for name in chapter.MODELS:
        assert name in text
    for png in ("classify_valid_acc.png", "classify_roc.png", "classify_confusion.png"):
        assert (tmp_path / png).stat().st_size > 1000
    assert all(s in text for s in chapter.TYPED)
