"""The vision tour chapter runs end to end (quick) and writes its section with figures."""

import pytest


@pytest.mark.slow
def test_chapter_quick(tmp_path, no_feature_cache_writes):
    from dlcourse.report import Report
    from dlcourse.vision import chapter

    report = Report(tmp_path, "t")
    chapter.run(report, tmp_path, quick=True, device="cpu")
    md = report.markdown()
    assert chapter.TITLE in md and "pretrained" in md and "scratch" in md
    for name in ("vision_learning_curve.png", "vision_confusion.png", "vision_predictions.png"):
        assert (tmp_path / name).stat().st_size > 1000 and name in md
    assert report.write().exists()
