"""The SOM tour chapter, quick settings (slow: trains four small maps and draws figures)."""

from __future__ import annotations

import pytest

from dlcourse.report import Report


@pytest.mark.slow
def test_chapter_quick_writes_section_table_and_figures(tmp_path):
    from dlcourse.som.chapter import TITLE, run

    report = Report(tmp_path, "tour")
    run(report, tmp_path, quick=True, device="cpu")
    kinds = [kind for kind, _ in report.blocks]
    assert ("section", TITLE) in report.blocks and kinds.count("image") == 4
    columns, cells = next(value for kind, value in report.blocks if kind == "table")
    methods = [row[0] for row in cells]
    assert any(m.startswith("dlcourse batch") for m in methods) and len(methods) >= 3
    for name in ("umatrix", "hit_map", "component_planes", "history"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    accuracy = [float(row[columns.index("accuracy")]) for row in cells]
    assert min(accuracy) > 0.7  # calibrated: even an 8x8 map separates most digits
    # the reproduce lines give the batch rule no learning rate (it printed a note that the
    # batch algorithm does not use --lr-end), the per-sample rules theirs
    lines, _ = next(value for kind, value in report.blocks if kind == "commands")
    trains = {line.split("--algorithm ")[1].split()[0]: line for line in lines
              if "--algorithm" in line}
    assert "--lr-end" not in trains["batch"]
    assert all("--lr-end" in trains[a] for a in ("minibatch", "online"))
    report.write()
