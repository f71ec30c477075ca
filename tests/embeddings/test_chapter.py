"""The tour chapter runs end to end with tiny settings, writes its section and figures, and ends
with commands that parse under the current CLI."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_chapter_quick(tmp_path):
    from tests.report.test_tour import check_command_line, check_python_imports

    from dlcourse.embeddings import chapter
    from dlcourse.report import Report

    report = Report(tmp_path, "test")
    chapter.run(report, tmp_path, quick=True, device="cpu")
    text = report.markdown()
    assert "one-hot" in text and "skip-gram" in text and "GloVe" in text
    assert (tmp_path / "embeddings_map.png").stat().st_size > 1000
    assert (tmp_path / "embeddings_loss.png").exists()
    cli, python = next(value for kind, value in report.blocks if kind == "commands")
    lines = [line for line in cli if not line.startswith("#")]
    assert any("--method glove" in line and "--x-max 10" in line for line in lines)
    for line in lines:
        check_command_line(line)
    check_python_imports(python)
