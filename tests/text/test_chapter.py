"""The tour chapter runs end to end (quick) and writes its section."""

import pytest


@pytest.mark.slow
def test_chapter_quick(tmp_path):
    from dlcourse.report import Report
    from dlcourse.text import chapter

    report = Report(tmp_path, "t")
    chapter.run(report, tmp_path, quick=True)
    md = report.markdown()
    assert chapter.TITLE in md
    assert "[1, 0, 0]" in md and "[0, 0, 1]" in md  # the one-hot example
    for name in ("basic_english", "whitespace", "regex", "spacy", "wordpiece"):
        assert name in md
    assert "bucketed: padding" in md and (tmp_path / "reviews.csv").exists()
    assert report.write().exists()
